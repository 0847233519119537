"""The farm page: crews with state, spend and quotas; pause and resume as the CLI does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.errors import CrewRefused
from equipage.farm import Quotas
from equipage.keys import Keys
from equipage.web.context import FarmView
from equipage.web.farmrows import pause_crew, read_farm, resume_crew
from tests.consoles import served, shown
from tests.farms import alpha_and_beta


async def test_each_crew_shows_state_spend_queue_and_quotas(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    farm = await alpha_and_beta(tmp_path, redis)
    namespace = farm.registry.keys.namespace
    month = datetime.now(UTC).strftime("%Y-%m")
    await redis.hset(Keys("alpha", namespace).spend_month(month), mapping={"ceo": 1.5, "ops": 0.5})
    await farm.registry.set_quotas("beta", Quotas(monthly_budget=0.0))
    rows = {row.name: row for row in await read_farm(redis, namespace, tmp_path)}
    assert set(rows) == {"alpha", "beta"}
    alpha = rows["alpha"]
    assert alpha.state == "active" and alpha.spent_month == pytest.approx(2.0)
    assert alpha.budget_used == pytest.approx(2.0 / alpha.quotas.monthly_budget)
    assert alpha.queued >= 0 and alpha.questions == 0
    assert rows["beta"].spent_month == 0 and rows["beta"].budget_used is None


async def test_pause_and_resume_move_the_crew_in_the_registry_and_refuse_twice(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    farm = await alpha_and_beta(tmp_path, redis)
    namespace = farm.registry.keys.namespace
    assert (await pause_crew(redis, namespace, "alpha")).state.value == "paused"
    assert (await farm.registry.get("alpha")).state.value == "paused"
    with pytest.raises(CrewRefused, match="already paused"):
        await pause_crew(redis, namespace, "alpha")
    assert (await resume_crew(redis, namespace, "alpha")).state.value == "active"
    with pytest.raises(CrewRefused, match="no crew"):
        await resume_crew(redis, namespace, "gamma")


async def test_farm_admins_see_the_crews_and_pause_and_resume_them_by_post(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    farm = await alpha_and_beta(tmp_path / "farm", redis)
    namespace = farm.registry.keys.namespace
    view = FarmView(redis, namespace, tmp_path / "farm", admins=frozenset({"bob"}))
    async with served(redis, keys, tmp_path / "home", farm=view) as console:
        bob = await console.browser("bob", "fr")
        page = await bob.get("/farm")
        assert page.status_code == 200 and "Les équipages de la ferme" in shown(page)
        assert 'data-crew="alpha"' in shown(page) and 'data-crew="beta"' in shown(page)
        assert "actif" in shown(page) and "exécutions simultanées" in shown(page)

        csrf = console.csrf["bob"]
        paused = await bob.post("/farm/pause", data={"csrf": csrf, "crew": "alpha"})
        assert paused.status_code == 200 and "L'équipage alpha est en pause." in shown(paused)
        assert (await farm.registry.get("alpha")).state.value == "paused"
        again = await bob.post("/farm/pause", data={"csrf": csrf, "crew": "alpha"})
        assert again.status_code == 409 and "Impossible pour alpha" in shown(again)
        resumed = await bob.post("/farm/resume", data={"csrf": csrf, "crew": "alpha"})
        assert "L'équipage alpha reprend le travail." in shown(resumed)
        assert (await farm.registry.get("alpha")).state.value == "active"

        forged = await bob.post("/farm/pause", data={"csrf": "x", "crew": "alpha"})
        assert forged.status_code == 403
        assert (await farm.registry.get("alpha")).state.value == "active"

        alice = await console.browser("alice")  # the crew's owner, not a farm admin
        assert (await alice.get("/farm")).status_code == 403
        refused = await alice.post(
            "/farm/pause", data={"csrf": console.csrf["alice"], "crew": "beta"}
        )
        assert refused.status_code == 403
        assert (await farm.registry.get("beta")).state.value == "active"


async def test_without_a_farm_there_is_no_farm_page(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with served(redis, keys, tmp_path) as console:
        alice = await console.browser("alice")
        assert (await alice.get("/farm")).status_code == 403
