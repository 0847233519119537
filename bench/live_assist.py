"""Latency of live suggestions: a segment's XADD to its suggestion on the outbox, model excluded.

A ``live_assist`` session follows a French and English sales conversation fed at
``--rate`` segments a second on an embedded Redis, with a model that takes a fixed time
per call. Each suggestion is timed from just before its segment's XADD to the moment a
reader blocked on the outbox sees it; the time the model spent in that span is taken
out, so what is left is the framework's. Every segment is also timed to the commit of its
step (cursor, context, rate limit). The baseline, measured in the same run at the same
rate on the same server, is a raw XADD of the same fields seen by a blocked XREAD.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.config import Profile
from equipage.connection import RedisTarget, connect, open_target
from equipage.envelope import Envelope, Origin
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, ToolSpec
from equipage.memory import Memory
from equipage.workflow import WorkflowContext
from workflows.live_assist import Audience, LiveInput, Segment, Session, add_segment
from workflows.live_assist.segments import Entry
from workflows.live_assist.session import suggestion_id

TARGET_P99_MS = 100.0
SESSION = "bench"
CONVERSATION: tuple[tuple[str, str], ...] = (
    ("Client", "Bonjour, merci d'avoir pris le temps pour cet appel."),
    ("moi", "Avec plaisir. Je vous présente rapidement notre offre."),
    ("Client", "Alors, vos serveurs sont hébergés où exactement ?"),
    ("moi", "En France, dans deux centres de données."),
    ("Client", "D'accord. Honnêtement, ça me paraît trop cher pour une PME."),
    ("Client", "Et puis on a déjà un prestataire pour la sauvegarde."),
    ("moi", "Je comprends, c'est une question fréquente."),
    ("Client", "Combien de temps prend une migration en général ?"),
    ("Client", "Je dois en parler à ma direction avant de décider."),
    ("Client", "We already use another vendor for our backups, to be honest."),
    ("Client", "How do you handle GDPR and data residency?"),
    ("moi", "Good question, let me explain how we work."),
    ("Client", "That sounds too expensive for our budget this year."),
    ("Client", "Not a priority right now, maybe next year."),
    ("Client", "Is there a free trial we could start with?"),
)
FACTS = (
    "Nos serveurs sont hébergés en France, certifiés HDS et SecNumCloud.",
    "Data stays in the EU; our GDPR data processing agreement is signed in two days.",
    "A typical migration takes three weeks, with a one-week pilot first.",
    "The free trial lasts 30 days with no credit card.",
)


class TimedModel:
    """A model that answers after a fixed delay and records when each call ran."""

    name = "bench-model"

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.spans: list[tuple[float, float]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        start = time.perf_counter()
        await asyncio.sleep(self.latency)
        self.spans.append((start, time.perf_counter()))
        return Completion(content="Demandez ce que coûte le problème actuel.", model=self.name)

    def time_within(self, start: float, end: float) -> float:
        """Seconds of model calls inside [start, end]."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.spans)


class _TimedSession(Session):
    """A Session that notes when each segment's step was committed."""

    stepped: dict[str, float]

    async def handle(self, entry: Entry) -> None:
        await super().handle(entry)
        self.stepped[entry.entry_id] = time.perf_counter()


async def _watch(
    redis: aioredis.Redis, stream: str, seen: dict[str, float], stop: asyncio.Event, field: str
) -> None:
    """Block on XREAD and note when each entry shows up, by envelope id or entry id."""
    last = "$"
    while not stop.is_set():
        reply: Any = await redis.xread({stream: last}, block=200, count=100)
        now = time.perf_counter()
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                if field == "env":
                    seen[Envelope.decode(fields[b"env"]).id] = now
                else:
                    seen[entry_id.decode()] = now


async def _measure(target: RedisTarget, args: argparse.Namespace) -> dict[str, object]:
    keys = Keys("bench", namespace=f"bench{uuid.uuid4().hex[:8]}")
    redis, watcher, feeder = connect(target), connect(target), connect(target)
    model = TimedModel(args.model_latency)
    ctx = WorkflowContext(
        company="bench",
        redis=redis,
        keys=keys,
        model=model,
        profile=Profile(sells="hébergement cloud souverain", languages=("fr", "en")),
        files=Path(tempfile.gettempdir()),
        name="live_assist",
    )
    memory = Memory(redis, keys)
    for fact in FACTS:
        await memory.remember(fact, by="bench")
    params = LiveInput(session=SESSION, interval=args.interval, idle_timeout=60)
    origin = Origin(channel="console", chat="bench", member="bench")
    session = _TimedSession(
        ctx,
        params,
        session=SESSION,
        run="bench-run",
        audience=Audience(origin=origin, thread="bench"),
    )
    session.stepped = {}
    baseline_stream = keys.live_segments("baseline")  # a stream nobody follows
    outbox_seen: dict[str, float] = {}
    baseline_seen: dict[str, float] = {}
    added: dict[str, float] = {}
    baseline_added: dict[str, float] = {}
    stop = asyncio.Event()
    watchers = [
        asyncio.create_task(_watch(watcher, keys.outbox, outbox_seen, stop, "env")),
        asyncio.create_task(_watch(watcher, baseline_stream, baseline_seen, stop, "id")),
    ]
    listening = asyncio.create_task(session.run())
    total = max(int(args.seconds * args.rate), 1)
    try:
        async with asyncio.timeout(args.seconds + 60):
            await asyncio.sleep(0.2)  # the XREADs are blocked before the first segment
            start = time.perf_counter()
            for i in range(total):
                # Open loop: each segment leaves on schedule, whatever the assistant does.
                await asyncio.sleep(max(0.0, start + i / args.rate - time.perf_counter()))
                speaker, text = CONVERSATION[i % len(CONVERSATION)]
                ask = i % args.ask_every == args.ask_every - 1
                segment = (
                    Segment(kind="ask", speaker="moi")
                    if ask
                    else Segment(speaker=speaker, text=text)
                )
                t = time.perf_counter()
                added[await add_segment(feeder, keys, SESSION, segment)] = t
                t = time.perf_counter()
                raw = await feeder.xadd(
                    baseline_stream, {k: v for k, v in segment.fields().items()}
                )
                baseline_added[raw.decode() if isinstance(raw, bytes) else str(raw)] = t
            await add_segment(feeder, keys, SESSION, Segment(kind="end"))
            output = await listening
            await asyncio.sleep(0.3)  # the outbox watcher sees the last suggestion
        info = await redis.info("server")
    finally:
        stop.set()
        await asyncio.gather(*watchers, return_exceptions=True)
        leftovers = [key async for key in redis.scan_iter(f"{keys.namespace}:*")]
        if leftovers:
            await redis.delete(*leftovers)
        for client in (redis, watcher, feeder):
            await client.aclose()

    suggestion_ms = []
    for entry, t_add in added.items():
        seen = outbox_seen.get(suggestion_id(SESSION, entry))
        if seen is not None:
            suggestion_ms.append((seen - t_add - model.time_within(t_add, seen)) * 1000)
    step_ms = [
        (session.stepped[e] - t - model.time_within(t, session.stepped[e])) * 1000
        for e, t in added.items()
        if e in session.stepped
    ]
    hop_ms = [
        (baseline_seen[e] - t) * 1000 for e, t in baseline_added.items() if e in baseline_seen
    ]
    stats = _stats(suggestion_ms)
    baseline = _stats(hop_ms)
    where = "url" if args.redis_url else "embedded"
    return {
        "benchmark": "live_assist",
        "server": f"redis {info['redis_version']} {where}",
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "interval_s": args.interval,
        "model_latency_s": args.model_latency,
        "segments": total,
        "segments_taken": output.segments,
        "suggestions": output.suggestions,
        "suggestions_timed": len(suggestion_ms),
        "by_kind": output.by_kind,
        "asked": output.asked,
        "dropped_rate_limit": output.dropped,
        "model_calls": len(model.spans),
        "suggestion_latency": stats,
        "segment_step_latency": _stats(step_ms),
        "baseline_xadd_xread": baseline,
        "ratio_p50": round(stats["p50_ms"] / baseline["p50_ms"], 3) if baseline["p50_ms"] else None,
        "target_p99_ms": TARGET_P99_MS,
        "ok": bool(suggestion_ms) and stats["p99_ms"] <= TARGET_P99_MS,
    }


def _stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0}
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    stats = {
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }
    return {name: round(value, 3) for name, value in stats.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="how long to feed segments")
    parser.add_argument("--rate", type=float, default=5.0, help="segments a second")
    parser.add_argument("--interval", type=float, default=1.0, help="rate limit, seconds")
    parser.add_argument("--ask-every", type=int, default=15, help="a /suggest every N segments")
    parser.add_argument("--model-latency", type=float, default=0.3, help="seconds per call")
    parser.add_argument("--redis-url", help="use this server instead of an embedded one")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, open_target(args.redis_url, Path(tmp)) as target:
        result = asyncio.run(_measure(target, args))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text, flush=True)
    if args.out:
        args.out.write_text(text + "\n")
    verdict = "ok" if result["ok"] else "ABOVE TARGET"
    latency: Any = result["suggestion_latency"]
    print(
        f"live_assist {verdict}: p99 {latency['p99_ms']} ms, target {TARGET_P99_MS} ms",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
