"""Farm pairing codes: a stranger to every crew asks to join; a crew's owner or an admin says which.

The rules are those of one crew's pairing (``equipage.members``): a short code that
expires after ``PAIRING_TTL``, the same code for a stranger who asks again, at most
``MAX_PENDING`` codes waiting per platform. The codes live under the farm's hash tag;
approving one writes the identity into one crew (``join``), never into the others.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from equipage.errors import ConfigError
from equipage.keys import FarmKeys, Keys
from equipage.members import MAX_PENDING, PAIRING_TTL, CodeKeys, Pairing, request_code

__all__ = ["FarmPairings", "member_id_for"]


def member_id_for(pairing: Pairing) -> str:
    """The member id a paired stranger gets in the crew, as a crew's own pairing names it."""
    return f"{pairing.platform}-{pairing.user}"


class FarmPairings:
    """The farm's pending pairing codes."""

    def __init__(
        self, redis: aioredis.Redis, namespace: str = "eq", *, max_pending: int = MAX_PENDING
    ) -> None:
        self.redis = redis
        self.keys = FarmKeys(namespace)
        self.max_pending = max_pending

    async def request(self, platform: str, user: str, chat: str) -> Pairing | None:
        """A code for a stranger (the same one while it waits); None when too many wait."""
        where = CodeKeys(
            self.keys.pairing,
            self.keys.pairings_on(),
            self.keys.pairings_on,
            self.keys.pairing_asker,
        )
        return await request_code(
            self.redis, where, platform, user, chat, max_pending=self.max_pending
        )

    async def get(self, code: str) -> Pairing | None:
        """The pending request behind ``code``, or None (unknown, expired, or a crew's own)."""
        code = code.strip().upper()
        if not code:
            return None
        raw = await self.redis.get(self.keys.pairing(code))
        return Pairing.model_validate_json(raw) if raw else None

    async def pending(self) -> list[Pairing]:
        """The codes waiting, oldest first."""
        since = time.time() - PAIRING_TTL
        codes: Any = await self.redis.zrangebyscore(self.keys.pairings_on(), since, "+inf")
        if not codes:
            return []
        found = await self.redis.mget([self.keys.pairing(_text(code)) for code in codes])
        return [Pairing.model_validate_json(raw) for raw in found if raw]

    async def join(self, code: str, crew_keys: Keys, *, as_member: str | None = None) -> Pairing:
        """Let the person behind ``code`` into the crew of ``crew_keys``; drop the code.

        Writes one crew key (its identities, so that crew's gateway knows them), then the
        farm's; the caller adds the person to the people index before ``done``. Refuses an
        unknown or expired code.
        """
        pairing = await self.get(code)
        if pairing is None:
            raise ConfigError(
                f"no pending pairing code {code.strip().upper()}; codes expire after an hour: "
                "ask the person to write again for a new one"
            )
        identity = f"{pairing.platform}:{pairing.user}"
        member = as_member or member_id_for(pairing)
        await self.redis.hset(crew_keys.identities, identity, member)
        return pairing

    async def done(self, pairing: Pairing) -> None:
        """Forget an approved code (after the person was let in)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(
                self.keys.pairing(pairing.code),
                self.keys.pairing_asker(pairing.platform, pairing.user),
            )
            pipe.zrem(self.keys.pairings_on(), pairing.code)
            pipe.zrem(self.keys.pairings_on(pairing.platform), pairing.code)
            await pipe.execute()


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
