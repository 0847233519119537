"""One company per id on a Redis: names that slug to the same id must not share state."""

from __future__ import annotations

from pathlib import Path

import pytest

from equipage.app import open_session
from equipage.config import CompanyConfig, Settings
from equipage.connection import RedisTarget
from equipage.errors import ConfigError
from equipage.keys import Keys
from tests.test_crew import company


def named(name: str) -> CompanyConfig:
    data = company().model_dump(mode="json", exclude_unset=True)
    data["company"] = {"name": name, "profile": {"sells": "cloud hosting"}}
    return CompanyConfig.model_validate(data)


def settings(target: RedisTarget, keys: Keys, home: Path) -> Settings:
    url = target.url or f"unix://{target.socket}"
    return Settings(redis_url=url, home=home, namespace=keys.namespace)


async def test_a_second_name_that_slugs_to_the_same_id_is_refused_on_start(
    redis_target: RedisTarget, keys: Keys, tmp_path: Path
) -> None:
    first, second = named("Nuage Clair"), named("NUAGE-CLAIR !")
    assert first.company.id == second.company.id == "nuage-clair"
    on_redis = settings(redis_target, keys, tmp_path)

    async with open_session(first, on_redis, force_offline=True):
        pass
    with pytest.raises(ConfigError) as refused:
        async with open_session(second, on_redis, force_offline=True):
            pytest.fail("the second company started on the first one's state")
    message = str(refused.value)
    assert "'NUAGE-CLAIR !'" in message and "'Nuage Clair'" in message
    assert "company.id" in message  # how to fix it
    async with open_session(first, on_redis, force_offline=True):
        pass  # the first company goes on


async def test_the_same_name_again_or_another_name_in_another_namespace_starts(
    redis_target: RedisTarget, keys: Keys, tmp_path: Path
) -> None:
    here = settings(redis_target, keys, tmp_path)
    elsewhere = settings(redis_target, Keys("acme", namespace=f"{keys.namespace}x"), tmp_path)
    for config, on_redis in [
        (named("Nuage Clair"), here),
        (named("Nuage Clair"), here),
        (named("NUAGE-CLAIR !"), elsewhere),
    ]:
        async with open_session(config, on_redis, force_offline=True) as session:
            assert session.keys.company == "nuage-clair"
