"""The live assistant hears a call's audio: PCM frames over a real WebSocket and a growing
Ogg/Opus file, made at test time by espeak-ng, windowed, sent by the real openai SDK to a
fake transcription server, and turned into the suggestions a transcript would raise."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect as ws_connect

from equipage.budget import Budget
from equipage.company.speech import SpeechConfig
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.llm.options import ProviderOptions
from equipage.llm.speech import close_speech
from equipage.memory import Memory
from equipage.testing import stream_entries, wait_until
from equipage.testing.fake_speech import FakeSpeech, ogg_opus_seconds
from tests.test_cli import clean_env, equipage
from tests.test_live_assist import SESSION, live
from tests.voices import voice_note
from workflows.live_assist.audio_feeders import AudioFeed, audio_websocket, follow_file
from workflows.live_assist.audio_settings import AudioSettings
from workflows.live_assist.listening import Ears, drop_repeated, ears_for, sentences
from workflows.live_assist.segments import from_entry
from workflows.live_assist.windows import wav_file

RATE = 22_050  # espeak-ng's WAV output: 16-bit mono at 22.05 kHz
OBJECTION = "la démo. Honnêtement, c'est trop cher pour nous."
QUESTION = "pour nous. Vos serveurs sont hébergés où ?"


def spoken_pcm(text: str, seconds: float) -> bytes:
    """``text`` said by espeak-ng as raw PCM, cut or padded with silence to ``seconds``."""
    speak = shutil.which("espeak-ng")
    if speak is None:
        pytest.skip("PCM is made with espeak-ng: apt-get install -y espeak-ng")
    wav = subprocess.run([speak, "-v", "fr", "--stdout", text], check=True, capture_output=True)
    data = wav.stdout
    pcm = data[data.find(b"data") + 8 :]
    size = int(seconds * RATE) * 2
    return (pcm + bytes(size))[:size]


@pytest.fixture
async def speech() -> AsyncIterator[FakeSpeech]:
    async with FakeSpeech() as fake:
        yield fake


@pytest.fixture
async def closing() -> AsyncIterator[list[Ears]]:
    """Ears made by the test, their transcriber's connections closed after it."""
    made: list[Ears] = []
    yield made
    for made_ears in made:
        await close_speech(made_ears.speech)


def ears(
    redis: aioredis.Redis,
    keys: Keys,
    fake: FakeSpeech,
    closing: list[Ears],
    budget: Budget | None = None,
    **given: float,
) -> Ears:
    settings = AudioSettings(
        **{"window": 2.0, "overlap": 0.5, "sample_rate": RATE, "quiet": 0.5, **given}
    )
    config = SpeechConfig(model="openai:whisper-1", base_url=fake.url, price_per_minute=0.006)
    closing.append(ears_for(
        config, ProviderOptions(max_retries=0), redis=redis, keys=keys, session=SESSION,
        settings=settings, budget=budget, role="ceo", language="fr",
    ))  # fmt: skip
    return closing[-1]


async def heard_segments(redis: aioredis.Redis, keys: Keys) -> list[tuple[str, str, str]]:
    entries = await stream_entries(redis, keys.live_segments(SESSION))
    found = [from_entry(i, f).segment for i, f in entries]
    return [(s.kind, s.speaker, s.text) for s in found]


def test_the_words_a_window_repeats_of_the_one_before_are_dropped_at_the_seam() -> None:
    assert drop_repeated("merci pour la démo.".split(), OBJECTION) == (
        "Honnêtement, c'est trop cher pour nous."
    )
    assert drop_repeated("rien à voir".split(), "Tout autre chose.") == "Tout autre chose."
    assert sentences("Une phrase. Une autre ?  Fin") == ["Une phrase.", "Une autre ?", "Fin"]


async def test_pcm_frames_over_a_websocket_are_heard_and_raise_the_suggestions_of_a_transcript(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, speech: FakeSpeech, closing: list[Ears]
) -> None:
    await Memory(redis, keys).remember(
        "Nos serveurs sont hébergés en France, certifiés HDS.", by="cto"
    )
    pcm = spoken_pcm("Bonjour. C'est trop cher. Vos serveurs sont où ?", seconds=5.0)
    # Windows 0-2 s, 1.5-3.5 s and 3-5 s: each repeats half a second of the one before.
    for text in ("Bonjour, merci pour la démo.", OBJECTION, QUESTION):
        speech.say(text, language="french")
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    feed = AudioFeed(ears(redis, keys, speech, closing, budget))
    async with live(redis, keys, tmp_path, interval=0) as call_:
        async with (
            audio_websocket(feed, "127.0.0.1", 0) as port,
            ws_connect(f"ws://127.0.0.1:{port}") as socket,
        ):
            frame = RATE // 10 * 2  # 100 ms frames, as a recorder sends them
            for at in range(0, len(pcm), frame):
                await socket.send(pcm[at : at + frame])
            await socket.send("/end")
            assert json.loads(await socket.recv()) == {"ok": True, "ended": True}
        output = await asyncio.wait_for(call_.task, 10)
        sent = await call_.suggestions()
    assert [h.audio[:4] for h in speech.requests] == [b"RIFF"] * 3
    assert {h.model for h in speech.requests} == {"whisper-1"}
    assert await heard_segments(redis, keys) == [
        ("speech", "them", "Bonjour, merci pour la démo."),
        ("speech", "them", "Honnêtement, c'est trop cher pour nous."),
        ("speech", "them", "Vos serveurs sont hébergés où ?"),
        ("end", "", ""),
    ]
    assert output.segments == 3 and output.ended == "end"
    assert [(e.text.split(" : ")[0], e.text.splitlines()[-1]) for e in sent] == [
        ("Argument", "> Honnêtement, c'est trop cher pour nous."),
        ("Fait", "> Vos serveurs sont hébergés où ?"),
    ]
    assert await budget.thread_spend(f"live:{SESSION}") == pytest.approx(0.006 * 6 / 60)


async def test_a_growing_ogg_opus_file_is_heard_in_windows_as_it_is_recorded(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, speech: FakeSpeech, closing: list[Ears]
) -> None:
    note = voice_note(
        "Honnêtement, c'est trop cher pour une entreprise comme la nôtre. "
        "Et vos serveurs, ils sont hébergés où exactement ?"
    )
    speech.say("Honnêtement, c'est trop cher pour une entreprise comme la nôtre.", language="fr")
    speech.say("la nôtre. Et vos serveurs, ils sont hébergés où ?", language="fr")
    recording = tmp_path / "call.ogg"
    recording.write_bytes(b"")
    feed = AudioFeed(ears(redis, keys, speech, closing))
    async with live(redis, keys, tmp_path, interval=0) as call_:
        hearing = asyncio.create_task(follow_file(feed, recording))
        half = len(note) // 2
        with recording.open("ab") as file:  # a recorder appending as it goes
            file.write(note[:half])
            file.flush()
            # The first window is heard while the rest is still being recorded.
            await wait_until(lambda: _asked(speech), what="the first window heard")
            file.write(note[half:])
        heard = await asyncio.wait_for(hearing, 10)
        output = await asyncio.wait_for(call_.task, 10)
        sent = await call_.suggestions()
    assert heard == pytest.approx(ogg_opus_seconds(note) or 0, abs=0.05)
    assert len(speech.requests) >= 2
    for request in speech.requests:  # each window a standalone Ogg/Opus file of its own
        assert request.audio.startswith(b"OggS") and b"OpusHead" in request.audio
        assert 0 < (ogg_opus_seconds(request.audio) or 0) <= 2.0 + 1.1
    segments = await heard_segments(redis, keys)
    assert segments[:3] == [
        ("speech", "them", "Honnêtement, c'est trop cher pour une entreprise comme la nôtre."),
        ("speech", "them", "Et vos serveurs, ils sont hébergés où ?"),
        ("end", "", ""),
    ]
    assert output.ended == "end"
    assert [e.text.split(" : ")[0] for e in sent] == ["Argument", "Question à poser"]


async def _asked(speech: FakeSpeech) -> bool:
    return bool(speech.requests)


async def test_audio_past_its_limit_is_refused_in_french_and_ends_the_session(
    redis: aioredis.Redis, keys: Keys, speech: FakeSpeech, closing: list[Ears]
) -> None:
    feed = AudioFeed(ears(redis, keys, speech, closing, max_seconds=1.0))
    async with (
        audio_websocket(feed, "127.0.0.1", 0) as port,
        ws_connect(f"ws://127.0.0.1:{port}") as socket,
    ):
        for _ in range(15):
            await socket.send(bytes(RATE // 10 * 2))
        answer = json.loads(await socket.recv())
    assert answer["ok"] is False
    assert answer["error"].startswith("l'audio de l'appel dépasse la limite de 1 s")
    assert (await heard_segments(redis, keys))[-1] == ("end", "", "")


def test_hearing_audio_without_a_speech_provider_says_what_to_add(
    redis: aioredis.Redis, keys: Keys
) -> None:
    with pytest.raises(ConfigError, match=r"ajoutez une section speech à company\.yaml"):
        ears_for(
            None, ProviderOptions(), redis=redis, keys=keys, session=SESSION,
            settings=AudioSettings(), budget=None, role="ceo", language="fr",
        )  # fmt: skip


async def test_equipage_live_hears_a_recorded_wav_file_and_prints_the_suggestion(
    tmp_path: Path, speech: FakeSpeech
) -> None:
    equipage(tmp_path, "init")
    config = tmp_path / "company.yaml"
    settings = "{digest: {}, live_assist: {audio: {window: 2, overlap: 0.5, quiet: 0.5}}}"
    config.write_text(
        config.read_text().replace("workflows: [digest]", f"workflows: {settings}")
        + f"\nspeech: {{model: openai:whisper-1, base_url: '{speech.url}'}}\n"
    )
    pcm = spoken_pcm("It is too expensive for us.", seconds=1.8)  # one window, heard at the end
    (tmp_path / "call.wav").write_bytes(wav_file(pcm, RATE))
    speech.say("Honestly, it is too expensive for us.")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "equipage.cli", "live", "--session", "call1", "--interval", "0",
        "--audio-file", "call.wav", cwd=tmp_path, env=clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert "hearing the call's audio from call.wav" in err.decode()
    assert "Price objection" in out.decode(), out.decode()
    assert "suggestions sent: 1" in out.decode()
    assert [h.audio[:4] for h in speech.requests] == [b"RIFF"]
