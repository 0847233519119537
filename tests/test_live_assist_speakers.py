"""The live assistant knows who is who, asks back on concerns it has no argument for, and
reads a transcript within a size limit."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import JsonValue
from typer.testing import CliRunner

from equipage.cli import app
from equipage.cli.live import speaker_labels
from equipage.errors import InputRejected
from equipage.inputs import with_settings
from equipage.keys import Keys
from equipage.memory import Memory
from equipage.testing import stream_entries
from tests.test_live_assist import SESSION, TRANSCRIPTS, _pipe, live
from workflows.live_assist import LiveInput, feed_stdin
from workflows.live_assist.reading import read_lines
from workflows.live_assist.triggers import Detector

UMD = TRANSCRIPTS / "umd-mith_webvtt-player_unlocking-the-airwaves_en.vtt"


# -- who is the founder ---------------------------------------------------------------------


async def test_only_the_other_speakers_objections_and_questions_get_suggestions(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    memory = Memory(redis, keys)
    await memory.remember("Nos serveurs sont hébergés en France, certifiés HDS.", by="cto")
    async with live(redis, keys, tmp_path, interval=0, founder_speakers=("Alice",)) as call_:
        # The founder quotes an objection, asks a question, names a remembered topic: context.
        await call_.say("Vous allez me dire que c'est trop cher, je sais.", speaker="alice")
        await call_.say("Est-ce que vous avez des questions ?", speaker="ALICE")
        await call_.say("Nos serveurs hébergés en France, c'est notre force.", speaker="Alice")
        assert await call_.suggestions() == []
        # "moi" is a founder only by default: here it is another speaker.
        await call_.say("Honnêtement, c'est trop cher pour nous.", speaker="moi")
        [suggestion] = await call_.suggestions()
    assert suggestion.text.startswith("Argument : Objection prix")
    assert suggestion.to == "human"  # for the founder, in the founder's chat


def test_founder_speakers_come_from_company_yaml_unless_the_command_line_names_them() -> None:
    settings: dict[str, JsonValue] = {"founder_speakers": ["Alice Martin"]}
    from_config = LiveInput.model_validate(with_settings(settings, {"session": "s"}))
    assert Detector(from_config, None).is_founder("alice martin")
    assert not Detector(from_config, None).is_founder("me")
    labels = speaker_labels(["Bob, me", "Bob", " "])
    assert labels == ("Bob", "me")
    data: dict[str, JsonValue] = {"session": "s", "founder_speakers": list(labels)}
    from_cli = LiveInput.model_validate(with_settings(settings, data))
    assert from_cli.founder_speakers == ("Bob", "me")


def test_the_live_command_offers_founder_speakers() -> None:
    result = CliRunner().invoke(app, ["live", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--founder-speakers" in result.output


# -- no stored argument: a question back ---------------------------------------------------


async def test_a_concern_with_no_stored_argument_gets_a_question_back_in_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with live(redis, keys, tmp_path, interval=0) as call_:
        await call_.say("Ce qui m'inquiète, c'est la sécurité des données.")
        [suggestion] = await call_.suggestions()
    first = suggestion.text.splitlines()[0]
    assert first.startswith(
        "Question à poser : Demandez ce qui, concernant « la sécurité des données », les préoccupe"
    )


async def test_a_concern_in_english_names_what_worries_them(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with live(redis, keys, tmp_path, interval=0, language="en") as call_:
        await call_.say("Honestly, I'm worried about the migration downtime.")
        [suggestion] = await call_.suggestions()
    assert suggestion.text.startswith(
        'Question to ask: Ask what makes "the migration downtime" a concern for them'
    )


async def test_an_objection_raised_again_gets_a_question_back_instead_of_silence(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with live(redis, keys, tmp_path, interval=0, language="en") as call_:
        await call_.say("That's too expensive for us.")
        await call_.say("Still, it is too expensive, really.")
        await call_.say("I keep saying it: too expensive.")  # asked back once: now quiet
        texts = [s.text.splitlines()[0] for s in await call_.suggestions()]
    assert len(texts) == 2
    assert texts[0].startswith("Argument: Price objection")
    assert texts[1].startswith("Question to ask: Ask what makes the price a concern for them")


async def test_a_concern_the_memory_answers_gets_the_fact(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    fact = await Memory(redis, keys).remember(
        "Backups run every night to a second French datacenter.", by="cto"
    )
    async with live(redis, keys, tmp_path, interval=0, language="en") as call_:
        await call_.say("We are worried about backups of our data.")
        [suggestion] = await call_.suggestions()
    assert suggestion.text.splitlines()[0] == f"Fact: You can say: {fact.text}"


# -- size limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said"),
    [("fr", "la transcription dépasse la limite de 16 Ko"), ("en", "over the 16 KB limit")],
)
async def test_a_transcript_file_over_the_limit_is_refused_before_it_is_read(
    redis: aioredis.Redis, keys: Keys, language: str, said: str
) -> None:
    assert UMD.stat().st_size > 16 * 1024  # a real 31 KB transcript
    with UMD.open(encoding="utf-8") as vtt, pytest.raises(InputRejected) as refused:
        await feed_stdin(redis, keys, SESSION, vtt, max_bytes=16 * 1024, language=language)
    assert said in str(refused.value)
    entries = await stream_entries(redis, keys.live_segments(SESSION))
    # Nothing of it was fed; the session is told to end rather than wait for more.
    assert [{k.decode(): v.decode() for k, v in f.items()} for _, f in entries] == [{"kind": "end"}]


async def test_a_pipe_passing_the_limit_is_cut_there_and_the_session_ends(
    redis: aioredis.Redis, keys: Keys
) -> None:
    reader, writer = _pipe()
    with reader, writer:
        feeding = asyncio.create_task(
            feed_stdin(redis, keys, SESSION, reader, max_bytes=2048, language="en")
        )
        writer.write("".join(f"Client: line number {i:03d} of a long call.\n" for i in range(80)))
        writer.close()
        with pytest.raises(InputRejected, match="over the 2 KB limit"):
            await asyncio.wait_for(feeding, 10)
    entries = await stream_entries(redis, keys.live_segments(SESSION))
    kinds = [f[b"kind"].decode() for _, f in entries]
    assert kinds[-1] == "end" and 0 < kinds.count("speech") < 80
    assert sum(len(f[b"text"]) + 9 for _, f in entries if b"text" in f) <= 2048


async def test_an_endless_line_is_refused_without_being_held_whole() -> None:
    stream = io.StringIO("Client: " + "bla " * 1000)
    with pytest.raises(InputRejected, match="une ligne de la transcription dépasse"):
        async for _ in read_lines(stream, max_line=1000, language="fr"):
            pass
