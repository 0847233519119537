"""The web console under load: page p99 with 10,000 threads stored, and 50 live browsers.

A crew's console (``equipage.web.serve.console_server``) is served on 127.0.0.1 over an
embedded Valkey (or ``--redis-url``), with ``--threads`` conversations checkpointed by the
``RedisSaver`` the pages read (written concurrently, pipelined by the client's pool) and
``--events`` events on the stream. The owner, logged in by a session cookie, loads the
threads list and one conversation's timeline ``--requests`` times each, one after the
other over keep-alive HTTP; the baseline, measured in the same run, is the login page
(the same server, router and templates, nothing read from Redis).

Then ``--browsers`` SSE clients follow the overview's live stream while events are
emitted at ``--rate`` a second; each delivery is timed from just before its event's XADD
to the moment a client reads its ``data:`` line. The baseline is a raw blocked XREAD
of the same stream seeing the same XADD. Passes when both pages' p99 is at most 100 ms
and the live events' p99 at most 250 ms, with every event delivered to every browser.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from _stats import add_redis_and_out, latency, with_redis
from _verdict import Check, Target, add_targets, finish
from langgraph.checkpoint.base import empty_checkpoint

from equipage import (
    Bus,
    CompanyConfig,
    Event,
    EventType,
    Keys,
    Message,
    Origin,
    RedisSaver,
    RedisTarget,
    ToolCall,
    connect,
    serializer,
)
from equipage.testing import wait_until
from equipage.web import COOKIE, Console, Served, console_server, start_session

PAGE_P99_MS = Target("page_p99_ms", 100.0, "highest p99 of a page (threads list, timeline), ms")
LIVE_P99_MS = Target("live_p99_ms", 250.0, "highest p99 of an event's XADD to a browser, ms")
OWNER = Origin(channel="telegram", chat="1", member="founder")
#: The conversation whose timeline is loaded: a delegation and a longer history.
TIMELINE = "telegram:1"


def _company() -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "bench", "name": "Bench", "profile": {"sells": "cloud hosting"}},
            "members": [
                {"id": "founder", "name": "F", "role": "owner", "identities": {"telegram": "1"}}
            ],
            "roles": {
                "ceo": {"description": "runs the company"},
                "cto": {"description": "hosting and costs", "handles": ["hosting"]},
            },
        }
    )


async def _remember(saver: RedisSaver, thread_id: str, *messages: Message) -> None:
    """A thread's checkpoint, as a worker leaves it."""
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"messages": list(messages), "origin": OWNER}
    versions = {"messages": "1", "origin": "1"}
    checkpoint["channel_versions"] = dict(versions)
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    await saver.aput(config, checkpoint, {}, versions)  # type: ignore[arg-type]


async def _store(redis: aioredis.Redis, keys: Keys, args: argparse.Namespace) -> float:
    """Write the conversations and events; seconds it took."""
    began = time.perf_counter()
    saver = RedisSaver(redis, keys, serde=serializer())
    at_once = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with at_once:
            await _remember(
                saver,
                f"ceo:telegram:{n}",
                Message.user(f"Request number {n}: price a VM and draft the post", name="founder"),
                Message.assistant(f"Done for request {n}."),
            )

    await asyncio.gather(*(one(n) for n in range(2, args.threads + 1)))
    call = ToolCall(id="c1", name="delegate", arguments={"role": "cto", "brief": "price OVH"})
    history = [Message.user("Prepare the launch", name="founder"), Message.assistant("", (call,))]
    history += [Message.tool(call, "delegated to cto (call c1)")]
    history += [Message.assistant(f"Step {n} of the launch plan.") for n in range(20)]
    await _remember(saver, f"ceo:{TIMELINE}", *history)
    await _remember(saver, f"cto:{TIMELINE}/cto/c1", Message.user("price OVH"))
    bus = Bus(redis, keys)
    for start in range(0, args.events, 500):
        await asyncio.gather(
            *(
                bus.emit(_event(f"telegram:{1 + n % 50}", f"stored {n}"))
                for n in range(start, min(start + 500, args.events))
            )
        )
    return time.perf_counter() - began


async def _true(value: bool) -> bool:
    return value


def _event(thread: str, detail: str) -> Event:
    return Event(type=EventType.TOOL, sender="ceo", thread=thread, detail=detail)


async def _pages(client: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, list[float]]:
    """Milliseconds of each load of each page, the pages interleaved so noise hits all."""
    paths = {"login": "/login", "threads": "/threads", "timeline": f"/threads/{TIMELINE}"}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for turn in range(args.warmup + args.requests):
        for name, path in paths.items():
            began = time.perf_counter()
            response = await client.get(path)
            took = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            if turn >= args.warmup:
                times[name].append(took)
    return times


async def _browser(client: httpx.AsyncClient, sent: dict[str, float], seen: list[float]) -> None:
    """One browser following the overview: each probe's delay since its XADD."""
    async with client.stream("GET", "/live/overview") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and "probe-" in line:
                now = time.perf_counter()
                probe = line.split("probe-", 1)[1].split("<", 1)[0].split()[0]
                if probe in sent:
                    seen.append((now - sent[probe]) * 1000)


async def _raw_reader(redis: aioredis.Redis, stream: str, sent: dict[str, float]) -> list[float]:
    """The baseline: a blocked XREAD of the same stream seeing each probe's XADD."""
    seen: list[float] = []
    last: Any = await redis.xrevrange(stream, count=1)
    cursor = last[0][0] if last else "0-0"
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            reply: Any = await redis.xread({stream: cursor}, count=100, block=1000)
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    event = Event.model_validate_json(fields[b"event"])
                    if event.detail.startswith("probe-") and event.detail[6:] in sent:
                        seen.append((now - sent[event.detail[6:]]) * 1000)
    return seen


async def _live(
    served: Served, cookie: str, target: RedisTarget, keys: Keys, args: argparse.Namespace
) -> dict[str, object]:
    sent: dict[str, float] = {}
    seen: list[float] = []
    hub = served.app.state.hub
    limits = httpx.Limits(max_connections=args.browsers)
    async with httpx.AsyncClient(
        base_url=served.url, cookies={COOKIE: cookie}, timeout=30, limits=limits
    ) as client:
        browsers = [asyncio.create_task(_browser(client, sent, seen)) for _ in range(args.browsers)]
        redis, raw = connect(target), connect(target)  # the baseline's blocked XREAD, apart
        baseline = asyncio.create_task(_raw_reader(raw, keys.events, sent))
        await wait_until(lambda: _true(len(hub.subscribers) >= args.browsers), timeout=30)
        bus = Bus(redis, keys)
        for n in range(args.live_events):
            probe = f"{n}-{uuid.uuid4().hex[:6]}"
            sent[probe] = time.perf_counter()
            await bus.emit(_event(f"telegram:{1 + n % 50}", f"probe-{probe}"))
            await asyncio.sleep(1 / args.rate)
        expected = args.live_events * args.browsers
        with contextlib.suppress(TimeoutError):  # a delivery missing is counted, not fatal
            await wait_until(lambda: _true(len(seen) >= expected), timeout=10)
        for task in [*browsers, baseline]:
            task.cancel()
        await asyncio.gather(*browsers, return_exceptions=True)
        raw_seen = await baseline
        await raw.aclose()
        await redis.aclose()
    return {
        "browsers": args.browsers,
        "events": args.live_events,
        "rate_per_s": args.rate,
        "deliveries": len(seen),
        "expected_deliveries": expected,
        "browser": latency(seen, (50, 95, 99), maximum=True),
        "baseline_raw_xread": latency(raw_seen, (50, 95, 99), maximum=True),
    }


async def _measure(
    target: RedisTarget, home: Path, args: argparse.Namespace
) -> tuple[dict[str, object], list[Check]]:
    keys = Keys("bench", namespace=f"bench{uuid.uuid4().hex[:8]}")
    redis = connect(target)
    console = Console(redis=redis, keys=keys, config=_company(), home=home)
    try:
        stored_s = await _store(redis, keys, args)
        async with console_server(console) as served:
            session_id, _ = await start_session(redis, keys, "founder")
            async with httpx.AsyncClient(
                base_url=served.url, cookies={COOKIE: session_id}, timeout=30
            ) as client:
                times = await _pages(client, args)
            live = await _live(served, session_id, target, keys, args)
        info = await redis.info("server")
    finally:
        leftovers = [key async for key in redis.scan_iter(f"{keys.namespace}:*")]
        for start in range(0, len(leftovers), 1000):
            await redis.delete(*leftovers[start : start + 1000])
        await redis.aclose()

    pages = {name: latency(values, (50, 95, 99), maximum=True) for name, values in times.items()}
    page_p99 = max(pages["threads"]["p99_ms"], pages["timeline"]["p99_ms"])
    browser: Any = live["browser"]
    delivered = float(str(live["deliveries"]))
    where = "url" if args.redis_url else "embedded"
    result: dict[str, object] = {
        "benchmark": "web_console",
        "server": f"redis {info['redis_version']} {where}",
        "threads_stored": args.threads,
        "events_stored": args.events,
        "store_seconds": round(stored_s, 2),
        "requests_per_page": args.requests,
        "pages": {
            "threads_list": pages["threads"],
            "timeline": pages["timeline"],
            "baseline_login_page": pages["login"],
        },
        "page_p99_ms": page_p99,
        "live": live,
        "live_p99_ms": browser["p99_ms"],
        "target_page_p99_ms": PAGE_P99_MS.of(args),
        "target_live_p99_ms": LIVE_P99_MS.of(args),
    }
    checks = [
        Check("page_p99_ms", page_p99, PAGE_P99_MS.of(args)),
        Check("live_p99_ms", browser["p99_ms"], LIVE_P99_MS.of(args)),
        Check("live.deliveries", delivered, float(str(live["expected_deliveries"])), at_most=False),
    ]
    return result, checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000, help="conversations stored")
    parser.add_argument("--events", type=int, default=5_000, help="events on the stream")
    parser.add_argument("--requests", type=int, default=300, help="timed loads of each page")
    parser.add_argument("--warmup", type=int, default=10, help="untimed loads of each page")
    parser.add_argument("--browsers", type=int, default=50, help="SSE clients following")
    parser.add_argument("--live-events", type=int, default=200, help="events they follow")
    parser.add_argument("--rate", type=float, default=20.0, help="live events a second")
    add_redis_and_out(parser)
    add_targets(parser, PAGE_P99_MS, LIVE_P99_MS)
    args = parser.parse_args(argv)
    result, checks = with_redis(args, lambda target, home: _measure(target, home, args))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
