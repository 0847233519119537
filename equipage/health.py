"""What a process tells its orchestrator: ``/healthz``, ``/readyz``, ``/metrics/lag`` and
``/metrics``.

``/healthz`` answers 200 while the process serves HTTP at all (a liveness probe: restart it
when it stops answering). ``/readyz`` answers 200 only when Redis answers and the consumer
groups the process reads exist (a readiness probe: send it no traffic until then), else 503
with a one-line reason that names no host, URL or password. ``/metrics/lag`` is the work
waiting for workers, summed over the streams they read: each stream's consumer-group ``lag``
(``XINFO GROUPS``, Redis >= 7 or Valkey) plus its pending entries, so an autoscaler (KEDA's
``metrics-api`` trigger, ``deploy/helm``) adds workers when it grows and may stop them all
when it is zero. ``/metrics`` is the Prometheus exposition of ``equipage.metrics``, with
the same lag per crew and role.

The routes join the webhook server when the process has one; ``EQUIPAGE_HEALTH_PORT``
(``Settings.health_port``) serves them on a port of their own, on every interface, for a
process with no webhooks (a worker pod, a gateway whose platforms poll).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError, ResponseError

from equipage.channelsetup import serve_webhooks
from equipage.company.platforms import WebConfig
from equipage.farm.wake import OUT, POOL_GROUP, WORK
from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, FarmKeys, Keys
from equipage.metrics import StreamLag, inbox_role, metrics_route
from equipage.supervise import Loop

__all__ = [
    "HEALTH_HOST",
    "LAG_PATH",
    "LIVENESS_PATH",
    "READINESS_PATH",
    "Inbox",
    "Lag",
    "Watch",
    "crew_watch",
    "farm_watch",
    "health_routes",
    "lag_by_inbox",
    "measure_lag",
    "readiness",
    "web_loops",
]

#: The routes, as deploy/ (probes, KEDA's trigger) names them.
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
LAG_PATH = "/metrics/lag"
#: Probes come from the kubelet or the container engine, not from this host's loopback.
HEALTH_HOST = "0.0.0.0"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: A probe answers within this many seconds, whatever Redis does (the kubelet's default
#: probe timeout is 1 s; ours is set to 3 s in the chart).
PROBE_TIMEOUT = 2.0
# Where a server cannot tell the lag (entries deleted past the group's last read), the
# entries after that read are counted, up to this many: enough to say "scale up".
_COUNT_AT_MOST = 10_000


class Lag(BaseModel):
    """The work waiting for the workers; ``total`` is what an autoscaler scales on."""

    total: int
    #: Entries no worker has read yet.
    lag: int
    #: Entries read by a worker and not yet acknowledged (being handled, or left by a crash).
    pending: int
    streams: int


class Inbox(NamedTuple):
    """A stream the workers read, and the crew and role it serves (labels of ``/metrics``)."""

    crew: str
    role: str
    stream: str


@dataclass(frozen=True)
class Watch:
    """What one process answers for: the groups that must exist, the streams workers read."""

    redis: aioredis.Redis
    #: (stream, consumer group) pairs that must exist for the process to be ready.
    groups: Sequence[tuple[str, str]]
    #: The streams read by the workers' group, found when asked (a farm's change).
    work: Callable[[], Awaitable[list[Inbox]]]
    #: The consumer group of the workers on the ``work`` streams.
    group: str = CONSUMER_GROUP


def crew_watch(redis: aioredis.Redis, keys: Keys, inboxes: Sequence[str]) -> Watch:
    """One crew (``equipage up``): its inboxes read by the workers, its outbox by gateways."""
    streams = [Inbox(keys.company, inbox, keys.inbox(inbox)) for inbox in inboxes]

    async def work() -> list[Inbox]:
        return streams

    groups = [(s.stream, CONSUMER_GROUP) for s in streams] + [(keys.outbox, GATEWAY_GROUP)]
    return Watch(redis, groups, work)


def farm_watch(redis: aioredis.Redis, namespace: str, shards: int) -> Watch:
    """A farm (``equipage farm up``): the pool's wake-up streams must have its group; the
    work is in the inboxes of the crews marked busy (an idle crew costs no look-up)."""
    farm = FarmKeys(namespace)
    groups = [
        (farm.wake(what, shard), POOL_GROUP) for what in (WORK, OUT) for shard in range(shards)
    ]

    async def work() -> list[Inbox]:
        streams: list[Inbox] = []
        busy: Any = await redis.zrange(farm.busy, 0, -1)
        for crew in busy:
            keys = Keys(_text(crew), namespace)
            streams += sorted(
                Inbox(keys.company, inbox_role(keys, name) or "other", name)
                for s in await redis.smembers(keys.streams)
                if (name := _text(s)) != keys.outbox
            )
        return streams

    return Watch(redis, groups, work)


async def readiness(watch: Watch) -> str | None:
    """None when Redis answers and every group exists; else why not, in one line."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await watch.redis.ping()
            for stream, group in watch.groups:
                if await _group(watch.redis, stream, group) is None:
                    return f"consumer group {group!r} missing on stream {stream}"
    except (TimeoutError, RedisError, OSError) as err:
        return _why(err)
    return None


def _why(err: Exception) -> str:
    if isinstance(err, TimeoutError):
        return f"redis did not answer within {PROBE_TIMEOUT:g} s"
    # The class only: a connection error's text can quote the host and port.
    return f"redis unreachable ({type(err).__name__})"


async def measure_lag(watch: Watch) -> Lag:
    """The lag and pending entries of the workers' group, summed over the work streams."""
    each = await lag_by_inbox(watch)
    lag = sum(one.lag for one in each)
    pending = sum(one.pending for one in each)
    return Lag(total=lag + pending, lag=lag, pending=pending, streams=len(each))


async def lag_by_inbox(watch: Watch) -> list[StreamLag]:
    """The lag and pending entries of the workers' group on each work stream."""
    return [
        StreamLag(inbox.crew, inbox.role, *await _stream_lag(watch, inbox.stream))
        for inbox in await watch.work()
    ]


async def _stream_lag(watch: Watch, stream: str) -> tuple[int, int]:
    info = await _group(watch.redis, stream, watch.group)
    if info is None:
        # No group yet (a farm crew never loaded): every entry is waiting.
        return int(await watch.redis.xlen(stream)), 0
    pending = int(info["pending"])
    if info.get("lag") is not None:
        return int(info["lag"]), pending
    after = b"(" + _bytes(info["last-delivered-id"])
    return len(await watch.redis.xrange(stream, after, "+", count=_COUNT_AT_MOST) or []), pending


async def _group(redis: aioredis.Redis, stream: str, group: str) -> dict[str, Any] | None:
    """``XINFO GROUPS`` of ``group`` on ``stream`` (keys as text), or None if it is not there."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError as err:
        if "no such key" in str(err).lower():
            return None
        raise
    for entry in groups:
        info = {_text(key): value for key, value in entry.items()}
        if _text(info["name"]) == group:
            return info
    return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def health_routes(watch: Watch, *, metrics: bool = True) -> list[Any]:
    """The probes' Starlette routes, and ``/metrics`` unless ``metrics`` is False; none
    touches anything but ``watch``."""
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def healthz(request: Any) -> Any:
        return JSONResponse({"status": "up"})

    async def readyz(request: Any) -> Any:
        reason = await readiness(watch)
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)

    async def lag(request: Any) -> Any:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                measured = await measure_lag(watch)
        except (TimeoutError, RedisError, OSError) as err:
            return JSONResponse({"reason": _why(err)}, status_code=503)
        return JSONResponse(measured.model_dump())

    async def each_lag() -> list[StreamLag] | None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                return await lag_by_inbox(watch)
        except (TimeoutError, RedisError, OSError):
            return None  # the process's own counters are still worth a scrape

    routes = [
        Route(LIVENESS_PATH, healthz, methods=["GET"]),
        Route(READINESS_PATH, readyz, methods=["GET"]),
        Route(LAG_PATH, lag, methods=["GET"]),
    ]
    return [*routes, metrics_route(each_lag)] if metrics else routes


def web_loops(
    routes: list[Any], web: WebConfig, health_port: int | None, watch: Watch
) -> list[tuple[str, Loop]]:
    """The web servers of a process, as supervised loops: the webhooks with the probes
    beside them, and the probes on ``health_port`` when it is set (and is not the same).

    ``/metrics`` (crews, roles, models, spend: an operator's business) is served on the
    health port, and beside the webhooks only when they listen on loopback: webhooks on
    every interface are what the platforms, and so anyone, can reach.
    """
    loops: list[tuple[str, Loop]] = []
    if routes:
        served = [*routes, *health_routes(watch, metrics=web.host in _LOOPBACK)]
        loops.append(("webhooks", partial(serve_webhooks, served, web.host, web.port)))
    if health_port is not None and not (routes and health_port == web.port):
        probes = health_routes(watch)
        loops.append(("health", partial(serve_webhooks, probes, HEALTH_HOST, health_port)))
    return loops
