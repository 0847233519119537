"""Who may reach the crew: members from company.yaml, plus identities paired at run time.

A stranger gets a short pairing code; the owner approves it (``/pair CODE`` in chat or
``equipage pair approve CODE``), which links that platform identity to an existing
member (the same person on another platform) or makes them a new member. Until then
nothing they send reaches an agent. A stranger's code is found by their identity, so a
request costs a few commands however many codes wait, and at most ``MAX_PENDING`` codes
wait per platform, so a flood of new accounts cannot fill Redis.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from equipage.config import CompanyConfig, Member
from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["MAX_PENDING", "PAIRING_TTL", "CodeKeys", "Members", "Pairing", "request_code"]

PAIRING_TTL = 3600  # seconds a pairing code stays valid
MAX_PENDING = 5000  # pairing codes waiting at once on one platform; strangers beyond wait
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


class Pairing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    platform: str
    user: str
    chat: str
    name: str = ""
    asked_at: float = Field(default_factory=time.time)


class Members:
    """The member registry of one company."""

    def __init__(
        self,
        config: CompanyConfig,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.config = config
        self.redis = redis
        self.keys = keys
        self.max_pending = max_pending

    async def find(self, platform: str, user: str) -> Member | None:
        """The member known as ``user`` on ``platform``, from the config or a pairing."""
        known = self.config.member_for(platform, user)
        if known is not None:
            return known
        raw = await self.redis.hget(self.keys.identities, f"{platform}:{user}")
        if not raw:
            return None
        member_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        listed = next((m for m in self.config.members if m.id == member_id), None)
        return listed or Member(id=member_id, name=member_id, role="member")

    async def request(self, platform: str, user: str, chat: str, name: str = "") -> Pairing | None:
        """A pairing code for a stranger; the same stranger keeps the same pending code.

        None when ``max_pending`` codes already wait on ``platform``.
        """
        where = CodeKeys(
            self.keys.pairing, self.keys.pairings, self.keys.pairings_on, self.keys.pairing_asker
        )
        return await request_code(
            self.redis, where, platform, user, chat, name, max_pending=self.max_pending
        )

    async def pending(self) -> list[Pairing]:
        """The codes waiting for the owner, oldest first."""
        since = time.time() - PAIRING_TTL
        codes: Any = await self.redis.zrangebyscore(self.keys.pairings, since, "+inf")
        if not codes:
            return []
        found = await self.redis.mget([self.keys.pairing(_text(code)) for code in codes])
        return [Pairing.model_validate_json(raw) for raw in found if raw]

    async def approve(self, code: str, *, as_member: str | None = None) -> tuple[Pairing, str]:
        """Link the identity behind ``code`` to ``as_member`` (or a new member id)."""
        code = code.strip().upper()
        raw = await self.redis.get(self.keys.pairing(code))
        if not raw:
            raise ConfigError(
                f"no pending pairing code {code}; codes expire after an hour: "
                "ask the person to write to the crew again for a new one"
            )
        pairing = Pairing.model_validate_json(raw)
        if as_member is not None and all(m.id != as_member for m in self.config.members):
            ids = ", ".join(m.id for m in self.config.members)
            raise ConfigError(f"no member {as_member!r}; members are {ids}")
        member_id = as_member or f"{pairing.platform}-{pairing.user}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.identities, f"{pairing.platform}:{pairing.user}", member_id)
            pipe.delete(
                self.keys.pairing(code), self.keys.pairing_asker(pairing.platform, pairing.user)
            )
            pipe.zrem(self.keys.pairings, code)
            pipe.zrem(self.keys.pairings_on(pairing.platform), code)
            await pipe.execute()
        return pairing, member_id


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


@dataclass(frozen=True)
class CodeKeys:
    """Where pending pairing codes live: a crew's own keys, or the farm's."""

    #: code -> the request behind it (expires with the code).
    pairing: Callable[[str], str]
    #: Sorted set of every pending code, by when asked.
    everyone: str
    #: platform -> sorted set of the codes pending there (capped by ``max_pending``).
    on: Callable[[str], str]
    #: (platform, user) -> the code that stranger already holds.
    asker: Callable[[str, str], str]


async def request_code(
    redis: aioredis.Redis,
    where: CodeKeys,
    platform: str,
    user: str,
    chat: str,
    name: str = "",
    *,
    max_pending: int,
) -> Pairing | None:
    """A pairing code for a stranger; the same stranger keeps the same pending code.

    None when ``max_pending`` codes already wait on ``platform``.
    """
    asker = where.asker(platform, user)
    known = await redis.get(asker)
    if known and (raw := await redis.get(where.pairing(_text(known)))):
        return Pairing.model_validate_json(raw)
    waiting = where.on(platform)
    expired = time.time() - PAIRING_TTL
    async with redis.pipeline(transaction=True) as pipe:
        # Codes expire by themselves; their entries in the sets go here, each once.
        pipe.zremrangebyscore(where.everyone, "-inf", expired)
        pipe.zremrangebyscore(waiting, "-inf", expired)
        pipe.zcard(waiting)
        *_, count = await pipe.execute()
    if count >= max_pending:
        return None
    while True:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        pairing = Pairing(code=code, platform=platform, user=user, chat=chat, name=name)
        json = pairing.model_dump_json()
        if await redis.set(where.pairing(code), json, ex=PAIRING_TTL, nx=True):
            break  # else another stranger holds that code: draw again
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(asker, code, ex=PAIRING_TTL)
        pipe.zadd(where.everyone, {code: pairing.asked_at})
        pipe.zadd(waiting, {code: pairing.asked_at})
        await pipe.execute()
    return pairing
