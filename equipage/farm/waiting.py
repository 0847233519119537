"""What the pool's loop waits on: the crews queued to be served, and whether a part of the
loop goes on."""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["PARTS_END_WITHIN", "Waiting", "going"]

#: Seconds the loop waits for its parts to end once cancelled, before it goes on.
PARTS_END_WITHIN = 2.0


def going(stop: asyncio.Event) -> bool:
    """Whether a part of the loop goes on: not once told to stop, nor once its task is
    cancelled, even if an await inside caught the cancellation and carried on (seen: a
    cluster client's read during a failover), which would leave it running for good."""
    task = asyncio.current_task()
    return not stop.is_set() and not (task is not None and task.cancelling())


class Waiting:
    """Crews waiting to be served, each once, in round-robin order."""

    def __init__(self) -> None:
        self.order: deque[str] = deque()
        self.queued: set[str] = set()
        self.reclaim: set[str] = set()
        self.ready = asyncio.Event()

    def put(self, crew: str, *, reclaim: bool = False) -> None:
        if reclaim:
            self.reclaim.add(crew)
        if crew not in self.queued:
            self.queued.add(crew)
            self.order.append(crew)
        self.ready.set()

    def take(self) -> tuple[str, bool] | None:
        if not self.order:
            self.ready.clear()
            return None
        crew = self.order.popleft()
        self.queued.discard(crew)
        reclaim = crew in self.reclaim
        self.reclaim.discard(crew)
        return crew, reclaim
