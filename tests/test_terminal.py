"""Lines typed in a terminal (equipage.terminal), read by the event loop: a pipe stands in."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import TextIO

import pytest
import redis.asyncio as aioredis

from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.terminal import TerminalInput
from workflows.live_assist import feed_stdin


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    try:
        yield read, write
    finally:
        for fd in (read, write):
            with contextlib.suppress(OSError):  # closed by the test
                os.close(fd)


async def test_lines_are_read_as_typed_and_a_last_line_without_newline_counts(
    pipe: tuple[int, int],
) -> None:
    read, write = pipe
    stop = asyncio.Event()
    with TerminalInput(read) as typed:
        os.write(write, "hello\r\nça va\nlast".encode())
        os.close(write)
        assert await typed.readline(stop) == "hello"
        assert await typed.readline(stop) == "ça va"
        assert await typed.readline(stop) == "last"
        assert await typed.readline(stop) is None


async def test_a_stop_ends_the_wait_for_a_line_at_once(pipe: tuple[int, int]) -> None:
    read, _ = pipe
    stop = asyncio.Event()
    with TerminalInput(read) as typed:
        waiting = asyncio.create_task(typed.readline(stop))
        await asyncio.sleep(0)  # let it start waiting: nothing will ever be typed
        stop.set()
        assert await asyncio.wait_for(waiting, timeout=5) is None


@pytest.fixture
def stream(pipe: tuple[int, int]) -> Iterator[TextIO]:
    """The pipe's reading end as a text file, as sys.stdin is."""
    with open(pipe[0], closefd=False) as text:
        yield text


async def test_a_live_run_refuses_to_read_the_stdin_that_the_console_reads(
    pipe: tuple[int, int], stream: TextIO, redis: aioredis.Redis, keys: Keys
) -> None:
    read, write = pipe
    stop = asyncio.Event()
    with TerminalInput(read) as typed:
        with pytest.raises(ConfigError, match="console"):
            await asyncio.wait_for(feed_stdin(redis, keys, "call1", stream), timeout=5)
        os.write(write, b"/help\n")
        assert await asyncio.wait_for(typed.readline(stop), timeout=5) == "/help"
