"""What the crew is doing, read from Redis: streams, backlog, dead letters, open questions.

In a farm, ``read_farm_status`` gives one line per crew, each from a few commands on that
crew's own keys (never a scan), so it costs the same per crew however much they hold.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import ResponseError

from equipage.approvals import Approval, Approvals
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys
from equipage.supervise import LoopHealth

if TYPE_CHECKING:
    from equipage.farm import Registry

__all__ = [
    "CrewStatus",
    "DeadLetter",
    "StatusReport",
    "StreamStatus",
    "backlog",
    "live_workers",
    "loop_health",
    "read_farm_status",
    "read_status",
]

_LIVE_FOR = 10.0  # seconds since a worker's last heartbeat for it to count as alive


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamStatus(_Model):
    role: str
    length: int
    pending: int
    undelivered: int


class DeadLetter(_Model):
    entry: str
    error: str
    attempts: int
    summary: str


class Progress(_Model):
    """The latest step a workflow run reported."""

    workflow: str
    thread: str
    detail: str
    at: float


class StatusReport(_Model):
    company: str
    streams: tuple[StreamStatus, ...]
    outbox_length: int
    dead: tuple[DeadLetter, ...]
    dead_total: int
    waiting: tuple[Approval, ...]
    workers: tuple[str, ...]
    events: dict[str, int]
    progress: tuple[Progress, ...] = ()
    #: Every supervised loop of every running process (``equipage.supervise``).
    loops: tuple[LoopHealth, ...] = ()


async def _stream(redis: aioredis.Redis, stream: str, role: str) -> StreamStatus:
    length = int(await redis.xlen(stream))
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return StreamStatus(role=role, length=0, pending=0, undelivered=0)
    group = next(
        (g for g in groups if g["name"] in (CONSUMER_GROUP, CONSUMER_GROUP.encode())), None
    )
    if group is None:
        return StreamStatus(role=role, length=length, pending=0, undelivered=length)
    last = group["last-delivered-id"]
    last = last.decode() if isinstance(last, bytes) else str(last)
    # Redis 6.2 has no "lag" field: count the entries after the last delivered one.
    after: Any = await redis.xrange(stream, min=f"({last}", max="+", count=1000)
    return StreamStatus(
        role=role, length=length, pending=int(group["pending"]), undelivered=len(after)
    )


async def backlog(redis: aioredis.Redis, keys: Keys, roles: list[str]) -> int:
    """Envelopes not yet handled and acknowledged, across the given roles' inboxes."""
    total = 0
    for role in roles:
        status = await _stream(redis, keys.inbox(role), role)
        total += status.pending + status.undelivered
    return total


async def live_workers(redis: aioredis.Redis, keys: Keys) -> list[str]:
    raw = await redis.zrangebyscore(keys.workers, time.time() - _LIVE_FOR, "+inf")
    return [r.decode() if isinstance(r, bytes) else str(r) for r in raw]


async def loop_health(redis: aioredis.Redis, keys: Keys | FarmKeys) -> list[LoopHealth]:
    """The loops of every process that wrote its health lately, by process and name."""
    found: list[LoopHealth] = []
    async for key in redis.scan_iter(match=keys.health_match, count=100):
        fields: Any = await redis.hgetall(key)
        for raw in fields.values():
            # A process of another Equipage version may write other fields: not fatal here.
            with contextlib.suppress(ValidationError):
                found.append(LoopHealth.model_validate_json(raw))
    return sorted(found, key=lambda h: (h.process, h.name))


async def read_status(redis: aioredis.Redis, keys: Keys, roles: list[str]) -> StatusReport:
    streams = tuple([await _stream(redis, keys.inbox(role), role) for role in roles])
    dead_entries: Any = await redis.xrevrange(keys.dead, count=5)
    dead = []
    for entry_id, fields in dead_entries:
        env = fields.get(b"env", b"")
        try:
            parsed = json.loads(env)
            summary = f"{parsed.get('kind')} {parsed.get('sender')} -> {parsed.get('to')}"
        except ValueError:
            summary = env[:60].decode(errors="replace")
        dead.append(
            DeadLetter(
                entry=entry_id.decode(),
                error=fields.get(b"error", b"").decode(errors="replace"),
                attempts=int(fields.get(b"attempts", b"0")),
                summary=summary,
            )
        )
    counts: Counter[str] = Counter()
    events: Any = await redis.xrevrange(keys.events, count=2000)
    latest: dict[tuple[str, str], Progress] = {}
    for _, fields in events:
        event = json.loads(fields[b"event"])
        counts[event["type"]] += 1
        key = (event.get("sender", ""), event.get("thread", ""))
        if event["type"] == "progress" and key not in latest:  # newest first
            latest[key] = Progress(
                workflow=key[0], thread=key[1], detail=event.get("detail", ""), at=event["at"]
            )
    return StatusReport(
        company=keys.company,
        streams=streams,
        outbox_length=int(await redis.xlen(keys.outbox)),
        dead=tuple(dead),
        dead_total=int(await redis.xlen(keys.dead)),
        waiting=tuple(await Approvals(redis, keys).all()),
        workers=tuple(await live_workers(redis, keys)),
        events=dict(counts),
        progress=tuple(sorted(latest.values(), key=lambda p: -p.at)[:5]),
        loops=tuple(await loop_health(redis, keys)),
    )


class CrewStatus(_Model):
    """One crew of a farm at a glance."""

    name: str
    state: str
    owner: str
    template: str
    queued: int  # envelopes in its inboxes not yet handled (unread and pending)
    questions: int  # open questions waiting on a person


async def _queued(redis: aioredis.Redis, stream: str) -> int:
    """Unread plus pending entries of one inbox, from XINFO alone (no range read)."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return 0
    group = next(
        (g for g in groups if g["name"] in (CONSUMER_GROUP, CONSUMER_GROUP.encode())), None
    )
    if group is None:
        return int(await redis.xlen(stream))
    lag = group.get("lag")
    # Redis 6.2 has no lag, and 7 leaves it out when it cannot tell: count what is left.
    unread = int(lag) if lag is not None else int(await redis.xlen(stream))
    return unread + int(group["pending"])


async def read_farm_status(
    registry: Registry, roles_of: Callable[[str], Sequence[str]]
) -> list[CrewStatus]:
    """Each crew of the farm: state, owner, template, queued work and open questions.

    ``roles_of`` names a crew's roles (from its config), whose inboxes are counted.
    """
    found = []
    for crew in await registry.crews():
        keys = Keys(crew.name, registry.keys.namespace)
        queued = 0
        for role in roles_of(crew.name):
            queued += await _queued(registry.redis, keys.inbox(role))
        found.append(
            CrewStatus(
                name=crew.name,
                state=crew.state.value,
                owner=str(crew.owner),
                template=crew.template,
                queued=queued,
                questions=int(await registry.redis.hlen(keys.approvals)),
            )
        )
    return found
