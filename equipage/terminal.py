"""Lines typed in a terminal, read by the event loop rather than by a thread."""

from __future__ import annotations

import asyncio
import os

__all__ = ["TerminalInput", "read_by_console"]

#: Descriptors a TerminalInput reads now: nothing else in the process may read them.
_READING: set[int] = set()


def read_by_console(fd: int) -> bool:
    """True while ``equipage up``'s console reads ``fd``: another reader would steal its lines."""
    return fd in _READING


class TerminalInput:
    """Lines typed on a file descriptor, read when the event loop sees them arrive.

    No thread sits in a blocking read, so Ctrl-C stops ``equipage up`` at once instead of
    after the next Enter. The descriptor is left blocking: on a terminal stdout shares its
    file description, and a non-blocking one can fail a long write.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = b""
        self._ended = False
        self._arrived = asyncio.Event()
        self._watched = False

    def __enter__(self) -> TerminalInput:
        try:
            asyncio.get_running_loop().add_reader(self._fd, self._read)
            self._watched = True
            _READING.add(self._fd)
        except PermissionError:
            pass  # a regular file (``up < notes.txt``): epoll refuses it, and it never blocks
        return self

    def __exit__(self, *_: object) -> None:
        if self._watched:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._watched = False
            _READING.discard(self._fd)

    async def readline(self, stop: asyncio.Event) -> str | None:
        """The next line, without its end; None at the end of input or once ``stop`` is set."""
        while b"\n" not in self._pending and not self._ended and not stop.is_set():
            if not self._watched:
                self._read()
                continue
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({arrived, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrived.cancel()
                stopping.cancel()
        if stop.is_set() or not self._pending:
            return None
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # the terminal went away (EIO): the same as its end
            data = b""
        if not data:
            self._ended = True
            self.__exit__()  # a pipe at its end stays readable: stop watching it
        self._pending += data
        self._arrived.set()
