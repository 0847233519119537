"""A French founder reads French everywhere: the demo and every workflow, run offline on
real inputs, are read whole (chat messages, questions, summaries, exported Markdown and
DOCX) and any English sentence fails the test, where it was found.

What stays in its own language is named as such: a notice's own title and buyer, the
founder's own profile, a transcript's words (quoted with ``>``), code and file names; and
the answer drafted to a buyer whose notice is in English (the letter and the outline: the
buyer's language), while the memo for the founder is French. ``tests/english.py`` is the
detector.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from docx import Document
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import agents
from channels import wording as channel_words
from channels.attachments import notice
from channels.wording import FR, words_for
from equipage.approval_text import call_text, still_waiting, waiting_first
from equipage.bus import Bus
from equipage.config import Profile, TenderProfile
from equipage.crew import serializer, state_types
from equipage.demo import DemoResult, run_demo
from equipage.documents import extract, size_refusal
from equipage.envelope import Answer, Attachment, Envelope, Kind, Origin, Question
from equipage.errors import DocumentRefused
from equipage.events import Event, EventType
from equipage.failure_text import workflow_failed
from equipage.inputs import crew_refusal
from equipage.keys import Keys
from equipage.llm.messages import ToolCall
from equipage.llm.offline import OfflineModel
from equipage.prompting import answer_template, fill
from equipage.testing import stream_entries
from equipage.workflow import WorkflowContext, load_workflow
from tests.conftest import FIXTURES
from tests.english import english_in
from tests.test_cli import clean_env
from workflows.live_assist import LiveInput, Segment, add_segment
from workflows.migration.inventory import read_inventory
from workflows.migration.words import words as migration_words
from workflows.tenders import TendersInput
from workflows.tenders import wording as tender_words
from workflows.tenders.answer import wording as answer_words
from workflows.tenders.phrases import phrases
from workflows.tenders.sources import fetch_tenders

SELLS = "infogérance et hébergement cloud souverain"
TENDERS = TenderProfile(
    cpv=("72", "48"),
    keywords=("cloud", "hébergement", "infogérance", "it services", "informatique"),
    exclude=("travaux", "works"),
)
PROFILE = Profile(sells=SELLS, where=("FR", "BE", "LU"), languages=("fr",), tenders=TENDERS)
GCP = sorted(str(p) for p in (FIXTURES / "gcp").iterdir() if p.suffix in {".json", ".tfstate"})
DCE = FIXTURES / "tenders" / "dce" / "vsgp-25TIC06"
TRANSCRIPTS = FIXTURES / "transcripts"
FRENCH_TALK = TRANSCRIPTS / "commonvoice-fr_debats-assemblee-nationale_fr.txt"
# The providers' own product names, as their price pages write them.
PRODUCTS = ("Domains and DNS", "Hetzner Cloud project", "Managed Database", "Private Network")
ORIGIN = Origin(channel="console", chat="camille", member="camille", language="fr")


def context(redis: aioredis.Redis, keys: Keys, files: Path, name: str) -> WorkflowContext:
    return WorkflowContext(
        company="nuage-clair",
        company_name="Nuage Clair",
        redis=redis,
        keys=keys,
        model=OfflineModel(),
        profile=PROFILE,
        files=files / name,
        crew_files=files,
        name=name,
        emit=Bus(redis, keys).emit,  # progress() on the events stream, as in a crew
    )


async def read_run(
    ctx: WorkflowContext, fields: dict[str, Any], request: Envelope | None = None
) -> list[str]:
    """Run one workflow to its end, approving every question; what its founder reads.
    With ``request``, the crew started it (a path it gives is held to the crew's files)."""
    workflow = load_workflow(ctx.name)
    types = state_types(workflow.Input) | state_types(workflow.Output)
    graph = workflow.build(ctx).compile(checkpointer=InMemorySaver(serde=serializer(*types)))
    config: Any = {"configurable": {"thread_id": ctx.name}}
    start: dict[str, Any] = {"input": workflow.Input.model_validate(fields)}
    if request is not None:
        start |= {"request": request, "origin": ORIGIN}
    state = await graph.ainvoke(start, config)
    read: list[str] = []
    while pauses := state.get("__interrupt__"):
        question = Question.model_validate(pauses[0].value)
        read.append(question.text)
        given = Answer(question_id=question.id, approved=True, member="camille")
        state = await graph.ainvoke(Command(resume=given), config)
    read.append(state["output"].summary())
    return read + await progress_read(ctx) + files_read(ctx.files)


async def progress_read(ctx: WorkflowContext) -> list[str]:
    """What the runs' ``progress()`` said on the events stream (``workflow run``, the console,
    ``status``); the workflow's name before each step ("tenders: ...") is an identifier."""
    said = []
    for _, fields in await stream_entries(ctx.redis, ctx.keys.events):
        event = Event.model_validate_json(fields[b"event"])
        if event.type is EventType.PROGRESS:
            name = event.sender.removeprefix("workflow.")
            said.append(event.detail.removeprefix(f"{name}: "))
    return said


def files_read(folder: Path) -> list[str]:
    """The Markdown and DOCX files a run wrote: what the founder opens next."""
    read = [p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.md"))]
    for path in sorted(folder.rglob("*.docx")):
        document = Document(str(path))
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        read.append("\n".join([*(p.text for p in document.paragraphs), *cells]))
    return [for_the_founder(text) for text in read]


def for_the_founder(text: str) -> str:
    """A tender export without the answer drafted to an English-speaking buyer: the letter
    and the outline after the memo are in the buyer's language on purpose."""
    if "\n---\n" in text and "Dear Sir or Madam" in text:
        return text.partition("\n---\n")[0]
    if "Dear Sir or Madam" in text:  # the DOCX: the memo ends where the outline begins
        return text.split("\nAnswer outline")[0]
    return text


async def notice_words() -> list[str]:
    """Every text of the notices shipped with Equipage: titles, buyers, lots, criteria."""
    sources = TendersInput.bundled().sources
    report = await fetch_tenders(sources, TENDERS, today=date(2019, 12, 2))
    words: list[str] = []
    for tender in report.tenders:
        words += [tender.title, tender.buyer, tender.description]
        words += [*tender.titles.values(), *tender.descriptions.values()]
        for lot in tender.lots:
            words += [lot.title or "", lot.description or ""]
            words += [c.description for c in lot.criteria]
        words += [c.description for c in tender.criteria]
    return words


def assert_french(read: list[str], sources: list[str] = ()) -> None:  # type: ignore[assignment]
    english = english_in(read, [SELLS, *sources])
    assert not english, "English shown to a French founder:\n" + "\n".join(english)


def test_the_detector_finds_english_sentences_and_leaves_french_and_sources() -> None:
    assert english_in(["Here is what the team prepared:\n\nShall I publish it?"])
    assert english_in(["- ressource : mapped, 16 GiB"])
    assert english_in(["Voici ce que l'équipe a préparé :\n\nJe publie ?"]) == []
    assert (
        english_in(["Titre : Provision of IT Services (`ted:1`)"], ["Provision of IT Services"])
        == []
    )
    assert english_in(["> What is the price?\nFichier `main.tf` : https://a.eu/the"]) == []


def strings(table: object) -> Iterator[str]:
    """Every string of a wording table: a dict, a tuple or a dataclass of them."""
    if isinstance(table, str):
        yield table
    elif isinstance(table, dict):
        for value in table.values():
            yield from strings(value)
    elif isinstance(table, tuple | list):
        for value in table:
            yield from strings(value)
    elif dataclasses.is_dataclass(table):
        for found in dataclasses.fields(table):
            yield from strings(getattr(table, found.name))


def test_the_detector_reads_our_french_tables_as_french_and_our_english_as_english() -> None:
    tables = [
        (migration_words("en"), migration_words("fr")),
        (phrases("en"), phrases("fr")),
        (tender_words.EN, tender_words.FR),
        (answer_words.EN, answer_words.FR),
        (channel_words.EN, channel_words.FR),
    ]
    for english, french in tables:
        fr = [s for s in strings(french) if len(s.split()) >= 3]
        en = [s for s in strings(english) if len(s.split()) >= 3]
        assert english_in(fr) == []
        missed = [s for s in en if not english_in([s])]
        assert len(missed) <= len(en) // 10, missed


def test_approval_questions_and_their_hints_are_french() -> None:
    call = ToolCall(id="c1", name="publish_post", arguments={"text": "x" * 3000})
    asked = call_text("marketing", call, ["document RC.pdf"], question_id="q1", language="fr")
    said = [asked.text, asked.full, still_waiting("ceo", ["q1", "q2"], "fr")]
    said += [waiting_first(["q1"], "fr"), FR.hint("q1"), FR.answer, *FR.labels("approval")]
    assert_french(said, ["publish_post", "document RC.pdf"])


@pytest.mark.parametrize("role", ["ceo", "cto", "marketing", "support"])
def test_every_roles_offline_answer_template_is_french(role: str) -> None:
    prompt = (Path(agents.__file__).parent / "prompts" / f"{role}.md").read_text(encoding="utf-8")
    template = answer_template(prompt, "fr")
    assert template and template != answer_template(prompt, "en")
    assert_french([fill(template, {"brief": "Préparez la note."})])


@pytest.mark.e2e
async def test_the_french_demo_says_everything_in_french() -> None:
    read: list[str] = []

    async def hold(result: DemoResult, address: str, link: str) -> None:
        # The demo's folder goes when it ends: its exports are read while it is served.
        assert result.ok, result.problems
        read.extend(m.text for m in result.messages)
        for asked in (m for m in result.messages if m.question is not None):
            # What the console adds under a question: the hint and the buttons' labels.
            say = words_for(asked)
            assert asked.question is not None
            read.append(f"{say.answer} {say.hint(asked.question.id)}")
            read.append(" / ".join(say.labels(asked.question.topic)))
        paths = {p for m in result.messages for p in re.findall(r"^- (/\S+\.md)$", m.text, re.M)}
        folders = {Path(p).parent for p in paths}
        assert folders, "the demo exported nothing"
        for folder in folders:
            read.extend(files_read(folder))

    await run_demo(lambda who, message: None, lang="fr", hold=hold)
    assert read
    assert_french(read, await notice_words())


@pytest.mark.e2e
async def test_the_french_demo_command_prints_everything_in_french(tmp_path: Path) -> None:
    # Wide enough that no line wraps: a notice's title stays whole, so it is known as one.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "equipage.cli", "demo", "--lang", "fr"],
        cwd=tmp_path,
        env=clean_env() | {"COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    # The summary after the play, the kept files and the console's address: all of it.
    assert "Démo terminée" in output and "Fichiers exportés" in output, output[-3000:]
    assert_french([output], await notice_words())


async def test_the_tender_watch_reports_and_drafts_in_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, "tenders")
    read = await read_run(ctx, {"sources": {"bundled": True, "ted": False, "boamp": False}})
    assert len(await progress_read(ctx)) >= 4  # reading, read, matches, drafting, exported
    assert_french(read, await notice_words())


async def test_the_tender_answer_from_a_real_consultation_is_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, "tender_answer")
    paths = [str(DCE / name) for name in ("RC.pdf", "CCAP.pdf", "AE.docx")]
    read = await read_run(ctx, {"paths": paths})
    assert len(await progress_read(ctx)) >= 2  # the files read, then each section
    assert_french(read)


async def test_the_migration_plan_of_real_inventories_is_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, "migration")
    names = [r.name for r in read_inventory(GCP).resources]
    read = await read_run(ctx, {"paths": GCP})
    assert len(await progress_read(ctx)) == 2  # the records read, the plan written
    assert_french(read, [*names, *PRODUCTS])


async def test_the_coaching_report_of_a_french_talk_is_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, "coaching")
    talk = FRENCH_TALK.read_text(encoding="utf-8")
    read = await read_run(ctx, {"path": str(FRENCH_TALK)})
    assert len(await progress_read(ctx)) == 2  # measuring, then the feedback
    assert_french(read, talk.splitlines())


async def test_the_digest_is_french(redis: aioredis.Redis, keys: Keys, tmp_path: Path) -> None:
    assert_french(await read_run(context(redis, keys, tmp_path, "digest"), {}))


async def test_the_live_assistant_suggests_in_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, "live_assist")
    said = [line for line in FRENCH_TALK.read_text(encoding="utf-8").splitlines() if line][:40]
    lines = [*said, "C'est trop cher pour nous.", "Et on a déjà un prestataire."]
    for line in lines:
        await add_segment(redis, keys, "call-1", Segment(speaker="Client", text=line))
    await add_segment(redis, keys, "call-1", Segment(speaker="moi", kind="ask"))
    await add_segment(redis, keys, "call-1", Segment(kind="end"))
    request = Envelope(
        kind=Kind.WORKFLOW,
        company="nuage-clair",
        to="workflow.live_assist",
        sender="ceo",
        thread="console:camille/wf-live_assist/c1",
        origin=ORIGIN,
    )
    graph = load_workflow("live_assist").build(ctx).compile(checkpointer=InMemorySaver())
    params = LiveInput(session="call-1", interval=0, idle_timeout=5)
    state = await asyncio.wait_for(
        graph.ainvoke(
            {"input": params, "request": request, "origin": ORIGIN},
            {"configurable": {"thread_id": "live"}},
        ),
        30,
    )
    sent = [Envelope.decode(f[b"env"]).text for _, f in await stream_entries(redis, keys.outbox)]
    assert len(sent) > 1
    assert_french([*sent, state["output"].summary()], lines)


def asked_by_the_crew(name: str) -> Envelope:
    return Envelope(
        kind=Kind.WORKFLOW,
        company="nuage-clair",
        to=f"workflow.{name}",
        sender="ceo",
        thread=f"console:camille/wf-{name}/c1",
        origin=ORIGIN,
    )


async def test_refusals_in_workflow_reports_are_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    # The crew names files outside its folder, a picture and a scan; the owner pastes HTML.
    picture = tmp_path / "tender_answer" / "photo.png"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    empty = tmp_path / "tender_answer" / "vide.pdf"
    empty.write_bytes(b"")
    outside = str(FRENCH_TALK)
    read = await read_run(
        context(redis, keys, tmp_path, "coaching"), {"path": outside}, asked_by_the_crew("coaching")
    )
    assert "**Transcription refusée**" in read[0] and "aucun fichier" in read[0]
    answer = context(redis, keys, tmp_path, "tender_answer")
    paths = [str(picture), str(empty), outside, str(DCE / "AE.docx")]
    read += await read_run(answer, {"paths": paths}, asked_by_the_crew("tender_answer"))
    assert "c'est une image (PNG)" in read[1] and "le fichier est vide" in read[1]
    migration = context(redis, keys, tmp_path, "migration")
    read += await read_run(migration, {"content": "<html>oops</html>"})
    assert "n'est pas du JSON" in read[-1]
    assert_french(read, [outside, "<html>oops</html>"])


def test_files_not_read_are_explained_in_french_in_chat() -> None:
    errors = []
    for name, data in (("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64)), ("vide.txt", b"")):
        with pytest.raises(DocumentRefused) as refused:
            extract(data, name=name)
        errors.append((name, str(refused.value).removeprefix(f"{name}: ")))
    big = str(size_refusal("gros.pdf", 30 * 2**20, 20 * 2**20)).removeprefix("gros.pdf: ")
    errors.append(("gros.pdf", big))
    sent = [Attachment(name=n, mime="", ref=n, error=e) for n, e in errors]
    told = notice(sent, FR)
    assert told is not None and "il fait 30 Mo" in told and "c'est une image (PNG)" in told
    assert_french([told])


def test_a_run_the_crew_may_not_start_is_refused_in_french() -> None:
    refusal = crew_refusal("live_assist", LiveInput, {"session": "s", "host": "0.0.0.0"}, {})
    assert refusal is not None
    told = workflow_failed("live_assist", "fr", refusal=refusal)
    assert told.startswith("erreur : le workflow live_assist n'a pas été lancé")
    assert_french([told])
