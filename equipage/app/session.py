"""A session: one process's connection to the company's Redis, with its crew built.

The crew (LangGraph, the workflows) is imported when a session opens, not with this
module: ``equipage --help`` and the commands that never open one start without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from equipage.audit import Anchorer, company_anchorer, company_key
from equipage.bus import Bus
from equipage.claim import claim
from equipage.config import CompanyConfig, Settings
from equipage.connection import RedisTarget, check_server, connect, open_target
from equipage.keys import Keys
from equipage.llm.providers import OFFLINE, missing_key
from equipage.registry import gateway_class

if TYPE_CHECKING:
    from equipage.crew import Crew


def model_plan(config: CompanyConfig, settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The model each role will run, and notes for roles moved to ``offline``.

    A role set to a provider whose API key is missing runs on the offline model, and the
    note says so: the crew still works end to end, and nobody is misled.
    """
    models: dict[str, str] = {}
    notes: list[str] = []
    options = settings.provider_options()
    for role, settings_ in config.roles.items():
        missing = missing_key(settings_.model, options)
        if missing is not None:
            models[role] = OFFLINE
            notes.append(f"{role}: {missing} is not set, so it runs on the {OFFLINE} model")
        else:
            models[role] = settings_.model
    return models, notes


@dataclass
class Session:
    """A connection to the company's Redis, with its crew built."""

    settings: Settings
    config: CompanyConfig
    target: RedisTarget
    redis: aioredis.Redis
    keys: Keys
    crew: Crew
    notes: list[str]
    #: Keeps copies of the audit chain's head outside Redis (``serve`` runs it).
    anchorer: Anchorer | None = None

    @property
    def bus(self) -> Bus:
        return self.crew.bus

    @property
    def roles(self) -> list[str]:
        return list(self.crew.handlers)


@contextlib.asynccontextmanager
async def open_session(
    config: CompanyConfig,
    settings: Settings,
    *,
    home: Path | None = None,
    force_offline: bool = False,
) -> AsyncIterator[Session]:
    """Connect (starting the embedded Redis if REDIS_URL is unset) and build the crew."""
    from equipage.crew import build_crew  # LangGraph and the workflows: only for a session

    with open_target(settings.redis_url, home or settings.home) as target:
        redis = connect(target)
        try:
            await check_server(redis)
            keys = Keys(config.company.id, settings.namespace)
            source = str(config.source) if config.source else None
            await claim(redis, keys, config.company.name, source=source)
            if force_offline:
                models, notes = dict.fromkeys(config.roles, OFFLINE), list[str]()
            else:
                models, notes = model_plan(config, settings)
            audit_key = await company_key(settings.audit_key, home or settings.home, redis, keys)
            crew = build_crew(
                config,
                redis,
                keys,
                models=models,
                options=settings.provider_options(),
                files=(home or settings.home) / "files",
                audit_key=audit_key,
            )
            anchorer = company_anchorer(redis, keys, audit_key, home or settings.home)
            try:
                await crew.start()
                await crew.bus.ensure_groups(crew.handlers)
                yield Session(settings, config, target, redis, keys, crew, notes, anchorer)
            finally:
                if target.lost() is None:  # a removed data folder is not half re-made
                    await anchorer.anchor_quietly()  # what this process wrote, before it goes
                await crew.aclose()
        finally:
            await redis.aclose()


def make_gateway(session: Session, channels: dict[str, Any]) -> Any:
    """The gateway between ``channels`` (adapters by name) and the session's crew."""
    options = session.settings.provider_options()  # speech-to-text's key and endpoint
    return gateway_class()(
        session.config, session.bus, channels, budget=session.crew.budget, options=options
    )
