"""The tenders workflow end to end: fetch, rank, draft, approval, export, through the crew."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from docx import Document
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from equipage.config import Profile, TenderProfile
from equipage.crew import build_crew, serializer, state_types
from equipage.envelope import Answer, Kind, Question
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion, Message
from equipage.llm.offline import OfflineModel
from equipage.prompting import parse_result
from equipage.testing import ScriptedModel, call
from equipage.testing.fake_tenders import FakeTenders
from equipage.worker import Worker
from equipage.workflow import WorkflowContext
from tests.test_crew import Running
from tests.test_tender_sources import fake_notices
from tests.test_workflows import with_workflows
from workflows.tenders import WORKFLOW, TendersInput, TendersOutput
from workflows.tenders.difference import (
    Amount,
    Cancelled,
    DeadlineMoved,
    LotsChanged,
    TitleChanged,
    ValueChanged,
)
from workflows.tenders.drafts import Drafter
from workflows.tenders.failure import SourceProblem
from workflows.tenders.matching import Match, Reason
from workflows.tenders.model import Source, Tender
from workflows.tenders.seen import Change
from workflows.tenders.sources import SourceFailure, SourcesConfig

OP_IT = "ted:f42be27e-09cf-4f0e-a745-63ec689631e6"  # EU Publications Office IT services, LU
ROUEN = "ted:da4d46e9-490b-41ff-a2ae-8166d356a619"  # espaces verts, Rouen Habitat, 2 lots
PROFILE = TenderProfile(
    cpv=("72", "48"),
    keywords=("cloud", "hébergement", "it services", "information systems"),
    exclude=("travaux", "works"),
    countries=("FR", "BE", "LU"),
)
GREEN = TenderProfile(keywords=("espaces verts",), countries=("FR",))


def context(
    redis: aioredis.Redis,
    keys: Keys,
    files: Path,
    model: ChatModel | None = None,
    languages: tuple[str, ...] = ("en",),
) -> WorkflowContext:
    profile = Profile(
        sells="managed cloud hosting", where=("FR", "BE"), tenders=PROFILE, languages=languages
    )
    return WorkflowContext(
        company="acme-cloud",
        redis=redis,
        keys=keys,
        model=model or OfflineModel(),
        profile=profile,
        files=files,
        name="tenders",
    )


def compiled(ctx: WorkflowContext) -> CompiledStateGraph[Any, Any, Any, Any]:
    # The crew's serializer: only Input/Output types survive a checkpoint, as in production.
    types = state_types(TendersInput) | state_types(TendersOutput)
    saver = InMemorySaver(serde=serializer(*types))
    return WORKFLOW.build(ctx).compile(checkpointer=saver)


async def run_until_question(
    graph: CompiledStateGraph[Any, Any, Any, Any], params: TendersInput, thread: str = "t1"
) -> tuple[RunnableConfig, Question | None, dict[str, Any]]:
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    state = await graph.ainvoke({"input": params}, config)
    pauses = state.get("__interrupt__") or []
    question = Question.model_validate(pauses[0].value) if pauses else None
    return config, question, state


def written(folder: Path) -> list[str]:
    """Names of the files in ``folder`` (none when it was never created)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def answer(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    question: Question,
    *,
    approved: bool,
    text: str = "",
) -> TendersOutput:
    given = Answer(question_id=question.id, approved=approved, text=text)
    state = await graph.ainvoke(Command(resume=given), config)
    output: TendersOutput = state["output"]
    return output


async def test_offline_run_on_bundled_notices_ranks_drafts_and_exports_after_approval(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    config, question, _ = await run_until_question(graph, TendersInput.bundled())
    assert question is not None and question.options == ("approve", "reject")
    assert written(tmp_path) == []  # nothing written before the founder approves
    stem = "tender-ted-f42be27e-09cf-4f0e-a745-63ec689631e6"
    assert f"- {tmp_path / stem}.md" in question.text
    assert f"- {tmp_path / stem}.docx" in question.text
    assert "1. **" in question.text and OP_IT in question.text  # the ranked list comes along

    output = await answer(graph, config, question, approved=True)
    assert [m.tender.id for m in output.ranked] == [OP_IT]
    assert output.ranked[0].reasons[0] == Reason(
        code="cpv", values={"code": "72230000", "prefix": "72"}
    )
    assert output.today == date(2019, 12, 2) and output.unpublished > 0
    [draft] = output.drafts
    assert draft.language == "en" and draft.by == "template"
    assert output.files == [str(tmp_path / f"{stem}.md"), str(tmp_path / f"{stem}.docx")]
    markdown = (tmp_path / f"{stem}.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Bid / no-bid memo — Provision of IT Services")
    assert "Drafted from templates (offline model)" in markdown
    assert "Dear Sir or Madam" in markdown and "Acme Cloud" in markdown
    document = Document(str(tmp_path / f"{stem}.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Provision of IT Services Related to OP IT Systems" in text
    assert document.core_properties.title == draft.title
    summary = output.summary()
    assert summary.startswith("**Tender watch — 2019-12-02**")
    assert f"Exported:\n- {tmp_path / stem}.md" in summary
    assert "Why: CPV 72230000 matches 72" in summary
    assert "Partial results" not in summary


async def test_french_notice_gets_french_drafts_with_one_section_per_lot_and_criterion(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    # A French founder: the memo is theirs, the outline and the letter the notice's.
    graph = compiled(context(redis, keys, tmp_path, languages=("fr",)))
    params = TendersInput.bundled(today=date(2019, 5, 13), profile=GREEN)
    config, question, state = await run_until_question(graph, params)
    assert question is not None
    [draft] = state["drafts"]
    assert draft.tender_id == ROUEN and draft.language == "fr"
    assert draft.memo.startswith("# Note go / no-go — Service d'entretien")
    assert "brouillon rédigé à partir de gabarits" in draft.memo.casefold()
    assert "Le prix pèse 60 % de la note" in draft.memo
    outline = draft.outline
    assert "## 2. Lot LOT-0001: Agence centre" in outline
    assert "## 3. Lot LOT-0002: Agence Hauts de Rouen" in outline
    assert "### 2.1 Le prix contribue for 60 % … (60)" in outline
    assert "### 3.2 La valeur technique participle pour 60 % … (40)" in outline
    assert "Pièces administratives" in outline
    assert draft.letter.count("Madame, Monsieur") == 2 and "Acme Cloud" in draft.letter
    output = await answer(graph, config, question, approved=True)
    document = Document(output.files[1])
    assert any("Note go / no-go" in p.text for p in document.paragraphs)


async def test_rejected_export_writes_nothing_and_says_so(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    config, question, _ = await run_until_question(graph, TendersInput.bundled())
    assert question is not None
    output = await answer(graph, config, question, approved=False, text="pas cette fois")
    assert output.export == "rejected" and output.files == []
    assert written(tmp_path) == []
    assert "Export refused (pas cette fois): no file was written." in output.summary()


async def test_second_run_reports_nothing_twice_then_the_cancellation_as_such(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    config, question, _ = await run_until_question(graph, TendersInput.bundled(), "first")
    assert question is not None
    await answer(graph, config, question, approved=False)

    _, none, state = await run_until_question(graph, TendersInput.bundled(), "second")
    assert none is None  # nothing new, nothing to draft, nothing to approve
    again: TendersOutput = state["output"]
    assert again.ranked == [] and again.repeated == 1 and again.drafts == []
    assert "No new tender matches the profile this time." in again.summary()

    later = TendersInput.bundled(today=date(2020, 1, 6), pick=0)
    _, _, state = await run_until_question(graph, later, "third")
    output: TendersOutput = state["output"]
    [cancelled] = output.changes
    assert cancelled.status == "cancelled" and cancelled.tender.id.startswith("ted:1d192942")
    assert "~~Provision of IT Services Related to OP IT Systems" in output.summary()
    assert "**cancelled**" in output.summary()
    assert cancelled.changes == (Cancelled(notice=cancelled.tender.id),)


def test_what_changed_and_why_a_source_failed_survive_a_checkpoint_as_data() -> None:
    types = state_types(TendersOutput)
    kept = {Amount, Cancelled, DeadlineMoved, LotsChanged, TitleChanged, ValueChanged}
    assert kept | {SourceProblem} <= types
    change = Change(
        tender=Tender(id="ted:1", source=Source.TED, notice_id="1", title="Cloud"),
        title="Cloud",
        status="changed",
        changes=(DeadlineMoved(before=None, after=datetime(2025, 4, 16, 12, tzinfo=UTC)),),
    )
    problem = SourceProblem(kind="http_status", host="api.ted.europa.eu", status=503)
    output = TendersOutput(
        today=date(2025, 3, 3),
        changes=[change],
        failures=[SourceFailure(source="ted", problem=problem, attempts=2)],
    )
    serde = serializer(*types)
    assert serde.loads_typed(serde.dumps_typed(output)) == output


async def test_founder_can_pick_a_notice_reported_on_an_earlier_run_by_id(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path, languages=("fr",)))
    _, _, state = await run_until_question(graph, TendersInput.bundled(pick=0), "first")
    assert [m.tender.id for m in state["output"].ranked] == [OP_IT]
    params = TendersInput.bundled(ids=[OP_IT, ROUEN, "ted:nope"])
    _, question, state = await run_until_question(graph, params, "second")
    assert question is not None
    op_it, rouen = state["drafts"]
    assert op_it.tender_id == OP_IT and op_it.verdict != "no-bid"
    assert rouen.verdict == "no-bid" and rouen.language == "fr"
    assert "écarté par le profil : date limite dépassée" in rouen.memo  # a French founder
    assert state["missing"] == ["ted:nope"]


async def test_failing_source_gives_partial_results_that_say_what_failed(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    events = TenderProfile(keywords=("manifestations",), countries=("FR",))
    async with FakeTenders(fake_notices()) as fake:
        fake.fail("ted", 503, times=10)
        sources = SourcesConfig(ted_base_url=fake.url, boamp_base_url=fake.url, retries=1)
        params = TendersInput(sources=sources, today=date(2017, 1, 5), profile=events, pick=0)
        _, question, state = await run_until_question(graph, params)
        served = len(fake.boamp)
    assert question is None
    output: TendersOutput = state["output"]
    assert [(f.source, f.attempts) for f in output.failures] == [("ted", 2)]
    assert output.fetched == {"ted": 0, "boamp": served}
    assert "boamp:16-186359" in [m.tender.id for m in output.ranked]
    assert {m.tender.source for m in output.ranked} == {"boamp"}
    summary = output.summary()
    assert "⚠️ Partial results: TED failed after 2 attempt(s): " in summary
    assert "127.0.0.1 answered HTTP 503" in summary
    [failure] = output.failures
    assert failure.problem == SourceProblem(kind="http_status", host="127.0.0.1", status=503)
    assert "What follows comes from the other sources only." in summary


async def test_notice_in_a_language_without_templates_is_drafted_in_english_and_says_so(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    notice = Tender(
        id="ted:7-2025", source=Source.TED, notice_id="7-2025", title="Cloud-Hosting",
        buyer="Stadt Köln", country="DE", language="de",
    )  # fmt: skip
    drafter = Drafter(context(redis, keys, tmp_path), company="Acme", where=("FR",))
    draft = await drafter.draft(Match(tender=notice, score=50, reasons=()), today=date.today())
    note = "The notice is in German; Equipage has French and English templates only"
    assert draft.language == "en" and draft.note.startswith(note)
    assert draft.memo.startswith("# Bid / no-bid memo — Cloud-Hosting") and note in draft.memo
    assert "The buyer is in DE, outside the countries the company serves." in draft.memo
    report = TendersOutput(today=date.today(), language="fr", drafts=[draft]).summary()
    assert "lettre de candidature en anglais, à partir de gabarits." in report
    assert "  L'avis est en allemand ; Equipage n'a de gabarits qu'en français" in report


def test_summary_says_plainly_when_every_source_failed() -> None:
    timeout = SourceProblem(kind="timeout", host="api.ted.europa.eu")
    bad = SourceProblem(kind="unreadable", host="boamp.example", expected="Explore API v2.1")
    failures = [
        SourceFailure(source="ted", problem=timeout, attempts=4),
        SourceFailure(source="boamp", problem=bad, attempts=1),
    ]
    output = TendersOutput(today=date(2025, 3, 3), fetched={"ted": 0, "boamp": 0},
                           failures=failures)  # fmt: skip
    summary = output.summary()
    assert (
        "⚠️ No results: every source failed. TED failed after 4 attempt(s): "
        "api.ted.europa.eu did not answer within the timeout; BOAMP failed after 1 attempt(s): "
        "the answer of boamp.example is not the Explore API v2.1 shape." in summary
    )
    assert "Partial results" not in summary
    french = output.model_copy(update={"language": "fr"}).summary()
    assert (
        "⚠️ Aucun résultat : toutes les sources ont échoué. TED en échec après 4 tentative(s) : "
        "api.ted.europa.eu n'a pas répondu dans le délai ; BOAMP en échec après 1 tentative(s) : "
        "la réponse de boamp.example n'a pas la forme Explore API v2.1." in french
    )


async def test_model_prose_replaces_the_templates_and_the_drafts_say_who_wrote_them(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    writer = ScriptedModel(
        [
            Completion(content="Go. Le marché correspond à notre offre.", model="claude-x"),
            Completion(content="Madame, Monsieur, voici notre candidature.", model="claude-x"),
        ]
    )
    graph = compiled(context(redis, keys, tmp_path, writer, languages=("fr",)))
    params = TendersInput.bundled(today=date(2019, 5, 13), profile=GREEN)
    _, _, state = await run_until_question(graph, params)
    [draft] = state["drafts"]
    assert draft.by == "claude-x" and draft.recommendation.startswith("Go.")
    assert "gabarits" not in draft.memo and draft.letter.endswith("voici notre candidature.")
    memo_call = writer.calls[0]
    assert "in French" in memo_call[0].content
    assert "<material>" in memo_call[1].content and "Rouen Habitat" in memo_call[1].content


# -- through the crew ----------------------------------------------------------------------


def crew_model() -> ScriptedModel:
    """The CEO and the workflow's writer share the crew's model: answer each by its prompt."""

    def respond(messages: Sequence[Message]) -> Completion:
        first, last = messages[0], messages[-1]
        if first.role == "system" and first.content.startswith("You work for"):
            return Completion(content="Bid: the notice fits.", model="scripted")
        if last.untrusted:  # the workflow's result: notices are outside content, fenced
            inner = last.content.split("\n", 1)[1].removesuffix("\n</untrusted>")
            result = parse_result(last.model_copy(update={"content": inner}))
            assert result is not None, f"expected the workflow's result, got {last}"
            return call("reply", "r1", text=result[2])
        if last.name == "member:alice":
            params = TendersInput.bundled(profile=PROFILE).model_dump(mode="json")
            return call("start_workflow", "w1", name="tenders", input=params)
        return Completion(content="")

    return ScriptedModel([respond] * 12)


@asynccontextmanager
async def crew(
    redis: aioredis.Redis, keys: Keys, files: Path, model: ChatModel
) -> AsyncIterator[Running]:
    built = build_crew(with_workflows("tenders"), redis, keys, models={"ceo": model}, files=files)
    await built.bus.ensure_groups(built.handlers)
    stop = asyncio.Event()
    task = asyncio.create_task(
        Worker(built.bus, built.handlers, name="w", concurrency=4, block_ms=20).run(stop)
    )
    try:
        yield Running(redis, keys, built.bus)
    finally:
        stop.set()
        await task


async def test_ceo_runs_the_tender_watch_and_the_summary_comes_back_after_approval(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with crew(redis, keys, tmp_path, crew_model()) as running:
        await running.tell("Trouve les appels d'offres cloud de la semaine")
        [question] = await running.outbox(1)
        assert question.question is not None
        assert OP_IT in question.text and "Export the drafts?" in question.text
        await running.answer(question, approved=True)
        _, reply = await running.outbox(2)
    assert reply.kind is Kind.REPLY
    assert reply.text.startswith("**Tender watch — 2019-12-02**")
    assert "Exported:" in reply.text and "Bid: the notice fits." in reply.text
    assert written(tmp_path / "acme" / "tenders") == [
        "tender-ted-f42be27e-09cf-4f0e-a745-63ec689631e6.docx",
        "tender-ted-f42be27e-09cf-4f0e-a745-63ec689631e6.md",
    ]


async def test_french_company_reads_the_report_and_the_approval_question_in_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path, languages=("fr", "en")))
    config, question, _ = await run_until_question(graph, TendersInput.bundled())
    assert question is not None
    text = question.text
    assert text.startswith("**Veille des appels d'offres — 2019-12-02**")
    assert "avis lu(s) sur les avis fournis avec Equipage" in text
    assert "**Nouveaux avis pertinents, du meilleur au moins bon**" in text
    assert "   Pourquoi : CPV 72230000 correspond à 72 ; " in text
    assert "date limite dans " in text and " jours" in text
    assert "_Avis fournis : de vrais avis livrés avec Equipage" in text
    assert "**Brouillons** (1)" in text
    # The notice is English, so its drafts stay English; the report says so in French.
    assert "lettre de candidature en anglais, à partir de gabarits." in text
    assert "Approuvez pour les exporter en Markdown et DOCX." in text
    assert "Exporter les brouillons ? Ces fichiers seront écrits :\n- " in text
    for english in ("Tender watch", "New matches", "Why:", "Export the drafts?", "Read "):
        assert english not in text, english
    output = await answer(graph, config, question, approved=True)
    assert output.language == "fr" and output.drafts[0].language == "en"
    # The memo is the founder's, in French; the letter answers the buyer, in English.
    assert output.drafts[0].memo.startswith("# Note go / no-go — Provision of IT Services")
    assert "Dear Sir or Madam" in output.drafts[0].letter
    assert "\nExportés :\n- " in output.summary()


async def test_input_language_overrides_the_company_language_either_way(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    french = compiled(context(redis, keys, tmp_path, languages=("fr", "en")))
    _, question, _ = await run_until_question(
        french, TendersInput.bundled(language="en"), "english"
    )
    assert question is not None
    assert question.text.startswith("**Tender watch — 2019-12-02**")
    assert "   Why: CPV 72230000 matches 72; " in question.text
    assert "Export the drafts? These files will be written:" in question.text
    english = compiled(context(redis, keys, tmp_path / "en"))
    _, none, state = await run_until_question(
        english, TendersInput.bundled(language="fr", pick=0), "french"
    )
    assert none is None  # the first run claimed the match: nothing new, nothing to draft
    summary = state["output"].summary()
    assert summary.startswith("**Veille des appels d'offres — 2019-12-02**")
    assert "Aucun nouvel appel d'offres ne correspond au profil cette fois-ci." in summary
    assert "1 déjà signalé(s) (non répété(s))" in summary


def test_french_summary_says_failures_changes_and_amounts_the_french_way() -> None:
    notice = Tender(
        id="ted:200-2025", source=Source.TED, notice_id="200-2025", title="Hébergement",
        buyer="Ville de Lyon", country="FR", language="fr", value=300_000, currency="EUR",
        links=("https://ted.europa.eu/en/notice/-/detail/200-2025",),
    )  # fmt: skip
    change = Change(
        tender=notice,
        title="Hébergement et infogérance",
        status="changed",
        changes=(  # as the seen register stores them: values, no sentences
            DeadlineMoved(
                before=datetime(2025, 4, 2, 12, tzinfo=UTC),
                after=datetime(2025, 4, 16, 12, tzinfo=UTC),
            ),
            ValueChanged(before=None, after=Amount(value=300_000, currency="EUR")),
            LotsChanged(added=("LOT-0002: Sauvegarde",)),
            TitleChanged(before="Hébergement et infogérance", after="Hébergement"),
        ),
        first_reported=date(2025, 3, 3),
    )
    ranked = Match(tender=notice, score=70, reasons=(Reason(code="no_deadline"),))
    answered = SourceProblem(kind="http_status", host="api.ted.europa.eu", status=503)
    refused = SourceProblem(kind="connection", host="boamp.example", error="ConnectError")
    failure = SourceFailure(source="ted", problem=answered, attempts=2)
    unreachable = SourceFailure(source="boamp", problem=refused, attempts=3)
    output = TendersOutput(
        today=date(2025, 3, 10), language="fr", fetched={"ted": 0, "boamp": 3},
        failures=[failure], ranked=[ranked], changes=[change],
    )  # fmt: skip
    summary = output.summary()
    assert (
        "⚠️ Résultats partiels : TED en échec après 2 tentative(s) : api.ted.europa.eu a "
        "répondu HTTP 503. La suite ne vient que des autres sources." in summary
    )
    assert "3 avis lu(s) sur TED et le BOAMP (BOAMP 3, TED 0)." in summary
    assert "Ville de Lyon (FR) — pas de date limite indiquée — 300\u00a0000 EUR" in summary
    assert "   Pourquoi : date limite non indiquée" in summary
    assert "**Avis déjà signalés qui ont changé** (1)" in summary
    assert (
        "- Hébergement et infogérance : **modifié** — date limite déplacée : 2025-04-02 12:00 "
        "UTC → 2025-04-16 12:00 UTC ; valeur estimée modifiée : non indiquée → 300\u00a0000 "
        "EUR ; lots ajoutés ou renommés : LOT-0002: Sauvegarde ; titre modifié : « Hébergement "
        "et infogérance » devient « Hébergement » (`ted:200-2025`, signalé le 2025-03-03)"
        in summary
    )
    for english in ("moved", "changed from", "not stated", "answered", "attempts", "after"):
        assert english not in summary, english
    both = output.model_copy(update={"failures": [failure, unreachable]})
    assert "BOAMP en échec après 3 tentative(s) : boamp.example injoignable (ConnectError)" in (
        both.summary()
    )
    english = output.model_copy(update={"language": "en"}).summary()
    assert "⚠️ Partial results: TED failed after 2 attempt(s): api.ted.europa.eu answered " in (
        english
    )
    assert "estimated value changed from not stated to 300,000 EUR" in english
    assert "title changed from 'Hébergement et infogérance' to 'Hébergement'" in english


async def test_notices_bundled_by_company_yaml_are_named_as_such_in_the_report(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path)
    assert ctx.profile is not None
    demo = PROFILE.model_copy(update={"bundled": True})  # as the demo's company.yaml says
    ctx = replace(ctx, profile=ctx.profile.model_copy(update={"tenders": demo}))
    _, question, _ = await run_until_question(compiled(ctx), TendersInput())
    assert question is not None
    assert "notice(s) from the notices bundled with Equipage (" in question.text
