"""Live updates over SSE: one reader of the crew's events stream, fanned out in memory.

A console has one ``Hub``: its one task reads the events stream with a blocking XREAD
(one Redis connection, however many browsers follow) and puts each event on the queue of
every subscriber. A subscriber too slow to keep up (its queue full) is dropped and its
stream ends (the browser's EventSource reconnects); one that disconnects unsubscribes.
The reader runs while someone follows and stops with the last one.

``stream`` answers an SSE request: the events after the page's own (``after``, read once
with XRANGE so nothing falls between the page and its stream), then live ones, each as
the HTML its page's ``shown`` makes of it, or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError

from equipage.events import Event

__all__ = ["Hub", "Shown", "Subscriber", "last_event_id", "stream"]

log = logging.getLogger(__name__)

#: Turns one event into the HTML the page appends (None: not for this page or viewer).
Shown = Callable[[str, Event], Awaitable[str | None]]
#: A comment sent when nothing happened for this long, so a gone browser is noticed.
_KEEPALIVE = 15.0
_BACKFILL = 200


@dataclass(eq=False)
class Subscriber:
    """One browser following: its queue of (entry id, event), and whether it was dropped."""

    queue: asyncio.Queue[tuple[str, Event] | None]  # None: the console is closing
    dropped: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """The one reader of a crew's events stream for a console, and its subscribers."""

    def __init__(
        self, redis: aioredis.Redis, stream: str, *, block_ms: int = 5000, queue_size: int = 256
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.block_ms = block_ms
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        #: Entries read by the reader so far (a test's and a benchmark's probe).
        self.read = 0

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        """Follow the stream from now on, until the block ends."""
        subscriber = Subscriber(asyncio.Queue(self.queue_size))
        async with self._starting:
            if self._task is None or self._task.done():
                # From the newest entry now, not "$" when the task gets to it: nothing
                # written after this subscription is missed.
                start = await last_event_id(self.redis, self.stream)
                self._task = asyncio.create_task(self._run(start), name="web-live")
            self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)
            if not self.subscribers and self._task is not None:
                self._task.cancel()
                self._task = None

    async def aclose(self) -> None:
        """Stop the reader; the streams still open end."""
        for subscriber in self.subscribers:
            subscriber.dropped.set()
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, last: str) -> None:
        while True:
            try:
                reply: Any = await self.redis.xread(
                    {self.stream: last}, count=100, block=self.block_ms
                )
            except (RedisError, OSError) as err:
                log.warning("console live events: reading failed, again in 1 s: %s", err)
                await asyncio.sleep(1.0)
                continue
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    last = _text(entry_id)
                    self.read += 1
                    event = _event(fields)
                    if event is not None:
                        self._fan_out(last, event)

    def _fan_out(self, entry_id: str, event: Event) -> None:
        for subscriber in list(self.subscribers):
            try:
                subscriber.queue.put_nowait((entry_id, event))
            except asyncio.QueueFull:
                # Too slow to follow: its browser reconnects and starts again from its page.
                self.subscribers.discard(subscriber)
                subscriber.dropped.set()


async def last_event_id(redis: aioredis.Redis, stream: str) -> str:
    """The id of the stream's newest entry ("0-0" when empty): where a page's live part starts."""
    newest: Any = await redis.xrevrange(stream, count=1)
    return _text(newest[0][0]) if newest else "0-0"


async def stream(request: Any, hub: Hub, shown: Shown, after: str | None) -> Any:
    """The SSE response following ``hub`` for one browser, events after ``after`` first."""
    from starlette.responses import StreamingResponse

    async def body() -> AsyncIterator[str]:
        async with hub.subscribe() as subscriber:
            # Servers on ASGI 2.4 tell a gone browser only when a write fails: listen, so
            # one that left is dropped now, not at the next event.
            watching = asyncio.create_task(_gone(request, subscriber))
            try:
                async for message in _messages(hub, subscriber, shown, after):
                    yield message
            finally:
                watching.cancel()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


async def _gone(request: Any, subscriber: Subscriber) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
    subscriber.dropped.set()
    with contextlib.suppress(asyncio.QueueFull):
        subscriber.queue.put_nowait(None)


async def _messages(
    hub: Hub, subscriber: Subscriber, shown: Shown, after: str | None
) -> AsyncIterator[str]:
    """The SSE messages of one subscriber: the backfill after ``after``, then live ones."""
    sent = _id(after) if after else (0, 0)
    if after:
        older: Any = await hub.redis.xrange(hub.stream, f"({after}", "+", count=_BACKFILL)
        for entry_id, fields in older:
            event = _event(fields)
            sent = _id(_text(entry_id))
            if event is not None and (html := await shown(_text(entry_id), event)):
                yield _message(_text(entry_id), html)
    while not subscriber.dropped.is_set():
        try:
            async with asyncio.timeout(_KEEPALIVE):
                got = await subscriber.queue.get()
        except TimeoutError:
            yield ": still here\n\n"
            continue
        if got is None:
            return
        entry_id, event = got
        if _id(entry_id) <= sent:
            continue  # already sent from the backfill
        if (html := await shown(entry_id, event)) is not None:
            yield _message(entry_id, html)


def _message(entry_id: str, html: str) -> str:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: step\nid: {entry_id}\n{data}\n"


def _event(fields: dict[bytes, bytes]) -> Event | None:
    raw = fields.get(b"event") or fields.get("event")  # type: ignore[call-overload]
    if raw is None:
        return None
    try:
        return Event.model_validate_json(raw)
    except (ValidationError, json.JSONDecodeError):
        return None  # another version's event: not shown rather than fatal


def _id(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis or 0), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
