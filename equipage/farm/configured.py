"""A farm's pool as farm.yaml's ``pool:`` sets it: the crews' runtimes and the pool serving
them, wired to each other (the runtimes tell the pool of every envelope their crews write).
``equipage farm up`` serves with it, and so does a benchmark's pool process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from equipage.audit import AuditKey
from equipage.config import CompanyConfig, Settings
from equipage.farm.config import PoolConfig
from equipage.farm.pool import Pool
from equipage.farm.registry import Registry
from equipage.farm.runtimes import GatewayFactory, Runtimes
from equipage.llm.base import ChatModel
from equipage.worker import consumer_name

__all__ = ["configured_pool"]


def configured_pool(
    root: Path,
    registry: Registry,
    settings: Settings,
    config: PoolConfig,
    *,
    audit_key: AuditKey,
    models_for: Callable[[CompanyConfig], Mapping[str, str | ChatModel]],
    make_gateway: GatewayFactory | None = None,
    serve_work: bool = True,
    serve_outbox: bool = True,
) -> Pool:
    """This process's pool (its runtimes are ``pool.runtimes``), named for this process."""
    runtimes = Runtimes(
        root,
        registry,
        settings,
        consumer=consumer_name(),
        make_gateway=make_gateway,
        models_for=models_for,
        audit_key=audit_key,
        capacity=config.loaded,
        idle_after=config.idle_after,
        visibility_timeout=config.visibility_timeout,
    )
    pool = Pool(
        runtimes,
        concurrency=config.concurrency,
        shards=config.shards,
        sweep_every=config.sweep_every,
        visibility_timeout=config.visibility_timeout,
        serve_work=serve_work,
        serve_outbox=serve_outbox,
    )
    runtimes.signal = pool
    return pool
