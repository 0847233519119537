"""One company per id on a Redis: the first company to start under an id claims it.

Ids are slugs of names, so "Nuage Clair" and "NUAGE-CLAIR !" both get ``nuage-clair``,
and two crews started with those names on one Redis would share every key: members,
memory, questions, spend. The claim keeps the name that started first under the id
(``Keys.claimed_by``, written once with SET NX) and refuses another name on start. A
farm that hosts many crews on one Redis relies on the same guard.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["claim"]


async def claim(redis: aioredis.Redis, keys: Keys, name: str, *, source: str | None = None) -> None:
    """Claim ``keys.company`` for the company called ``name``, or raise ConfigError.

    ``source`` (the company.yaml) is named in the error, beside the fix.
    """
    key = keys.claimed_by
    await redis.set(key, name, nx=True)
    raw = await redis.get(key)
    owner = raw.decode() if isinstance(raw, bytes) else str(raw)
    if owner == name:
        return
    company = keys.company
    raise ConfigError(
        f"the company id {company!r} on this Redis belongs to {owner!r}; {name!r} gets the "
        "same id and would share its state (members, memory, questions, spend). Give this "
        f"company its own id in company.yaml (company.id: {company}-2), or use another "
        f"Redis or EQUIPAGE_NAMESPACE. If {name!r} is {owner!r} renamed, keep the old name, "
        f"or hand the id over by deleting the key {key} on this Redis",
        path=source,
        field="company.id",
    )
