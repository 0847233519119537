"""Live updates over SSE: one reader of the crew's events stream, fanned out in memory.

A console has one ``Hub``: its one task reads the events stream with a blocking XREAD
(one Redis connection, however many browsers follow) and puts each event on the queue of
every subscriber. Given the crew's keys, the same XREAD follows the drafts stream too
(``equipage.drafts``: both share the crew's hash tag): for each wake-up the hub reads the
draft once and hands the reply being written, as a ``Draft``, to the subscribers that
show drafts; a reply or question published for a person ends its conversation's draft.
A subscriber too slow to keep up (its queue full) is dropped and its stream ends (the
browser's EventSource reconnects); one that disconnects unsubscribes. The reader runs
while someone follows and stops with the last one.

``stream`` answers an SSE request: the events after the page's own (``after``, read once
with XRANGE so nothing falls between the page and its stream), then live ones, each as
the HTML its page's ``shown`` makes of it, or nothing; drafts, for a page that shows
them, as ``draft`` messages of the HTML its ``drafted`` makes.
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
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import RedisError
from redis.typing import KeyT, StreamIdT

from equipage.envelope import Origin
from equipage.events import Event, EventType
from equipage.keys import Keys
from equipage.web.threadindex import root_of

__all__ = ["Draft", "Drafted", "Hub", "Shown", "Subscriber", "last_event_id", "stream"]

log = logging.getLogger(__name__)

#: Turns one event into the HTML the page appends (None: not for this page or viewer).
Shown = Callable[[str, Event], Awaitable[str | None]]
#: A comment sent when nothing happened for this long, so a gone browser is noticed.
_KEEPALIVE = 15.0
_BACKFILL = 200


class Draft(BaseModel):
    """A reply being written in a conversation, as far as it is written ("" once it is sent)."""

    model_config = ConfigDict(frozen=True)

    root: str  # the conversation (``threadindex.root_of``) it is written in
    sender: str = ""  # the role writing it
    text: str = ""


#: Turns a draft into the HTML the page shows in its place (None: not for this page).
Drafted = Callable[[Draft], Awaitable[str | None]]


@dataclass(eq=False)
class Subscriber:
    """One browser following: its queue of (entry id, event or draft), whether it shows
    drafts, and whether it was dropped."""

    queue: asyncio.Queue[tuple[str, Event | Draft] | None]  # None: the console is closing
    drafts: bool = False
    dropped: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """The one reader of a crew's events stream (and drafts) for a console, and its
    subscribers."""

    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        *,
        keys: Keys | None = None,
        block_ms: int = 5000,
        queue_size: int = 256,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.keys = keys  # None: no drafts followed
        self.block_ms = block_ms
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        #: Entries read by the reader so far (a test's and a benchmark's probe).
        self.read = 0

    @property
    def reading(self) -> bool:
        """Whether its reader runs now: someone follows."""
        return self._task is not None and not self._task.done()

    @contextlib.asynccontextmanager
    async def subscribe(self, *, drafts: bool = False) -> AsyncIterator[Subscriber]:
        """Follow the stream (and drafts, if asked) from now on, until the block ends."""
        subscriber = Subscriber(asyncio.Queue(self.queue_size), drafts=drafts)
        async with self._starting:
            if self._task is None or self._task.done():
                # From the newest entries now, not "$" when the task gets to it: nothing
                # written after this subscription is missed.
                cursors: dict[KeyT, StreamIdT] = {
                    self.stream: await last_event_id(self.redis, self.stream)
                }
                if self.keys is not None:
                    drafts_stream = self.keys.drafts
                    cursors[drafts_stream] = await last_event_id(self.redis, drafts_stream)
                self._task = asyncio.create_task(self._run(cursors), name="web-live")
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

    async def _run(self, cursors: dict[KeyT, StreamIdT]) -> None:
        while True:
            try:
                reply: Any = await self.redis.xread(cursors, count=100, block=self.block_ms)
            except (RedisError, OSError) as err:
                log.warning("console live events: reading failed, again in 1 s: %s", err)
                await asyncio.sleep(1.0)
                continue
            read = [
                (_text(name), _text(entry_id), fields)
                for name, entries in reply or []
                for entry_id, fields in entries
            ]
            # In the order written across both streams: a draft's last wake-up comes
            # before the reply that ends it.
            for name, entry_id, fields in sorted(read, key=lambda got: _id(got[1])):
                cursors[name] = entry_id
                if name == self.stream:
                    self.read += 1
                    self._on_event(entry_id, fields)
                elif any(s.drafts for s in self.subscribers) and (
                    draft := await self._draft(fields)
                ):
                    self._fan_out(entry_id, draft)

    def _on_event(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        event = _event(fields)
        if event is None:
            return
        self._fan_out(entry_id, event)
        if self.keys is not None and event.type == EventType.PUBLISHED and event.to == "human":
            # The reply (or a question) is out: its conversation's draft is over.
            self._fan_out(entry_id, Draft(root=root_of(event.thread)))

    async def _draft(self, fields: dict[bytes, bytes]) -> Draft | None:
        """The draft a wake-up names, read once for every subscriber (None: gone or closed)."""
        assert self.keys is not None  # only read with the drafts stream
        cause = fields.get(b"cause") or fields.get("cause")  # type: ignore[call-overload]
        if cause is None:
            return None
        key = self.keys.draft(_text(cause))
        try:
            text, origin, sender, final = await self.redis.hmget(
                key, ["text", "origin", "sender", "final"]
            )
        except (RedisError, OSError) as err:
            log.warning("console live drafts: reading one failed: %s", err)
            return None
        if text is None or origin is None or final is not None:
            return None  # lapsed, or closed by its reply (shown by its event)
        try:
            where = Origin.model_validate_json(origin)
        except ValidationError:
            return None  # another version's draft: not shown rather than fatal
        return Draft(root=_conversation(where), sender=_text(sender or b""), text=_text(text))

    def _fan_out(self, entry_id: str, item: Event | Draft) -> None:
        for subscriber in list(self.subscribers):
            if isinstance(item, Draft) and not subscriber.drafts:
                continue
            try:
                subscriber.queue.put_nowait((entry_id, item))
            except asyncio.QueueFull:
                # Too slow to follow: its browser reconnects and starts again from its page.
                self.subscribers.discard(subscriber)
                subscriber.dropped.set()


async def last_event_id(redis: aioredis.Redis, stream: str) -> str:
    """The id of the stream's newest entry ("0-0" when empty): where a page's live part starts."""
    newest: Any = await redis.xrevrange(stream, count=1)
    return _text(newest[0][0]) if newest else "0-0"


def _conversation(origin: Origin) -> str:
    """The conversation a person's message started: the gateway names its thread so
    (``channels.gateway``), and a draft names only its origin."""
    base = f"{origin.channel}:{origin.chat}"
    return f"{base}:{origin.thread}" if origin.thread else base


async def stream(
    request: Any, hub: Hub, shown: Shown, after: str | None, drafted: Drafted | None = None
) -> Any:
    """The SSE response following ``hub`` for one browser, events after ``after`` first;
    drafts too when ``drafted`` shows them."""
    from starlette.responses import StreamingResponse

    async def body() -> AsyncIterator[str]:
        async with hub.subscribe(drafts=drafted is not None) as subscriber:
            # Servers on ASGI 2.4 tell a gone browser only when a write fails: listen, so
            # one that left is dropped now, not at the next event.
            watching = asyncio.create_task(_gone(request, subscriber))
            try:
                async for message in _messages(hub, subscriber, shown, after, drafted):
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
    hub: Hub, subscriber: Subscriber, shown: Shown, after: str | None, drafted: Drafted | None
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
        entry_id, item = got
        if isinstance(item, Draft):
            if drafted is not None and (html := await drafted(item)) is not None:
                yield _message(None, html, name="draft")  # no id: "after" counts events only
            continue
        if _id(entry_id) <= sent:
            continue  # already sent from the backfill
        if (html := await shown(entry_id, item)) is not None:
            yield _message(entry_id, html)


def _message(entry_id: str | None, html: str, *, name: str = "step") -> str:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    tagged = f"id: {entry_id}\n" if entry_id is not None else ""
    return f"event: {name}\n{tagged}{data}\n"


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
