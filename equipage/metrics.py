"""What a process counts for Prometheus, and the ``/metrics`` route that shows it.

Counters and histograms are per process, as Prometheus expects of a pod it scrapes on its
own: envelopes handled and failed, dead letters, model calls with their tokens and cost,
how long questions waited for a person's answer, how long webhooks took. The work waiting
on the streams is not counted here but read from Redis at each scrape (``StreamLag``,
measured by ``equipage.health``), so every pod shows the same figure for it.

Labels come only from bounded sets: roles, crews, providers, models, platforms, question
topics. Never a thread, an envelope, a member or a chat: each value of a label is a series
kept for good by Prometheus.

The metrics live in a registry of Equipage's own (``registry()``), not the library's
global one, built when first used: ``prometheus_client`` imports ~140 modules, which the
CLI's start path does without.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from equipage.keys import Keys

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.metrics_core import Metric

    from equipage.llm.messages import Usage

__all__ = [
    "METRICS_PATH",
    "StreamLag",
    "dead_lettered",
    "envelope_failed",
    "envelope_handled",
    "inbox_role",
    "metrics_route",
    "model_called",
    "question_answered",
    "registry",
    "render",
    "stream_role",
    "webhook_timed",
]

METRICS_PATH = "/metrics"

# Questions wait on a person: seconds to days.
_QUESTION_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400)
# A webhook is answered once its message is stored: milliseconds, seconds when Redis is slow.
_WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StreamLag(NamedTuple):
    """The work waiting on one inbox: entries no worker read yet, entries being handled."""

    crew: str
    role: str
    lag: int
    pending: int


@dataclass(frozen=True)
class _Instruments:
    registry: CollectorRegistry
    handled: Counter
    failed: Counter
    dead: Counter
    calls: Counter
    tokens: Counter
    cost: Counter
    question_wait: Histogram
    webhook: Histogram


@functools.cache
def _instruments() -> _Instruments:
    from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

    reg = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=reg)  # CPU, memory, open files: nothing on macOS
    model = ["provider", "model", "role"]
    return _Instruments(
        registry=reg,
        handled=Counter(
            "equipage_envelopes_handled",
            "Envelopes a handler ran on and whose effects were committed.",
            ["role"],
            registry=reg,
        ),
        failed=Counter(
            "equipage_envelopes_failed",
            "Handler runs that raised (each attempt counts; the last one dead-letters).",
            ["role"],
            registry=reg,
        ),
        dead=Counter(
            "equipage_dead_letters",
            "Entries moved to the dead-letter stream (failed too often, or malformed).",
            ["role"],
            registry=reg,
        ),
        calls=Counter(
            "equipage_model_calls", "Model calls that returned a completion.", model, registry=reg
        ),
        tokens=Counter(
            "equipage_model_tokens",
            "Tokens of the model calls; kind is input, output, cache_read or cache_write.",
            [*model, "kind"],
            registry=reg,
        ),
        cost=Counter(
            # The price table's currency (equipage.llm.pricing.CURRENCY), as the ledger's.
            "equipage_model_cost_usd",
            "What the model calls cost, in US dollars, as billed to the budget ledger.",
            model,
            registry=reg,
        ),
        question_wait=Histogram(
            "equipage_question_wait_seconds",
            "Time from a question asked to a person to the answer its thread took.",
            ["role", "topic"],
            buckets=_QUESTION_BUCKETS,
            registry=reg,
        ),
        webhook=Histogram(
            "equipage_webhook_duration_seconds",
            "Time to answer a platform's webhook request.",
            ["platform"],
            buckets=_WEBHOOK_BUCKETS,
            registry=reg,
        ),
    )


def registry() -> CollectorRegistry:
    """This process's registry of Equipage metrics."""
    return _instruments().registry


# -- recording ---------------------------------------------------------------------------
def envelope_handled(role: str) -> None:
    _instruments().handled.labels(role).inc()


def envelope_failed(role: str) -> None:
    _instruments().failed.labels(role).inc()


def dead_lettered(role: str) -> None:
    _instruments().dead.labels(role).inc()


def model_called(spec: str, role: str, usage: Usage) -> None:
    """One completion of the model ``spec`` (``provider:model``) for ``role``."""
    provider, _, model = spec.partition(":")
    labels = (provider, model or provider, role)
    found = _instruments()
    found.calls.labels(*labels).inc()
    for kind, count in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
    ):
        found.tokens.labels(*labels, kind).inc(count)
    found.cost.labels(*labels).inc(usage.cost)


def question_answered(role: str, topic: str, asked_at: float) -> None:
    """A question asked at ``asked_at`` (unix seconds) got the answer its thread took."""
    waited = max(time.time() - asked_at, 0.0)  # clocks of two hosts may disagree a little
    _instruments().question_wait.labels(role, topic).observe(waited)


@contextmanager
def webhook_timed(platform: str) -> Iterator[None]:
    """Time the answer to one webhook request, whatever it is (an error too)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _instruments().webhook.labels(platform).observe(time.perf_counter() - start)


def inbox_role(keys: Keys, stream: str) -> str | None:
    """The role whose inbox ``stream`` is (``Keys.inbox`` undone), None if not an inbox."""
    head = keys.inbox("")
    if not stream.startswith(head):
        return None
    # ``part`` escaped '%' then ':'; only "%25" and "%3A" follow a '%', so this order is safe.
    return stream[len(head) :].replace("%3A", ":").replace("%25", "%")


def stream_role(keys: Keys, stream: str) -> str:
    """The label of a stream of ``keys``' crew: its role, or ``outbox``."""
    if stream == keys.outbox:
        return "outbox"
    return inbox_role(keys, stream) or "other"


# -- exposition --------------------------------------------------------------------------
def _lag_families(lags: Sequence[StreamLag]) -> list[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    lag = GaugeMetricFamily(
        "equipage_stream_lag",
        "Entries of a role's inbox that no worker has read yet (consumer-group lag).",
        labels=["crew", "role"],
    )
    pending = GaugeMetricFamily(
        "equipage_stream_pending",
        "Entries of a role's inbox read by a worker and not yet acknowledged.",
        labels=["crew", "role"],
    )
    for one in lags:
        lag.add_metric([one.crew, one.role], one.lag)
        pending.add_metric([one.crew, one.role], one.pending)
    return [lag, pending]


class _Scrape:
    """The process's metrics and the lag measured for this scrape, as one collector."""

    def __init__(self, extra: Sequence[Metric]) -> None:
        self.extra = extra

    def collect(self) -> Iterable[Metric]:
        yield from registry().collect()
        yield from self.extra


def render(lags: Sequence[StreamLag] | None) -> bytes:
    """The text exposition; the lag gauges are left out when Redis could not tell them."""
    from prometheus_client import generate_latest

    return generate_latest(_Scrape(_lag_families(lags) if lags is not None else []))


def metrics_route(measure: Callable[[], Awaitable[Sequence[StreamLag] | None]]) -> Any:
    """The Starlette route of ``/metrics``; ``measure`` reads the streams' lag (None: not
    now, Redis is away; the process's own counters are served all the same)."""
    from prometheus_client import CONTENT_TYPE_LATEST
    from starlette.responses import Response
    from starlette.routing import Route

    async def scrape(request: Any) -> Any:
        body = render(await measure())
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return Route(METRICS_PATH, scrape, methods=["GET"])
