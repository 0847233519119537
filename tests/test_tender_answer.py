"""The tender_answer workflow end to end: files in, matrix and drafted answer out.

Runs on the real consultation of Vallée Sud – Grand Paris (25TIC06: RC.pdf, CCAP.pdf,
AE.docx in ``fixtures/tenders/dce/vsgp-25TIC06``, see ``fixtures/SOURCES.md``), offline and
with a scripted model; and on our own excerpt (``fixtures/tenders/dce/ours``) sent in chat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from docx import Document
from langgraph.checkpoint.memory import InMemorySaver

from equipage.config import Profile
from equipage.crew import serializer, state_types
from equipage.envelope import Attachment, Envelope, Kind, WorkflowCall
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion, Message
from equipage.llm.offline import OfflineModel
from equipage.memory import Memory
from equipage.testing import ScriptedModel
from equipage.workflow import WorkflowContext, load_workflow
from workflows.tenders.answer import WORKFLOW, AnswerOutput, TenderAnswerInput

DCE = Path(__file__).parent / "fixtures" / "tenders" / "dce"
VSGP = DCE / "vsgp-25TIC06"
OURS = DCE / "ours" / "rc-commune-excerpt.txt"
REAL = [str(VSGP / name) for name in ("RC.pdf", "CCAP.pdf", "AE.docx")]


def context(
    redis: aioredis.Redis, keys: Keys, files: Path, model: ChatModel | None = None,
    languages: tuple[str, ...] = ("fr",),
) -> WorkflowContext:  # fmt: skip
    profile = Profile(
        sells="infogérance et hébergement cloud souverain", where=("FR",), languages=languages
    )
    return WorkflowContext(
        company="nuage-clair", company_name="Nuage Clair", redis=redis, keys=keys,
        model=model or OfflineModel(), profile=profile, files=files / "tender_answer",
        crew_files=files, name="tender_answer",
    )  # fmt: skip


async def run(ctx: WorkflowContext, request: Envelope | None = None, **fields: Any) -> AnswerOutput:
    types = state_types(TenderAnswerInput) | state_types(AnswerOutput)
    graph = WORKFLOW.build(ctx).compile(checkpointer=InMemorySaver(serde=serializer(*types)))
    state: dict[str, Any] = {"input": TenderAnswerInput.model_validate(fields)}
    if request is not None:
        state["request"] = request
    result = await graph.ainvoke(state, {"configurable": {"thread_id": "t1"}})
    output: AnswerOutput = result["output"]
    return output


def read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def statuses(output: AnswerOutput) -> dict[str, str]:
    return {row.requirement.id: row.status for row in output.rows}


async def test_offline_run_on_a_real_consultation_gives_the_matrix_and_the_skeleton(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    output = await run(context(redis, keys, tmp_path), paths=REAL)
    assert output.refused is None and output.documents == ["RC.pdf", "CCAP.pdf", "AE.docx"]
    assert output.by == "template"
    assert "Rédaction : gabarits, sans modèle de langue" in output.summary()
    status = statuses(output)
    kinds = {row.requirement.id: row.requirement.kind for row in output.rows}
    # Documents and the price are provided as pieces; nothing argued offline is "covered".
    assert {status[i] for i, k in kinds.items() if k == "document"} == {"to_provide"}
    assert status["RC-CRI-01"] == "to_provide" and status["RC-CRI-02"] == "to_provide"
    assert status["RC-CRI-05"] == "missing"  # no prose, no fact in memory
    assert status["RC-DAT-01"] == "covered"  # stated in the submission checklist
    assert {r.where.code for r in (row.requirement for row in output.rows)} == {"RC", "CCAP", "AE"}
    # One section per weighted criterion, heaviest first, then the price.
    titles = [(s.id, s.title) for s in output.sections]
    assert titles[:5] == [
        ("1", "Présentation du candidat"), ("2", "Valeur technique"),
        ("2.1", "Qualité et pertinence de l’offre technique"),
        ("2.2", "Compétences été expérience de l’équipe dédiée"),
        ("2.3", "Organisation et méthodologie"),
    ]  # fmt: skip
    assert ("4", "Offre financière") in titles
    # Everything the founder reads is French.
    summary = output.summary()
    for said in ("Date limite de remise des offres", "2025-04-19 15:00", "Matrice de conformité",
                 "Valeur technique : 30 %", "à fournir", "manquant"):  # fmt: skip
        assert said in summary, said
    assert not re.search(r"\b(?:the|and|of|missing|covered)\b", _own_words(summary))
    # The exports: Markdown, and a DOCX whose matrix is a real table.
    md, docx = output.files
    assert md.endswith(".md") and "| RC-CRI-04 | critère | Valeur technique : 30 %" in read(md)
    table = Document(docx).tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "Id", "Type", "Exigence", "Source", "Section", "Statut",
    ]  # fmt: skip
    assert len(table.rows) == len(output.rows) + 1
    first = [c.text for c in table.rows[1].cells]
    assert first[0] == "RC-DAT-01" and first[3] == "RC.pdf, p. 1" and first[5] == "couvert"


def _own_words(summary: str) -> str:
    """The report without the buyer's quoted words (table cells, criteria, quotes)."""
    kept = [line for line in summary.splitlines() if not line.startswith(("|", "-", "  -"))]
    return re.sub(r"«[^»]*»", "", "\n".join(kept))


async def test_facts_in_memory_make_a_skeleton_partial(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    memory = Memory(redis, keys)
    await memory.remember("Nuage Clair réduit l'empreinte carbone de ses services IT", by="ceo")
    output = await run(context(redis, keys, tmp_path), paths=[REAL[0]])
    section = next(s for s in output.sections if s.criterion == "RC-CRI-09")
    written = next(w for w in output.written if w.section == section.id)
    assert "empreinte carbone" in written.text and written.by == "template"
    assert statuses(output)["RC-CRI-09"] == "partial"


def _cite_first(messages: Sequence[Message]) -> Completion:
    """Prose that answers only the first requirement of its material."""
    ids = re.findall(r"\[([A-Z]+\d?-[A-Z]{3}-\d+)\]", messages[-1].content)
    cited = f" [{ids[0]}]" if ids else ""
    return Completion(content=f"Nous répondons ainsi{cited}.", model="scripted")


async def test_model_prose_covers_what_it_cites_and_leaves_the_rest_partial(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    fact = "Nuage Clair a réduit de 30 % la consommation énergétique de ses serveurs"
    await Memory(redis, keys).remember(fact, by="ceo")
    model = ScriptedModel([_cite_first] * 20)
    output = await run(context(redis, keys, tmp_path, model), paths=[REAL[0]])
    argued = [s for s in output.sections if s.kind in ("presentation", "criterion", "compliance")]
    assert len(model.calls) == len(argued)
    assert output.by == "scripted"
    status = statuses(output)
    assert status["RC-CRI-04"] == "covered" and status["RC-CRI-05"] == "covered"
    compliance = next(s for s in output.sections if s.kind == "compliance")
    first, *others = compliance.requirements
    assert status[first] == "covered" and {status[i] for i in others} == {"partial"}
    # The model is told the language and to cite; the facts reach it as data.
    instructions, material = model.calls[1][0].content, model.calls[1][-1].content
    assert "in French" in instructions and "[RC-CRI-05]" in instructions
    assert "<material>" in material and "[RC-CRI-04]" in material
    energy = next(c for c in model.calls if "[RC-CRI-10]" in c[-1].content)[-1].content
    assert fact in energy
    assert "infogérance et hébergement cloud souverain" in model.calls[0][-1].content


async def test_files_sent_in_chat_are_read_and_paths_outside_are_refused(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    sent = Attachment(name="RC_commune.txt", mime="text/plain", ref="F1", text=OURS.read_text())
    unread = Attachment(name="plan.png", mime="image/png", ref="F2", error="it is an image")
    request = Envelope(
        kind=Kind.WORKFLOW, company="acme", to="workflow.tender_answer", sender="ceo",
        thread="t", workflow=WorkflowCall(name="tender_answer"), attachments=(sent, unread),
    )  # fmt: skip
    ctx = context(redis, keys, tmp_path)
    output = await run(ctx, request)
    assert output.documents == ["RC_commune.txt"]
    assert [u.name for u in output.unread] == ["plan.png"]
    assert output.deadline is not None and output.deadline.at.isoformat() == "2025-03-03T12:00:00"
    # A path the crew gives must name a file sent or one of the crew's own.
    outside = await run(ctx, request, paths=["/etc/hostname", "RC_commune.txt"])
    assert outside.documents == ["RC_commune.txt"]
    assert "among the crew's files" in outside.unread[0].reason
    nothing = await run(ctx, None, paths=[])
    assert nothing.refused is not None and "Aucun document de consultation" in nothing.summary()


async def test_an_english_company_reads_its_report_in_english(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, languages=("en",))
    output = await run(ctx, paths=[REAL[0]])
    summary = output.summary()
    assert "Deadline for offers" in summary and "Compliance matrix (excerpt)" in summary
    assert output.answer_language == "fr"  # the answer itself stays in the buyer's language
    assert "Matrice de conformité" in read(output.files[0])


def test_the_workflow_is_registered_by_name() -> None:
    workflow = load_workflow("tender_answer")
    assert workflow is WORKFLOW and workflow.read_only and workflow.untrusted_output
    assert {"dce", "règlement de la consultation", "answer the tender"} <= set(workflow.handles)


async def test_offline_ceo_answers_a_tender_whose_rc_the_founder_sends_in_chat(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_crew import crew_running
    from tests.test_workflows import with_workflows

    monkeypatch.chdir(tmp_path)
    sent = Attachment(name="RC_commune.txt", mime="text/plain", ref="F1", text=read(str(OURS)))
    async with crew_running(redis, keys, with_workflows("tender_answer")) as crew:
        await crew.tell("Voici le DCE : prépare la matrice de conformité", files=(sent,))
        _ack, report = await crew.outbox(2)
    assert report.kind is Kind.REPLY
    assert "RC-CRI-01" in report.text and "Valeur technique de l'offre : 55 points" in report.text
    assert "2025-03-03 12:00" in report.text
    assert sorted(p.suffix for p in (tmp_path / ".equipage").rglob("answer-*")) == [
        ".docx", ".md",
    ]  # fmt: skip
