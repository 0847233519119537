"""The live assistant hearing audio: a window's last frame to its segments at the triggers.

A listening session (the workflow's own loop, ``Session``) follows a session's stream; a
subclass notes when each segment reaches ``handle``, where the triggers run. Audio is
16-bit mono PCM (a tone: the fake transcription server says scripted words, it does not
recognise any) sent in 100 ms frames over a real WebSocket on 127.0.0.1, at ``--audio-speed``
times real time, to the feeder of ``equipage live --audio-port``; each window goes to the
fake server through the real openai SDK. The baseline, in the same run on the same
server, is the same sentences XADDed as a transcript at the moments the windows were
complete, timed to the same point. Imported as a sibling by ``live_assist.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from _stats import latency
from _verdict import Check, Target
from websockets.asyncio.client import connect as ws_connect

from equipage import (
    CompanyConfig,
    Keys,
    Origin,
    ProviderOptions,
    RedisTarget,
    WorkflowContext,
    close_speech,
    connect,
    load_model,
)
from equipage.testing.fake_speech import FakeSpeech
from workflows.live_assist import LiveInput, Segment, add_segment
from workflows.live_assist.audio_feeders import AudioFeed, audio_websocket
from workflows.live_assist.audio_settings import AudioSettings
from workflows.live_assist.listening import Heard, ears_for
from workflows.live_assist.segments import Entry
from workflows.live_assist.session import Audience, Session

__all__ = ["AUDIO_P99_MS", "add_audio_options", "measure_audio"]

AUDIO_P99_MS = Target(
    "audio_p99_ms", 250.0, "highest p99, ms, of a window's last frame to its segments' triggers"
)
RATE = 16_000
SAID = (
    "Honnêtement, ça me paraît trop cher pour une PME.",
    "Vos serveurs sont hébergés où exactement ?",
    "On a déjà un prestataire pour la sauvegarde.",
    "Combien de temps prend une migration ?",
    "That sounds too expensive for our budget this year.",
    "How do you handle GDPR and data residency?",
)


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio-windows", type=int, default=30, help="windows of audio heard")
    parser.add_argument("--audio-window", type=float, default=2.0, help="seconds a window")
    parser.add_argument("--audio-overlap", type=float, default=0.5, help="seconds of overlap")
    parser.add_argument("--audio-speed", type=float, default=6.0, help="times real time")


class _Timed(Session):
    """The listening loop, noting when each segment reaches the triggers."""

    reached: dict[str, float]

    async def handle(self, entry: Entry) -> None:
        self.reached[entry.entry_id] = time.perf_counter()
        await super().handle(entry)


def _tone(seconds: float) -> bytes:
    samples = int(seconds * RATE)
    wave = (int(8000 * math.sin(2 * math.pi * 220 * i / RATE)) for i in range(samples))
    return struct.pack(f"<{samples}h", *wave)


def _company(speech_url: str) -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "bench", "name": "Bench",
                        "profile": {"sells": "cloud", "languages": ["fr", "en"]}},
            "members": [{"id": "founder", "name": "F", "role": "owner",
                         "identities": {"console": "founder"}}],
            "roles": {"ceo": {"description": "runs the company"}},
            "speech": {"model": "openai:whisper-1", "base_url": speech_url},
        }
    )  # fmt: skip


async def _session(
    target: RedisTarget, keys: Keys, name: str, origin: Origin, feed: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    """Run a listening session on ``name`` while ``feed`` runs; when each segment arrived."""
    redis = connect(target)
    ctx = WorkflowContext(company="bench", redis=redis, keys=keys, model=load_model("offline"))
    params = LiveInput(session=name, interval=0, idle_timeout=60)
    audience = Audience(origin=origin, thread=f"live:{name}")
    session = _Timed(ctx, params, session=name, run=f"run-{name}", audience=audience)
    session.reached = {}
    try:
        listening = asyncio.create_task(session.run())
        await feed()
        await asyncio.wait_for(listening, 60)
    finally:
        await redis.aclose()
    return session.reached


async def measure_audio(
    target: RedisTarget, args: argparse.Namespace, origin: Origin
) -> tuple[dict[str, object], list[Check]]:
    keys = Keys("bench", namespace=f"bench{uuid.uuid4().hex[:8]}")
    feeder = connect(target)
    settings = AudioSettings(window=args.audio_window, overlap=args.audio_overlap,
                             sample_rate=RATE)  # fmt: skip
    step = args.audio_window - args.audio_overlap
    seconds = args.audio_window + step * (args.audio_windows - 1)
    heard: list[Heard] = []
    async with FakeSpeech() as fake:
        for i in range(args.audio_windows):
            fake.say(SAID[i % len(SAID)], language="fr")
        company = _company(fake.url)
        ears = ears_for(company.speech, ProviderOptions(max_retries=0), redis=feeder, keys=keys,
                        session="audio", settings=settings, budget=None, role="ceo",
                        language="en")  # fmt: skip
        ears.on_heard = heard.append

        async def stream() -> None:
            pcm, frame = _tone(seconds), RATE // 10 * 2
            async with (
                audio_websocket(AudioFeed(ears), "127.0.0.1", 0) as port,
                ws_connect(f"ws://127.0.0.1:{port}") as socket,
            ):
                start = time.perf_counter()
                for n, at in enumerate(range(0, len(pcm), frame)):
                    due = start + n * 0.1 / args.audio_speed
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    await socket.send(pcm[at : at + frame])
                await socket.send("/end")
                await socket.recv()

        reached = await _session(target, keys, "audio", origin, stream)
        requests = len(fake.requests)
        await close_speech(ears.speech)

    audio_ms = [(reached[h.entries[-1]] - h.ready_at) * 1000 for h in heard
                if h.entries and h.entries[-1] in reached]  # fmt: skip
    sent: dict[str, float] = {}

    async def transcript() -> None:
        start, first = time.perf_counter(), heard[0].ready_at if heard else 0.0
        for i, h in enumerate(heard):
            await asyncio.sleep(max(0.0, start + h.ready_at - first - time.perf_counter()))
            t = time.perf_counter()
            sent[await add_segment(feeder, keys, "base", _said(i))] = t
        await add_segment(feeder, keys, "base", Segment(kind="end"))

    try:
        base_reached = await _session(target, keys, "base", origin, transcript)
        leftovers = [key async for key in feeder.scan_iter(f"{keys.namespace}:*")]
        if leftovers:
            await feeder.delete(*leftovers)
    finally:
        await feeder.aclose()
    base_ms = [(base_reached[e] - t) * 1000 for e, t in sent.items() if e in base_reached]
    stats, base = _figures(audio_ms), _figures(base_ms)
    result: dict[str, Any] = {
        "path": "WebSocket PCM frames -> windows -> fake STT (openai SDK) -> stream -> triggers",
        "window_s": args.audio_window,
        "overlap_s": args.audio_overlap,
        "speed_x_real_time": args.audio_speed,
        "windows_sent_to_stt": requests,
        "windows_timed": len(audio_ms),
        "segment_latency": stats,
        "baseline_transcript_xadd_to_triggers": base,
        "ratio_p50": round(stats["p50_ms"] / base["p50_ms"], 3) if base["p50_ms"] else None,
        "target_audio_p99_ms": AUDIO_P99_MS.of(args),
    }
    checks = [
        Check("audio.segment_latency.p99_ms", stats["p99_ms"], AUDIO_P99_MS.of(args)),
        Check("audio.windows_timed", len(audio_ms), args.audio_windows, at_most=False),
    ]
    return result, checks


def _said(i: int) -> Segment:
    return Segment(text=SAID[i % len(SAID)], speaker="them")


def _figures(ms: list[float]) -> dict[str, float]:
    return latency(ms, (50, 99), maximum=True, digits=3)
