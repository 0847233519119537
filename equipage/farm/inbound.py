"""How many messages a farm crew accepts a minute, and telling its owner when it hit that.

One counter per crew, under the crew's own hash tag, in a fixed window: the first message
to a quiet crew starts a minute, the counter counts every message until it expires with
the minute. INCR and PEXPIRE run as one script, so no counter outlives its window (a crash
between the two would leave one that never expires and refuses the crew for good).

Why a fixed window rather than a sliding one: one small key per crew written to in the
last minute, nothing for an idle crew, and one round trip per message. The price is that a
burst across a window's edge may pass up to twice the quota within a few seconds, which
is fine for a quota that holds a crew's cost and load, not an exact rate. The counter also
tells when the quota was first passed in its window (``first_over``): the one moment the
owner is told.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.farm.crews import Crew
from equipage.keys import Keys

__all__ = ["Counted", "InboundRate", "tell_owner"]

# KEYS: the crew's counter. ARGV: window (ms). Returns {count in this window, ms left}.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""


@dataclass(frozen=True)
class Counted:
    """One message counted against a crew's quota of ``limit`` per window."""

    count: int
    limit: int
    #: Seconds until the window ends and the crew accepts messages again.
    resets_in: int

    @property
    def accepted(self) -> bool:
        return self.count <= self.limit

    @property
    def first_over(self) -> bool:
        """True for the first message refused in this window: its owner is told now."""
        return self.count == self.limit + 1


class InboundRate:
    """Counts each crew's inbound messages per window (a minute) on the farm's Redis."""

    def __init__(self, redis: aioredis.Redis, *, window: float = 60.0) -> None:
        self.window_ms = max(1, int(window * 1000))
        self._count = redis.register_script(_COUNT)

    async def count(self, keys: Keys, limit: int) -> Counted:
        """Count one more message to the crew of ``keys``; ``accepted`` if within ``limit``."""
        count, left = await self._count(keys=[keys.inbound_rate], args=[self.window_ms])
        return Counted(count=int(count), limit=limit, resets_in=max(1, -(-int(left) // 1000)))


async def tell_owner(crew: Crew, bus: Bus, text: str, *, member: str) -> Envelope:
    """Put ``text`` for ``crew``'s owner on its outbox (``member``: their id in its config).

    It is an ordinary reply, as the welcome is: whatever delivers the crew's replies
    delivers it, on the owner's platform.
    """
    owner = crew.owner
    envelope = Envelope(
        kind=Kind.REPLY,
        company=crew.name,
        to="human",
        sender="farm",
        thread=f"{owner.platform}:{owner.id}",
        text=text,
        origin=Origin(channel=owner.platform, chat=owner.id, member=member, language=crew.language),
    )
    await bus.publish(envelope)
    return envelope
