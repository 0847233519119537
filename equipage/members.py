"""Who may reach the crew: members from company.yaml, plus identities paired at run time.

A stranger gets a short pairing code; the owner approves it (``/pair CODE`` in chat or
``equipage pair approve CODE``), which links that platform identity to an existing
member (the same person on another platform) or makes them a new member. Until then
nothing they send reaches an agent.
"""

from __future__ import annotations

import secrets
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from equipage.config import CompanyConfig, Member
from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["PAIRING_TTL", "Members", "Pairing"]

PAIRING_TTL = 3600  # seconds a pairing code stays valid
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

    def __init__(self, config: CompanyConfig, redis: aioredis.Redis, keys: Keys) -> None:
        self.config = config
        self.redis = redis
        self.keys = keys

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

    async def request(self, platform: str, user: str, chat: str, name: str = "") -> Pairing:
        """A pairing code for a stranger; the same stranger keeps the same pending code."""
        for pending in await self.pending():
            if pending.platform == platform and pending.user == user:
                return pending
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        pairing = Pairing(code=code, platform=platform, user=user, chat=chat, name=name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.pairing(code), pairing.model_dump_json(), ex=PAIRING_TTL)
            pipe.zadd(self.keys.pairings, {code: pairing.asked_at})
            await pipe.execute()
        return pairing

    async def pending(self) -> list[Pairing]:
        codes = await self.redis.zrange(self.keys.pairings, 0, -1)
        found = []
        for raw_code in codes:
            code = raw_code.decode() if isinstance(raw_code, bytes) else str(raw_code)
            raw = await self.redis.get(self.keys.pairing(code))
            if raw:
                found.append(Pairing.model_validate_json(raw))
            else:
                await self.redis.zrem(self.keys.pairings, code)  # expired
        return found

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
            pipe.delete(self.keys.pairing(code))
            pipe.zrem(self.keys.pairings, code)
            await pipe.execute()
        return pairing, member_id
