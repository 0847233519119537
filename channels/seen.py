"""Which platform messages the gateway has seen: a delivery is handled once.

A platform sends a message again when it had no 2xx in time (Slack after 3 s, Telegram and
WhatsApp on a 5xx). Each message id gets a marker: claimed while a delivery stores the
message, stored once it is handled. A delivery that finds it stored is a duplicate (2xx,
dropped); one that finds it claimed is told "later" (``StillHandling``: the platform sends
it again), since the first store may still fail and the message must not be lost to a
2xx. A claim lapses after ``claim_for`` seconds, so that a claim Redis could not take back
(it went away mid-store) does not drop the message forever.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.keys import SEEN_FOR, Keys

__all__ = ["CLAIMED", "Seen"]

CLAIMED = "claimed"
_STORED = "stored"  # markers of older versions say "1": stored too
_CLAIM = """
local found = redis.call('GET', KEYS[1])
if found then return found end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


class Seen:
    """The markers of one company's platform messages."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, claim_for: float) -> None:
        self.redis = redis
        self.keys = keys
        self.claim_for = claim_for
        self._claim = redis.register_script(_CLAIM)

    async def claim(self, channel: str, message_id: str) -> str | None:
        """Claim a message for this delivery: None when it is the first, else the marker
        found (``CLAIMED`` while another delivery stores it, else stored)."""
        ms = max(1, round(self.claim_for * 1000))
        found = await self._claim(keys=[self.keys.seen(channel, message_id)], args=[CLAIMED, ms])
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def stored(self, channel: str, message_id: str) -> None:
        """The message is handled: a duplicate for ``SEEN_FOR`` from now on."""
        await self.redis.set(self.keys.seen(channel, message_id), _STORED, ex=SEEN_FOR)

    async def forget(self, channel: str, message_id: str) -> None:
        """Its delivery failed: the platform's next one is handled, not dropped."""
        await self.redis.delete(self.keys.seen(channel, message_id))
