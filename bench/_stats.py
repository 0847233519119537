"""What every benchmark shares besides its verdict: latency figures and the Redis it runs on.

``latency`` names its figures alike in every JSON (``p50_ms``, ``p99_ms``, ``mean_ms``...);
``with_redis`` gives a measurement the server of ``--redis-url`` or an embedded one in a
temporary folder. Imported as a sibling, like ``_verdict``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TypeVar

from equipage import RedisTarget, open_target

__all__ = ["add_redis_and_out", "latency", "with_redis"]

T = TypeVar("T")


def latency(
    ms: Sequence[float],
    percentiles: Sequence[int] = (50, 99),
    *,
    mean: bool = True,
    maximum: bool = False,
    digits: int = 4,
) -> dict[str, float]:
    """``p<N>_ms`` for each percentile (inclusive method), then ``max_ms`` and ``mean_ms``
    if asked; zeros for no sample, the sample itself for one."""
    if len(ms) > 1:
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
    else:
        cuts = [ms[0] if ms else 0.0] * 99
    figures = {f"p{p}_ms": cuts[p - 1] for p in percentiles}
    if maximum:
        figures["max_ms"] = max(ms, default=0.0)
    if mean:
        figures["mean_ms"] = statistics.fmean(ms) if ms else 0.0
    return {name: round(value, digits) for name, value in figures.items()}


def add_redis_and_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", help="use this server instead of an embedded one")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")


def with_redis(
    args: argparse.Namespace, measure: Callable[[RedisTarget, Path], Coroutine[object, object, T]]
) -> T:
    """Run ``measure`` on ``--redis-url``'s server, else an embedded one, with a temporary
    folder of its own."""
    with tempfile.TemporaryDirectory() as tmp, open_target(args.redis_url, Path(tmp)) as target:
        return asyncio.run(measure(target, Path(tmp)))
