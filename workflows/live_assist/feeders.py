"""Thin feeders that put transcript segments on a session's stream: stdin and WebSocket.

Each only parses and XADDs (see ``segments`` for the stream's fields); the assistant
reads the stream wherever it runs. ``equipage live`` calls these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterable, AsyncIterator
from typing import TextIO

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from equipage.errors import ConfigError, InputRejected
from equipage.keys import Keys
from equipage.terminal import read_by_console
from workflows.live_assist.reading import MAX_TRANSCRIPT, read_lines
from workflows.live_assist.segments import Segment, add_segment, parse_line, parse_message

__all__ = [
    "feed_lines",
    "feed_stdin",
    "serve_websocket",
    "transcript_stdin",
    "websocket_feeder",
]

log = logging.getLogger(__name__)

#: Largest WebSocket message taken: a segment is a sentence or two, not a document.
MAX_MESSAGE = 64 * 1024


async def feed_lines(
    redis: aioredis.Redis,
    keys: Keys,
    session: str,
    lines: AsyncIterable[str],
    *,
    end_on_eof: bool = True,
) -> int:
    """XADD each line as a segment; an 'end' segment when the lines run out. Returns the count.

    Lines refused on the way (a transcript over its size limit) end the session too, so
    the assistant stops at once, and the refusal goes on to the caller.
    """
    count = 0
    ended = False
    try:
        async for line in lines:
            segment = parse_line(line)
            if segment is None:
                continue
            await add_segment(redis, keys, session, segment)
            count += 1
            if segment.kind == "end":
                ended = True
                break
    except InputRejected:
        if end_on_eof and not ended:
            await add_segment(redis, keys, session, Segment(kind="end"))
        raise
    if end_on_eof and not ended:
        await add_segment(redis, keys, session, Segment(kind="end"))
        count += 1
    return count


async def feed_stdin(
    redis: aioredis.Redis,
    keys: Keys,
    session: str,
    stream: TextIO | None = None,
    *,
    end_on_eof: bool = True,
    max_bytes: int = MAX_TRANSCRIPT,
    language: str | None = None,
) -> int:
    """Feed ``stream`` (default: stdin) line by line: ``speaker: text``, ``/suggest``, ``/end``.

    InputRejected, in ``language``, when the transcript passes ``max_bytes``: a file is
    refused before it is read, a pipe when it gets there (what came before is kept).
    """
    lines = read_lines(transcript_stdin(stream), max_bytes=max_bytes, language=language)
    return await feed_lines(redis, keys, session, lines, end_on_eof=end_on_eof)


def transcript_stdin(stream: TextIO | None = None) -> TextIO:
    """``stream`` (default: stdin), refused while ``equipage up``'s console reads it.

    Each would get half the lines, and the feeder closes the stream at its end.
    """
    stream = stream if stream is not None else sys.stdin
    if read_by_console(stream.fileno()):
        raise ConfigError(
            "a live session cannot read the transcript from stdin in this process: its stdin "
            "is the console of `equipage up`. Feed it from another terminal with "
            "`equipage live` (or `equipage workflow run live_assist --set source=stdin`), or "
            "set `source: websocket` under workflows.live_assist in company.yaml"
        )
    return stream


@contextlib.asynccontextmanager
async def websocket_feeder(
    redis: aioredis.Redis, keys: Keys, session: str, host: str, port: int
) -> AsyncIterator[int]:
    """Serve a WebSocket that turns messages into segments; yields the port it listens on.

    A message is a JSON object (``{"text", "speaker", "start", "end", "id", "kind"}``) or a
    plain line; each gets ``{"ok": true, "entry": <stream id>}`` or ``{"ok": false,
    "error": ...}`` back, so a client knows what to resend.
    """

    async def handler(connection: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in connection:
                await connection.send(await _take(redis, keys, session, message))

    server = await serve(handler, host, port, max_size=MAX_MESSAGE)
    try:
        sockets = list(server.sockets)
        yield int(sockets[0].getsockname()[1]) if sockets else port
    finally:
        server.close()
        await server.wait_closed()


async def serve_websocket(
    redis: aioredis.Redis,
    keys: Keys,
    session: str,
    host: str,
    port: int,
    stop: asyncio.Event,
) -> None:
    """Serve the WebSocket feeder until ``stop`` is set."""
    async with websocket_feeder(redis, keys, session, host, port) as bound:
        log.info("live session %s: segments accepted on ws://%s:%d", session, host, bound)
        await stop.wait()


async def _take(redis: aioredis.Redis, keys: Keys, session: str, message: str | bytes) -> str:
    try:
        segment = parse_message(message)
    except InputRejected as err:
        return json.dumps({"ok": False, "error": str(err)})
    if segment is None:
        return json.dumps({"ok": False, "error": "the segment is empty; send some text"})
    entry = await add_segment(redis, keys, session, segment)
    return json.dumps({"ok": True, "entry": entry})
