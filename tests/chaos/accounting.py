"""Account for every envelope the harness published, from what Redis holds at the end.

Each acknowledged envelope is answered once, answered twice, dead-lettered, still
pending, or lost; each thread's history (from the checkpointer) shows whether a turn was
applied twice, out of publish order, or left a tool call without its result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from equipage.agent import thread_id
from equipage.config import CompanyConfig
from equipage.crew import build_crew
from equipage.entries import text
from equipage.envelope import Envelope
from equipage.farm.sweep import Sweep
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys, thread_key
from equipage.llm.base import ChatModel
from equipage.llm.messages import INTERRUPTED, Message
from equipage.runtime import ThreadRunner
from tests.chaos.worker_proc import FOUNDER, ChaosModel, company, token_of

__all__ = ["Sent", "Tally", "account"]

_EXAMPLES = 5
#: A write acknowledged this long before the server was SIGKILLed may not have reached
#: the disk (appendfsync everysec): its loss is counted apart.
FSYNC_WINDOW = 1.0


@dataclass(frozen=True)
class Sent:
    """One acknowledged publish: its token, thread, place in the thread, and when."""

    token: str
    thread: str
    seq: int
    envelope: str
    acked_at: float  # wall clock (time.time) when publish returned
    crew: str = ""  # the crew whose inbox it went to


class Tally(BaseModel):
    """What became of the envelopes; every count but the informational ones should be 0."""

    acknowledged: int = 0
    answered_once: int = 0
    answered_twice: int = 0
    lost: int = 0
    lost_to_fsync: int = 0
    # Lost, and acknowledged inside a window the write settings allow to lose (a failover
    # run's: the replication lag before a master's SIGKILL, or the fsync second of an AOF).
    lost_in_window: int = 0
    dead_letters: int = 0
    pending: int = 0
    turn_applied_twice: int = 0
    out_of_order: int = 0  # threads whose history has tokens out of publish order
    orphan_tool_calls: int = 0
    answered_without_turn: int = 0  # a reply went out, the turn is not in the history
    unfinished_runs: int = 0  # threads whose last run stopped short
    # Informational: the founder was told of a failure; a call cut short was reported so.
    delegated: int = 0  # messages the ceo handed to the cto (their briefs and results)
    failure_notices: int = 0
    interrupted_results: int = 0
    stray_replies: int = 0  # outbox entries that are neither an answer nor a notice
    examples: dict[str, list[str]] = Field(default_factory=dict)

    def note(self, what: str, example: str) -> None:
        shown = self.examples.setdefault(what, [])
        if len(shown) < _EXAMPLES:
            shown.append(example)


async def entries(
    redis: aioredis.Redis, stream: str, after: str = "-"
) -> AsyncIterator[tuple[str, Envelope | None]]:
    """Every entry of ``stream`` after ``after`` (an id, or "-"), in chunks: (id, envelope)."""
    start = after if after == "-" else f"({after}"
    while True:
        batch: Any = await redis.xrange(stream, min=start, max="+", count=1000)
        if not batch:
            return
        for entry_id, fields in batch:
            raw = fields.get(b"env")
            yield entry_id.decode(), Envelope.decode(raw) if raw else None
        start = f"({batch[-1][0].decode()}"


async def account(
    redis: aioredis.Redis,
    keys: Keys,
    sent: list[Sent],
    redis_kills: list[float],
    config: CompanyConfig | None = None,
    in_window: Callable[[Sent], bool] | None = None,
) -> Tally:
    """``config``: the crew's (a farm crew's); by default the single-crew run's.
    ``in_window``: True for a write the run's faults may lose (``lost_in_window``)."""
    config = config or company()
    tally = Tally(acknowledged=len(sent))
    replies: Counter[str] = Counter()
    async for _, envelope in entries(redis, keys.outbox):
        if envelope is None:
            tally.stray_replies += 1
        elif envelope.sender == "equipage":
            tally.failure_notices += 1
            tally.note("failure_notices", envelope.text[:200])
        elif envelope.text.startswith("done: ") and (token := token_of(envelope.text)):
            replies[token] += 1
        else:
            tally.stray_replies += 1
            tally.note("stray_replies", f"{envelope.sender}: {envelope.text[:200]}")
    dead: set[str] = set()  # tokens: the founder's message, or its brief or result
    async for _, envelope in entries(redis, keys.dead):
        if envelope is not None:
            dead.add(token_of(envelope.text))
    waiting: dict[str, str] = {}
    for role in config.roles:
        waiting |= await unsettled(redis, keys, keys.inbox(role))
    for item in sent:
        count = replies[item.token]
        if count == 1:
            tally.answered_once += 1
        elif count > 1:
            tally.answered_twice += 1
            tally.note("answered_twice", f"{item.token} x{count}")
        elif item.token in dead:
            tally.dead_letters += 1
            tally.note("dead_letters", item.token)
        elif item.token in waiting:
            tally.pending += 1
            tally.note("pending", f"{item.token} ({waiting[item.token]})")
        elif in_window is not None and in_window(item):
            tally.lost_in_window += 1
            tally.note("lost_in_window", f"{item.token} ({item.crew or item.thread})")
        elif any(0 <= kill - item.acked_at <= FSYNC_WINDOW for kill in redis_kills):
            tally.lost_to_fsync += 1
            tally.note("lost_to_fsync", item.token)
        else:
            tally.lost += 1
            tally.note("lost", f"{item.token} ({item.thread})")
    await _histories(redis, keys, sent, replies, tally, config)
    return tally


async def unsettled(redis: aioredis.Redis, keys: Keys, stream: str) -> dict[str, str]:
    """Tokens of ``stream``'s entries that are pending or not yet read (a founder's
    message, a brief or a result: the token's answer is still on its way), each with what
    holds it: its reader and idle time, its thread's lease and order, the crew's run slots."""
    pending: Any = await redis.xpending_range(stream, CONSUMER_GROUP, "-", "+", 1_000_000)
    by_id = {p["message_id"].decode(): p for p in pending}
    groups: Any = await redis.xinfo_groups(stream)
    group = next(g for g in groups if g["name"].decode() == CONSUMER_GROUP)
    last = _id(group["last-delivered-id"].decode())
    out: dict[str, str] = {}
    async for entry_id, envelope in entries(redis, stream):
        if envelope is not None and (entry_id in by_id or _id(entry_id) > last):
            out[token_of(envelope.text)] = await _why_waiting(
                redis, keys, envelope, entry_id, by_id.get(entry_id)
            )
    return out


async def _why_waiting(
    redis: aioredis.Redis, keys: Keys, envelope: Envelope, entry_id: str, pending: Any
) -> str:
    thread = thread_key(envelope.to, envelope.thread)
    lease = await redis.get(keys.lock(thread))
    ttl = await redis.pttl(keys.lock(thread))
    head = await redis.lindex(keys.order(thread), 0)
    now_s, now_us = await redis.time()
    now_ms = now_s * 1000 + now_us // 1000
    held: Any = await redis.zrange(keys.runs, 0, -1, withscores=True)
    slots = [f"{text(m)} lapses in {int(score) - now_ms} ms" for m, score in held]
    read = (
        f"pending on {pending['consumer'].decode()}, idle {pending['time_since_delivered']} ms,"
        f" delivered {pending['times_delivered']}x"
        if pending
        else "unread"
    )
    looked = await Sweep(redis, keys.namespace).look(keys.company)
    groups: Any = await redis.xinfo_groups(keys.inbox(envelope.to))
    busy = await redis.zscore(FarmKeys(keys.namespace).busy, keys.company)
    listed: Any = await redis.smembers(keys.streams)
    return (
        f"busy mark {busy}; the sweep would find {looked}; groups {groups};"
        f" streams listed {sorted(text(x) for x in listed)}; "
        f"entry {entry_id} {read}; lease {lease!r} ttl {ttl} ms; order head {head!r};"
        f" run slots {slots}; wanted {await redis.exists(keys.runs_wanted)};"
        f" paused {await redis.exists(keys.paused)}"
    )


async def _histories(
    redis: aioredis.Redis,
    keys: Keys,
    sent: list[Sent],
    replies: Counter[str],
    tally: Tally,
    crew_config: CompanyConfig,
) -> None:
    models: dict[str, str | ChatModel] = {role: ChaosModel() for role in crew_config.roles}
    crew = build_crew(crew_config, redis, keys, models=models)
    runner, cto = crew.handlers["ceo"], crew.handlers["cto"]
    assert isinstance(runner, ThreadRunner) and isinstance(cto, ThreadRunner)
    order: dict[str, int] = {}
    threads: dict[str, list[Sent]] = defaultdict(list)
    for item in sent:
        order[item.token] = item.seq
        threads[item.thread].append(item)
    for thread, items in sorted(threads.items()):
        config: RunnableConfig = {"configurable": {"thread_id": thread_id("ceo", thread)}}
        snapshot = await runner.graph.aget_state(config)
        history: list[Message] = list(snapshot.values.get("messages") or [])
        if snapshot.next or snapshot.tasks:
            tally.unfinished_runs += 1
            tally.note("unfinished_runs", f"{thread} next={list(snapshot.next)}")
        said = [m for m in history if m.role == "user" and m.name == FOUNDER]
        turns = [t for m in said if (t := token_of(m.content))]
        applied = Counter(turns)
        for token, count in applied.items():
            if count > 1:
                tally.turn_applied_twice += 1
                tally.note("turn_applied_twice", f"{token} x{count} in {thread}")
        seen = [order[t] for t in dict.fromkeys(turns) if t in order]
        if seen != sorted(seen):
            tally.out_of_order += 1
            tally.note("out_of_order", f"{thread}: {list(dict.fromkeys(turns))}")
        for item in items:
            if replies[item.token] and item.token not in applied:
                tally.answered_without_turn += 1
                tally.note("answered_without_turn", f"{item.token} ({thread})")
        _calls(history, thread, tally)
        for call in (c for m in history for c in m.tool_calls if c.name == "delegate"):
            tally.delegated += 1
            await _delegated(cto, f"{thread}/cto/{call.id}", tally)


async def _delegated(cto: ThreadRunner, thread: str, tally: Tally) -> None:
    """The cto's thread of one delegation: its one brief applied once, its calls answered."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id("cto", thread)}}
    snapshot = await cto.graph.aget_state(config)
    history: list[Message] = list(snapshot.values.get("messages") or [])
    briefs = [m for m in history if m.role == "user"]
    if len(briefs) > 1:
        tally.turn_applied_twice += 1
        tally.note("turn_applied_twice", f"brief x{len(briefs)} in cto:{thread}")
    if snapshot.next or snapshot.tasks:
        tally.unfinished_runs += 1
        tally.note("unfinished_runs", f"cto:{thread} next={list(snapshot.next)}")
    _calls(history, f"cto:{thread}", tally)


def _calls(history: list[Message], thread: str, tally: Tally) -> None:
    """Count tool calls without a result, and results that say their call was cut short."""
    results = {m.tool_call_id for m in history if m.role == "tool"}
    for message in history:
        if message.role == "tool" and message.content == INTERRUPTED:
            tally.interrupted_results += 1
            tally.note("interrupted_results", f"{message.tool_call_id} in {thread}")
        for call in message.tool_calls:
            if call.id not in results:
                tally.orphan_tool_calls += 1
                tally.note("orphan_tool_calls", f"{call.name} {call.id} in {thread}")


def _id(entry: str) -> tuple[int, int]:
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq or 0)
