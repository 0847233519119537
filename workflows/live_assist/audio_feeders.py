"""Feeders that hear a call's audio: a growing file, or a WebSocket of audio frames.

Both cut the audio into windows (``windows``) as it arrives and hand them, in order, to
one transcribing task (``listening.Ears``), so taking audio never waits on the
transcriber. Where they read or listen is the owner's choice (``equipage live
--audio-file`` or ``--audio-port``), never a model's. A refusal (audio past its limits,
a spent budget) ends the session, as a refused transcript does, and goes to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from equipage.errors import InputRejected
from equipage.llm.speech import close_speech
from workflows.live_assist.audio_settings import MAX_WINDOW
from workflows.live_assist.listening import Ears
from workflows.live_assist.segments import Segment, add_segment, parse_message
from workflows.live_assist.windows import Window, Windower

__all__ = ["AudioFeed", "audio_websocket", "follow_file", "hear_audio"]

log = logging.getLogger(__name__)

#: Largest WebSocket message: a window of 48 kHz 16-bit PCM, and some room.
MAX_AUDIO_MESSAGE = int(MAX_WINDOW * 48_000 * 2) + 64 * 1024
_READ = 256 * 1024
_POLL = 0.1  # seconds between looks at a growing file


class AudioFeed:
    """Windows heard one at a time, in order, while more audio comes in."""

    def __init__(self, ears: Ears) -> None:
        self.ears = ears
        self._queue: asyncio.Queue[tuple[Window, float] | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.refused: InputRejected | None = None

    def windower(self) -> Windower:
        return Windower(self.ears.settings, language=self.ears.language)

    async def take(self, windower: Windower, chunk: bytes) -> None:
        """Add audio; InputRejected past a limit, or once the budget refused a window."""
        if self.refused is not None:
            raise self.refused
        ready = time.perf_counter()
        for window in windower.take(chunk):
            self._put(window, ready)

    def done(self, windower: Windower) -> None:
        """The stream is over: its last window is heard too."""
        ready = time.perf_counter()
        for window in windower.flush():
            self._put(window, ready)

    async def drain(self) -> None:
        """Wait until every window taken is heard; raise the refusal that stopped it."""
        if self._worker is not None:
            self._queue.put_nowait(None)
            await self._worker
            self._worker = None
        if self.refused is not None:
            raise self.refused

    async def end(self) -> None:
        """Hear what is left, then end the session."""
        try:
            await self.drain()
        finally:
            await add_segment(
                self.ears.redis, self.ears.keys, self.ears.session, Segment(kind="end")
            )

    async def end_quietly(self) -> None:
        """End the session after a refusal already told to whoever sent the audio."""
        with contextlib.suppress(InputRejected):
            await self.end()

    def _put(self, window: Window, ready: float) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._hear_all())
        self._queue.put_nowait((window, ready))

    async def _hear_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            if self.refused is None:
                try:
                    await self.ears.hear(*item)
                except InputRejected as err:
                    self.refused = err


async def follow_file(feed: AudioFeed, path: Path, stop: asyncio.Event | None = None) -> float:
    """Hear ``path`` as it grows, until it stops growing for ``quiet`` seconds; then end the
    session. Returns the seconds heard."""
    windower = feed.windower()
    quiet = feed.ears.settings.quiet
    loop = asyncio.get_running_loop()
    try:
        with path.open("rb") as file:
            still_until = loop.time() + quiet
            while loop.time() < still_until and not (stop is not None and stop.is_set()):
                chunk = file.read(_READ)
                if chunk:
                    await feed.take(windower, chunk)
                    still_until = loop.time() + quiet
                elif stop is None:
                    await asyncio.sleep(_POLL)  # a file says nothing when it grows: look again
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), _POLL)
        feed.done(windower)
    finally:
        await feed.end()
    return windower.heard


@contextlib.asynccontextmanager
async def audio_websocket(feed: AudioFeed, host: str, port: int) -> AsyncIterator[int]:
    """Serve a WebSocket that hears audio; yields the port it listens on.

    Binary messages are audio: raw 16-bit mono PCM at ``audio.sample_rate``, a WAV stream
    or Ogg/Opus pages, as the first bytes say. Text messages are lines or segments as on
    the transcript WebSocket (``/suggest``, ``/end``); ``/end`` is answered once all the
    audio before it is heard. A connection that closes has its last window heard.
    """

    async def handler(connection: ServerConnection) -> None:
        windower = feed.windower()
        with contextlib.suppress(ConnectionClosed):
            try:
                async for message in connection:
                    if isinstance(message, bytes):
                        await feed.take(windower, message)
                        continue
                    segment = parse_message(message)
                    if segment is None:
                        continue
                    if segment.kind == "end":
                        feed.done(windower)
                        await feed.end()
                        await connection.send(json.dumps({"ok": True, "ended": True}))
                        return
                    entry = await add_segment(feed.ears.redis, feed.ears.keys,
                                              feed.ears.session, segment)  # fmt: skip
                    await connection.send(json.dumps({"ok": True, "entry": entry}))
            except InputRejected as err:
                log.warning("live_assist: %s", err)
                await feed.end_quietly()
                await connection.send(json.dumps({"ok": False, "error": str(err)}))
                await connection.close(1008, "refused")
                return
        feed.done(windower)

    server = await serve(handler, host, port, max_size=MAX_AUDIO_MESSAGE)
    try:
        sockets = list(server.sockets)
        yield int(sockets[0].getsockname()[1]) if sockets else port
    finally:
        server.close()
        await server.wait_closed()
        with contextlib.suppress(InputRejected):
            await feed.drain()


async def hear_audio(
    feed: AudioFeed,
    *,
    path: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Hear ``path`` as it grows, or serve the audio WebSocket on ``host:port`` until
    cancelled; ``on_listening`` gets where the audio is taken from."""
    try:
        if path is not None:
            if on_listening is not None:
                on_listening(str(path))
            await follow_file(feed, path)
            return
        async with audio_websocket(feed, host, port or 0) as bound:
            if on_listening is not None:
                on_listening(f"ws://{host}:{bound}")
            await asyncio.Event().wait()  # until the session ends and cancels this
    finally:
        await close_speech(feed.ears.speech)
