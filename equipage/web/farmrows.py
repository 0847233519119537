"""The farm's crews as the console's farm page shows them, and its pause and resume.

One row per crew: its state, owner and queued work (``read_farm_status``, as ``equipage
status`` shows a farm), what it spent this month and its quotas. Pause and resume are the
registry's moves, the same as ``equipage crew pause``/``resume``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.config import load_config
from equipage.errors import ConfigError
from equipage.farm import Crew, Quotas, Registry, crew_config
from equipage.keys import Keys
from equipage.status import read_farm_status

__all__ = ["FarmRow", "pause_crew", "read_farm", "resume_crew"]


class FarmRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    state: str  # active | paused | deleting
    owner: str
    template: str
    queued: int
    questions: int
    spent_month: float
    quotas: Quotas

    @property
    def budget_used(self) -> float | None:
        """Share of the monthly budget spent; None for a budget of 0."""
        limit = self.quotas.monthly_budget
        return self.spent_month / limit if limit else None


async def read_farm(redis: aioredis.Redis, namespace: str, folder: Path) -> list[FarmRow]:
    """Every crew of the farm at ``folder`` (its ``crews/<name>/company.yaml``), by name."""

    def roles_of(name: str) -> list[str]:
        try:
            return list(load_config(crew_config(folder, name)).roles)
        except ConfigError:
            return []  # its folder is gone or broken: its inboxes are not counted

    registry = Registry(redis, namespace)
    crews: dict[str, Crew] = {crew.name: crew for crew in await registry.crews()}
    month = datetime.now(UTC).strftime("%Y-%m")
    rows = []
    for status in await read_farm_status(registry, roles_of):
        crew = crews.get(status.name)
        spent = await redis.hvals(Keys(status.name, namespace).spend_month(month))
        rows.append(
            FarmRow(
                **status.model_dump(),
                spent_month=sum(float(v) for v in spent),
                quotas=crew.quotas if crew is not None else Quotas(),
            )
        )
    return rows


async def pause_crew(redis: aioredis.Redis, namespace: str, name: str) -> Crew:
    """Hold crew ``name`` (``equipage crew pause``); CrewRefused says why not."""
    return await Registry(redis, namespace).pause(name)


async def resume_crew(redis: aioredis.Redis, namespace: str, name: str) -> Crew:
    """Serve paused crew ``name`` again (``equipage crew resume``); CrewRefused says why not."""
    return await Registry(redis, namespace).resume(name)
