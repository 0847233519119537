"""Writes of tasks on their way to Redis, so the thread's next put can carry them.

LangGraph saves a task's writes in the background and, in the same step, puts the
checkpoint those writes lead to, without ordering the two. So the writes wait for the rest
of this turn of the event loop: the thread's next put (on the checkpoint they are attached
to) takes them into its own script, one round trip instead of two, and both land or
neither; writes no put took are sent alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Queued", "WriteQueue", "settle"]

#: Stores ``entries`` (field, entry, overwrite triples) on the writes hash ``key`` of
#: ``thread_id`` under the fence ``token``.
Send = Callable[[str, str, list[str | bytes], str], Awaitable[None]]


@dataclass
class Queued:
    """Writes of tasks on one checkpoint, on their way: the thread's next put carries them,
    else they go alone on the next turn of the event loop."""

    token: str
    stored: asyncio.Future[None]
    entries: list[str | bytes] = field(default_factory=list)
    taken: bool = False


def _retrieved(future: asyncio.Future[None]) -> None:
    # Whoever queued the writes may be gone (cancelled): their failure is still read, so
    # asyncio does not log it as never retrieved.
    if not future.cancelled():
        future.exception()


def settle(queued: Queued, error: BaseException | None) -> None:
    """Tell the writers of ``queued`` how its script ended."""
    if queued.stored.done():
        return
    if error is None:
        queued.stored.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        queued.stored.cancel()  # whether they landed is unknown, as for any cancelled call
    else:
        queued.stored.set_exception(error)


class WriteQueue:
    """Queued writes by the key of the writes hash they go to."""

    def __init__(self, send: Send) -> None:
        self._send_script = send
        self._queued: dict[str, Queued] = {}
        self._sending: set[asyncio.Task[None]] = set()

    def add(self, thread_id: str, key: str, token: str, entries: list[str | bytes]) -> Queued:
        """Queue ``entries`` for ``key``; await the result's ``stored`` for their fate."""
        queued = self._queued.get(key)
        if queued is None or queued.token != token or queued.taken:
            loop = asyncio.get_running_loop()
            queued = Queued(token, loop.create_future())
            queued.stored.add_done_callback(_retrieved)
            self._queued[key] = queued
            loop.call_soon(self._send_alone, thread_id, key, queued)
        queued.entries += entries
        return queued

    def take(self, key: str, token: str) -> Queued | None:
        """The writes queued for ``key`` under ``token``, now carried by the caller."""
        queued = self._queued.get(key)
        if queued is None or queued.taken or queued.token != token:
            return None
        del self._queued[key]
        queued.taken = True
        return queued

    def _send_alone(self, thread_id: str, key: str, queued: Queued) -> None:
        if queued.taken:
            return  # a put carried them
        if self._queued.get(key) is queued:
            del self._queued[key]
        queued.taken = True
        task = asyncio.get_running_loop().create_task(self._send(thread_id, key, queued))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, thread_id: str, key: str, queued: Queued) -> None:
        try:
            await self._send_script(thread_id, key, queued.entries, queued.token)
        except BaseException as err:
            settle(queued, err)
            raise
        settle(queued, None)
