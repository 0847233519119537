"""A worker's upkeep of its runs in progress: their entries' claims and their threads' leases.

While a handler runs, its entry must stay fresh in the consumer group (else another worker
reclaims it after the visibility timeout) and its thread's lease must not lapse (else
another worker takes the thread). One timer per worker renews all of them, each kind in one
round trip, rather than two tasks per delivery: a delivery's path then only enters and
leaves a dict, and a thousand runs in progress cost two commands a period, not two thousand.

A renewal that lands just after its run ended changes nothing: a lease is renewed only
while it still holds the run's token, and an acknowledged entry cannot be claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from equipage.bus import Bus, Delivery, Turn

__all__ = ["Upkeep"]

T = TypeVar("T")


class _Every(Generic[T]):
    """Runs ``renew`` on the items held every ``period()`` seconds while it holds any.

    A loop timer, not a task: nothing runs (and nothing needs stopping) while no run is in
    progress. A renewal still waiting on Redis when the next period comes is not doubled.
    """

    def __init__(
        self, period: Callable[[], float], renew: Callable[[list[T]], Awaitable[None]]
    ) -> None:
        self.period = period
        self.renew = renew
        self.items: dict[object, T] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def holding(self, item: T) -> _Held[T]:
        loop = asyncio.get_running_loop()
        # A timer of a loop that has ended never fires: one is armed on this loop then.
        if self._timer is None or self._loop is not loop:
            self._loop, self._task = loop, None
            self._timer = loop.call_later(self.period(), self._tick)
        return _Held(self.items, item)

    def _tick(self) -> None:
        self._timer = None
        if not self.items or self._loop is None:
            return
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._quietly())
        self._timer = self._loop.call_later(self.period(), self._tick)

    async def _quietly(self) -> None:
        # Redis away for a moment: the next period (or a reclaim) settles it; a run's
        # outcome must not be lost to its upkeep's error.
        with contextlib.suppress(RedisError):
            await self.renew(list(self.items.values()))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            # Awaited, never cancelled: redis-py on Python 3.11 can swallow a cancellation
            # that lands mid-command.
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class _Held(Generic[T]):
    """An item held for the length of a ``with`` block (a class: cheaper than a generator)."""

    __slots__ = ("item", "items", "ticket")

    def __init__(self, items: dict[object, T], item: T) -> None:
        self.items, self.item = items, item
        self.ticket = object()  # the same entry or turn may be held twice (a nested run)

    def __enter__(self) -> None:
        self.items[self.ticket] = self.item

    def __exit__(self, *exc: object) -> None:
        del self.items[self.ticket]


class Upkeep:
    """Keeps the entries a worker handles claimed, and the leases of its turns held."""

    def __init__(self, bus: Bus, consumer: str) -> None:
        self.bus = bus
        self.consumer = consumer
        self._claims: _Every[Delivery] = _Every(
            lambda: max(bus.visibility_timeout / 3, 0.05), self._touch
        )
        # A lease lost while Redis was away is not taken back by force: the thread's order
        # check keeps a second worker off its entry.
        self._leases: _Every[Turn] = _Every(lambda: max(bus.lease_ttl / 3, 0.05), bus.renew_turns)

    def claimed(self, delivery: Delivery) -> _Held[Delivery]:
        """While in this block, ``delivery``'s entry is not reclaimed by another worker."""
        return self._claims.holding(delivery)

    def held(self, turn: Turn) -> _Held[Turn]:
        """While in this block, ``turn``'s lease is renewed."""
        return self._leases.holding(turn)

    async def _touch(self, deliveries: list[Delivery]) -> None:
        await self.bus.touch(deliveries, self.consumer)

    async def close(self) -> None:
        """Stop the timers, after any renewal under way."""
        await self._claims.close()
        await self._leases.close()
