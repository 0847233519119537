"""``/metrics`` (equipage.metrics) over HTTP: its figures equal what the bus and ledger hold.

The counters are per process and this process runs other tests too: each test here works
on roles (and a platform) of its own, so a figure it reads is its own run's alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route

from equipage.approvals import Approval, Approvals
from equipage.budget import Budget
from equipage.bus import Bus
from equipage.connection import RedisTarget, connect
from equipage.envelope import Envelope, Kind
from equipage.errors import MalformedWebhook
from equipage.events import Event, EventType
from equipage.farm.wake import Wakes
from equipage.health import crew_watch, farm_watch, health_routes
from equipage.httpserver import LocalServer, refusing_malformed
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys
from equipage.llm.messages import Completion, Message, Usage
from equipage.llm.pricing import CURRENCY, cost
from equipage.metered import Metered
from equipage.metrics import inbox_role, stream_role
from equipage.testing import SONNET_SPEC, ScriptedModel, stream_entries, wait_until
from equipage.worker import Worker

#: (metric sample name, its labels) -> value, as a scrape reads them.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def role() -> str:
    """A role no other test of this process counts on."""
    return f"r{uuid.uuid4().hex[:8]}"


def task(to: str, text: str, thread: str = "t1") -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to=to, sender="member:alice", thread=thread, text=text
    )


async def scrape(client: httpx.AsyncClient) -> Samples:
    """GET /metrics, parsed by prometheus_client's own parser."""
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def events(redis: aioredis.Redis, keys: Keys, kind: EventType) -> list[Event]:
    found = [
        Event.model_validate_json(f[b"event"]) for _, f in await stream_entries(redis, keys.events)
    ]
    return [e for e in found if e.type is kind]


async def serving(routes: list[Any]) -> tuple[LocalServer, httpx.AsyncClient]:
    server = LocalServer(Starlette(routes=routes))
    return server, httpx.AsyncClient(base_url=await server.start())


@pytest.fixture
async def roles() -> list[str]:
    return [role(), role()]


@pytest.fixture
async def served(
    redis: aioredis.Redis, keys: Keys, roles: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The health routes, /metrics among them, of one crew whose inboxes are ``roles``."""
    server, client = await serving(health_routes(crew_watch(redis, keys, roles)))
    try:
        yield client
    finally:
        await client.aclose()
        await server.stop()


async def test_envelope_counters_equal_what_the_bus_holds_after_a_scripted_run(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis, roles: list[str]
) -> None:
    worked, _ = roles

    async def handler(envelope: Envelope) -> Sequence[Envelope]:
        if envelope.text == "bad":
            raise ValueError("the model answered nonsense")
        return []

    stop = asyncio.Event()
    running = asyncio.create_task(Worker(bus, {worked: handler}, name="w", block_ms=20).run(stop))
    try:
        await wait_until(lambda: redis.exists(keys.inbox(worked)), what="groups created")
        for n in range(5):
            await bus.publish(task(worked, f"ok {n}", thread=f"ok-{n}"))
        await bus.publish(task(worked, "bad", thread="bad"))
        await redis.xadd(keys.inbox(worked), {"env": b'{"kind": "task", "to": 3}'})

        async def settled() -> bool:
            info = await redis.xpending(keys.inbox(worked), CONSUMER_GROUP)
            return await redis.xlen(keys.dead) == 2 and int(info["pending"]) == 0

        await wait_until(settled, what="every envelope handled or dead")
    finally:
        stop.set()
        await running
    samples = await scrape(served)

    handled = await events(redis, keys, EventType.HANDLED)
    dead = await stream_entries(redis, keys.dead)
    [failed_one] = [f for _, f in dead if f[b"error"].startswith(b"ValueError")]
    assert len(handled) == 5
    assert value(samples, "equipage_envelopes_handled_total", role=worked) == len(handled)
    assert value(samples, "equipage_envelopes_failed_total", role=worked) == int(
        failed_one[b"attempts"]
    )
    assert int(failed_one[b"attempts"]) == bus.max_attempts == 3
    assert value(samples, "equipage_dead_letters_total", role=worked) == len(dead) == 2


async def test_stream_lag_and_pending_per_role_equal_the_consumer_groups(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis, roles: list[str]
) -> None:
    first, second = roles
    await bus.ensure_groups(roles)
    for n in range(6):
        await bus.publish(task(first, f"{n}", thread=f"a{n}"))
    for n in range(3):
        await bus.publish(task(second, f"{n}", thread=f"b{n}"))
    taken = await bus.read([keys.inbox(first)], "worker-1", count=4, block_ms=100)
    assert len(taken) == 4

    samples = await scrape(served)

    [info] = await redis.xinfo_groups(keys.inbox(first))
    assert value(samples, "equipage_stream_lag", crew="acme", role=first) == int(info["lag"]) == 2
    assert value(samples, "equipage_stream_pending", crew="acme", role=first) == 4
    assert value(samples, "equipage_stream_lag", crew="acme", role=second) == 3
    assert value(samples, "equipage_stream_pending", crew="acme", role=second) == 0


async def test_farm_lag_is_labelled_by_crew_and_role(redis: aioredis.Redis, keys: Keys) -> None:
    namespace = keys.namespace
    ada, bob = Keys("ada", namespace), Keys("bob", namespace)
    await Bus(redis, ada).ensure_groups(["ceo"])
    await Bus(redis, ada).publish(task("ceo", "for ada"))
    # A crew never loaded: its entries are listed, no group made yet.
    for _ in range(2):
        await redis.xadd(bob.inbox("cto"), {"env": b"x"})
    await redis.sadd(bob.streams, bob.inbox("cto"))
    await redis.zadd(FarmKeys(namespace).busy, {"ada": 1.0, "bob": 2.0})
    await Wakes(redis, namespace, "work", 2).ensure_groups()
    server, client = await serving(health_routes(farm_watch(redis, namespace, shards=2)))
    try:
        samples = await scrape(client)
        total = (await client.get("/metrics/lag")).json()["total"]
    finally:
        await client.aclose()
        await server.stop()
    assert value(samples, "equipage_stream_lag", crew="ada", role="ceo") == 1
    assert value(samples, "equipage_stream_lag", crew="bob", role="cto") == 2
    assert total == 3


async def test_model_tokens_and_cost_equal_the_budget_ledger(
    served: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys, roles: list[str]
) -> None:
    billed, free = roles
    usages = [
        Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=5000, cache_write_tokens=0),
        Usage(input_tokens=800, output_tokens=150, cache_read_tokens=0, cache_write_tokens=4000),
    ]
    script = [
        Completion(content="ok", usage=u.model_copy(update={"cost": cost(SONNET_SPEC, u)}))
        for u in usages
    ]
    budget = Budget(redis, keys, daily={billed: 5.0}, monthly=50.0)
    metered = Metered(ScriptedModel(script, name=SONNET_SPEC), budget, billed)
    prompt = [Message.user("Hello")]
    await metered.complete(prompt, [], thread=f"{billed}:t1")
    await metered.complete(prompt, [], thread=f"{billed}:t2")
    # An unpriced model (self-hosted): counted, costs nothing.
    local = Completion(content="ok", usage=Usage(input_tokens=10, output_tokens=2))
    await Metered(ScriptedModel([local], name="ollama:llama3"), budget, free).complete(
        prompt, [], thread=f"{free}:t1"
    )

    samples = await scrape(served)

    sonnet = {"provider": "anthropic", "model": SONNET_SPEC.partition(":")[2], "role": billed}
    spent = (await budget.spend()).day[billed]
    by_thread = [await budget.thread_spend(f"{billed}:t{n}") for n in (1, 2)]
    assert CURRENCY == "USD"  # the unit in the metric's name
    assert value(samples, "equipage_model_cost_usd_total", **sonnet) == pytest.approx(spent)
    assert spent == pytest.approx(sum(by_thread)) and spent > 0
    assert value(samples, "equipage_model_calls_total", **sonnet) == 2
    for kind in ("input", "output", "cache_read", "cache_write"):
        expected = sum(getattr(u, f"{kind}_tokens") for u in usages)
        assert value(samples, "equipage_model_tokens_total", **sonnet, kind=kind) == expected
    ollama = {"provider": "ollama", "model": "llama3", "role": free}
    assert value(samples, "equipage_model_calls_total", **ollama) == 1
    assert value(samples, "equipage_model_cost_usd_total", **ollama) == 0
    assert value(samples, "equipage_model_tokens_total", **ollama, kind="input") == 10


async def test_question_wait_is_observed_once_when_its_answer_is_taken(
    served: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys, roles: list[str]
) -> None:
    asker = roles[0]
    approvals = Approvals(redis, keys)
    asked = Approval(id="q1", role=asker, thread="t1", text="Send?", asked_at=time.time() - 120)
    await approvals.open(asked, f"{asker}:t1")

    await approvals.close("q1", f"{asker}:t1")
    await approvals.close("q1", f"{asker}:t1")  # the answer delivered again
    samples = await scrape(served)

    labels = {"role": asker, "topic": "approval"}
    assert value(samples, "equipage_question_wait_seconds_count", **labels) == 1
    waited = value(samples, "equipage_question_wait_seconds_sum", **labels)
    assert waited is not None and 120 <= waited < 180
    assert value(samples, "equipage_question_wait_seconds_bucket", **labels, le="60.0") == 0
    assert value(samples, "equipage_question_wait_seconds_bucket", **labels, le="300.0") == 1
    assert await approvals.get("q1") is None


async def test_webhook_duration_counts_every_answer_by_platform(
    served: httpx.AsyncClient,
) -> None:
    platform = role()  # a platform name of this test's own

    async def ok(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("ok")

    async def garbled(request: Any) -> Any:
        raise MalformedWebhook("the body is empty")

    log = logging.getLogger("test")
    server, client = await serving(
        [
            Route("/ok", refusing_malformed(platform, log, ok), methods=["POST"]),
            Route("/bad", refusing_malformed(platform, log, garbled), methods=["POST"]),
        ]
    )
    try:
        codes = [(await client.post(path)).status_code for path in ("/ok", "/ok", "/bad")]
    finally:
        await client.aclose()
        await server.stop()
    samples = await scrape(served)

    assert codes == [200, 200, 400]
    assert value(samples, "equipage_webhook_duration_seconds_count", platform=platform) == 3
    took = value(samples, "equipage_webhook_duration_seconds_sum", platform=platform)
    assert took is not None and 0 < took < 10


async def test_many_threads_and_envelopes_add_no_series(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis, roles: list[str]
) -> None:
    worked = roles[0]
    budget = Budget(redis, keys, daily={worked: 5.0}, monthly=50.0)
    replies = [Completion(content="ok", usage=Usage(input_tokens=5, cost=0.001))] * 40
    metered = Metered(ScriptedModel(replies, name=SONNET_SPEC), budget, worked)
    threads: list[str] = []

    async def handler(envelope: Envelope) -> Sequence[Envelope]:
        await metered.complete([Message.user(envelope.text)], [], thread=envelope.thread)
        return []

    async def run(count: int) -> Samples:
        stop = asyncio.Event()
        worker = Worker(bus, {worked: handler}, name="w", block_ms=20)
        running = asyncio.create_task(worker.run(stop))
        try:
            for _ in range(count):
                threads.append(f"thread-{uuid.uuid4().hex}")
                await bus.publish(task(worked, "hi", thread=threads[-1]))
            done = len(threads)

            async def handled() -> bool:
                return len(await events(redis, keys, EventType.HANDLED)) == done

            await wait_until(handled, what="the envelopes handled")
        finally:
            stop.set()
            await running
        return await scrape(served)

    first = await run(1)
    later = await run(39)

    assert set(later) == set(first)
    assert value(later, "equipage_envelopes_handled_total", role=worked) == 40
    ids = {*threads, *(e.envelope for e in await events(redis, keys, EventType.HANDLED))}
    shown = {v for _, labels in later for _, v in labels}
    assert ids & shown == set()


async def test_counters_are_served_while_redis_is_away(tmp_path: Path) -> None:
    away = connect(RedisTarget(socket=str(tmp_path / "none.sock")))
    watch = crew_watch(away, Keys("acme", namespace="away"), ["ceo"])
    server, client = await serving(health_routes(watch))
    try:
        samples = await scrape(client)
    finally:
        await client.aclose()
        await server.stop()
        await away.aclose()
    names = {name for name, _ in samples}
    assert not {"equipage_stream_lag", "equipage_stream_pending"} & names
    assert "process_cpu_seconds_total" in names


async def test_every_family_is_named_by_the_prometheus_conventions(
    served: httpx.AsyncClient,
) -> None:
    answer = await served.get("/metrics")
    families = {f.name: f.type for f in text_string_to_metric_families(answer.text)}
    ours = {name: kind for name, kind in families.items() if name.startswith("equipage_")}
    assert {name for name, kind in ours.items() if kind == "counter"} >= {
        "equipage_envelopes_handled",
        "equipage_envelopes_failed",
        "equipage_dead_letters",
        "equipage_model_calls",
        "equipage_model_tokens",
        "equipage_model_cost_usd",
    }
    assert ours["equipage_question_wait_seconds"] == "histogram"
    assert ours["equipage_webhook_duration_seconds"] == "histogram"
    assert ours["equipage_stream_lag"] == ours["equipage_stream_pending"] == "gauge"
    assert all(name.startswith("process_") for name in families.keys() - ours.keys())


@pytest.mark.parametrize("name", ["ceo", "work:flows", "100%", "a%3Ab", ":%25:"])
def test_a_stream_is_labelled_with_the_role_its_inbox_was_made_for(name: str) -> None:
    keys = Keys("acme", namespace="eq")
    assert inbox_role(keys, keys.inbox(name)) == name
    assert stream_role(keys, keys.inbox(name)) == name
    assert stream_role(keys, keys.outbox) == "outbox"
    assert inbox_role(Keys("other", namespace="eq"), keys.inbox(name)) is None


def test_metrics_are_not_served_on_a_public_webhook_port_only_on_the_health_port() -> None:
    """Crew names, roles and spend are an operator's business: beside webhooks that listen
    on every interface (what the platforms reach), /metrics is not served; on the health
    port (EQUIPAGE_HEALTH_PORT, inside the cluster) and on a loopback web port it is."""
    from equipage.company.platforms import WebConfig
    from equipage.health import crew_watch, web_loops
    from equipage.metrics import METRICS_PATH

    watch = crew_watch(None, Keys("acme"), [])  # type: ignore[arg-type]
    webhook = [object()]

    def paths(host: str, health_port: int | None) -> dict[str, set[str]]:
        web = WebConfig(host=host, port=8080)
        served = {}
        for name, loop in web_loops(webhook, web, health_port, watch):
            routes = loop.args[0]  # type: ignore[attr-defined]
            served[name] = {getattr(route, "path", "") for route in routes}
        return served

    public = paths("0.0.0.0", 8081)
    assert METRICS_PATH not in public["webhooks"]
    assert METRICS_PATH in public["health"]
    assert METRICS_PATH in paths("127.0.0.1", None)["webhooks"]
