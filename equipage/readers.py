"""Files read in a process of their own: capped in memory, and killed when they take too long.

``documents.extract`` caps what a file declares and holds; what no cap foresees (a PDF
whose text takes minutes, an allocation gone wild in a parser) must not cost the gateway.
So each file is read by a child process, forked for it by a small host process that has
the readers imported and nothing else: no copy of the gateway's memory, threads or main
module, a few milliseconds to start. Before it reads a byte the child caps its own address
space (``Limits.memory``) and CPU time, so a bomb ends in a MemoryError there; a child
still reading at the deadline is killed, not left to finish in a thread, and the next file
gets a fresh one. The host ends when its parent does; a child, at the latest at its CPU cap.

``Readers`` runs at most ``workers`` children at once, so reading never takes more than
``workers x Limits.memory``; ``readers()`` is the one pool of the process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import math
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import weakref
from typing import NoReturn

from pydantic import BaseModel, ConfigDict

from equipage.documents import Document, Limits, extract, refusal, size_text
from equipage.errors import DocumentRefused

__all__ = ["Readers", "readers", "serve"]

log = logging.getLogger(__name__)

_GONE_WITHIN = 5.0  # seconds for a killed child to be gone
_STARTED_WITHIN = 15.0  # seconds for a host to fork a reader, its own start included
_PID = struct.Struct("!i")
_SIZES = struct.Struct("!II")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    mime: str
    limits: Limits
    cpu: int  # seconds of CPU the child may use: it ends even if nobody kills it


class _Outcome(BaseModel):
    """What a child sends back: the document, or why it was refused."""

    model_config = ConfigDict(extra="forbid")

    document: Document | None = None
    refused: str | None = None
    memory: bool = False  # it ran out of the memory it was given
    failed: str | None = None  # the type of an error no reader expects


class Readers:
    """At most ``workers`` files read at once, each in a child process killed at its deadline."""

    def __init__(self, workers: int = 3) -> None:
        self.workers = workers
        self.running = 0  # children reading now
        self.waiting = 0  # files waiting for a free slot
        self._host: _Host | None = None
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._gates = weakref.WeakKeyDictionary()

    async def extract(
        self,
        data: bytes,
        *,
        name: str = "document",
        mime: str = "",
        limits: Limits | None = None,
        timeout: float | None = None,
    ) -> Document:
        """``documents.extract`` in a child; DocumentRefused also past ``timeout`` or memory.

        ``timeout`` (default ``limits.timeout``) counts from the child's start, not the wait
        for a slot. Cancelling the call kills the child.
        """
        limits = limits or Limits()
        gate = self._gate()
        self.waiting += 1
        try:
            await gate.acquire()
        finally:
            self.waiting -= 1
        try:
            self.running += 1
            seconds = limits.timeout if timeout is None else timeout
            return await self._read(data, name, mime, limits, seconds)
        finally:
            self.running -= 1
            gate.release()

    @property
    def host_pid(self) -> int | None:
        """The pid of this pool's host process, while it has one."""
        return self._host.process.pid if self._host is not None else None

    def close(self) -> None:
        """Stop the host process; the next file starts another."""
        if self._host is not None:
            self._host.close()
            self._host = None

    def _gate(self) -> asyncio.Semaphore:
        # One event loop per process in practice; a semaphore cannot serve two loops.
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.workers)
        return gate

    async def _read(
        self, data: bytes, name: str, mime: str, limits: Limits, timeout: float
    ) -> Document:
        for _ in range(2):  # a host that died takes the files it held: once more, on a new one
            try:
                return _document(await self._ask(data, name, mime, limits, timeout), name, limits)
            except _HostLost as lost:
                log.warning("the reader host was lost (%s); starting another", lost)
                self.close()
        raise refusal(
            name, "I could not start reading it (the reader process failed). "
            "Send it again in a moment, or paste its text in the chat."
        )  # fmt: skip

    async def _ask(
        self, data: bytes, name: str, mime: str, limits: Limits, timeout: float
    ) -> bytes:
        """The child's answer for the file (empty if it died without one)."""
        here, there = socket.socketpair()
        with there:
            try:
                if self._host is None or not self._host.alive():
                    self.close()
                    self._host = _Host()
                self._host.hand(there)
            except OSError as err:
                here.close()
                raise _HostLost(str(err)) from err
        # The child stops between PDF pages before it would be killed, with what it read.
        own = limits.model_copy(update={"timeout": timeout * 0.8})
        # The CPU cap is for a child nobody is left to kill (the gateway died): generous.
        request = _Request(name=name, mime=mime, limits=own, cpu=math.ceil(timeout) + 10)
        head = request.model_dump_json().encode()
        reader, writer = await asyncio.open_unix_connection(sock=here)
        pid = None
        try:
            writer.write(_SIZES.pack(len(head), len(data)) + head + data)
            try:
                # A new host first imports the readers (about a second): not the file's time.
                async with asyncio.timeout(_STARTED_WITHIN):
                    [pid] = _PID.unpack(await reader.readexactly(_PID.size))
            except (TimeoutError, asyncio.IncompleteReadError, OSError) as err:
                raise _HostLost(f"no reader started for the file: {err!r}") from err
            async with asyncio.timeout(timeout):
                return await _until_closed(reader, limits.max_chars * 8 + 65_536)
        except TimeoutError:
            raise refusal(
                name, f"it took longer than {timeout:g} s to read. Send a smaller file "
                "(a PDF of the pages that matter), or paste its text in the chat."
            ) from None  # fmt: skip
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return b""  # it died without a word
        finally:
            if pid is not None and not reader.at_eof():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await _gone(reader, pid)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _HostLost(Exception):
    """The host died before it forked a reader for the file."""


@functools.cache
def readers() -> Readers:
    """The process's one pool of readers."""
    pool = Readers()
    atexit.register(pool.close)
    return pool


def _document(answer: bytes, name: str, limits: Limits) -> Document:
    try:
        outcome = _Outcome.model_validate_json(answer)
    except ValueError:
        outcome = _Outcome()
    if outcome.document is not None:
        return outcome.document
    if outcome.refused is not None:
        raise DocumentRefused(outcome.refused)
    if outcome.failed is not None:
        raise refusal(
            name, f"reading it failed ({outcome.failed}). Send it again, or paste its text "
            "in the chat."
        )  # fmt: skip
    said = "needed" if outcome.memory else "stopped without an answer: it may need"
    raise refusal(
        name, f"reading it {said} more than the {size_text(limits.memory)} of memory I "
        "give one file, far more than a document should. Export it to PDF again, or "
        "paste its text in the chat."
    )  # fmt: skip


async def _until_closed(reader: asyncio.StreamReader, cap: int) -> bytes:
    answer = bytearray()
    while chunk := await reader.read(65_536):
        answer += chunk
        if len(answer) > cap:
            raise asyncio.LimitOverrunError("the reader's answer is too long", len(answer))
    return bytes(answer)


async def _gone(reader: asyncio.StreamReader, pid: int | None) -> None:
    """Wait for the child's end of the socket to close: it closes when the child is gone."""
    if pid is None or reader.at_eof():
        return
    try:
        async with asyncio.timeout(_GONE_WITHIN):
            while await reader.read(65_536):
                pass
    except (TimeoutError, OSError):
        log.warning("reader process %s outlived its kill by %s s", pid, _GONE_WITHIN)


class _Host:
    """The process that forks the readers: a fresh interpreter, only the readers imported."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        code = (
            f"import sys; sys.path[:] = {sys.path!r}; "
            f"from equipage.readers import serve; serve({theirs.fileno()})"
        )
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
            )
        self.control = ours

    def alive(self) -> bool:
        return self.process.poll() is None

    def hand(self, end: socket.socket) -> None:
        socket.send_fds(self.control, [b"r"], [end.fileno()])

    def close(self) -> None:
        # It holds no state; its readers, if any, end at their own deadline or CPU cap.
        self.control.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def serve(control: int) -> None:
    """Run the host: fork one reader per socket received on ``control``, until it closes."""
    import pypdf  # noqa: F401  # once here, not in every child

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the gateway, which ends us
    with socket.socket(fileno=control) as channel:
        while True:
            message, fds, _, _ = socket.recv_fds(channel, 1, 1)
            if not message:
                return  # the parent is gone
            if not fds:
                continue
            if os.fork() == 0:
                channel.close()
                _child(socket.socket(fileno=fds[0]))
            os.close(fds[0])


def _child(conn: socket.socket) -> NoReturn:
    """In the child: say its pid, take the file, cap this process, read, answer, end."""
    code = 1
    try:
        conn.sendall(_PID.pack(os.getpid()))
        head, size = _SIZES.unpack(_exactly(conn, _SIZES.size))
        request = _Request.model_validate_json(_exactly(conn, head))
        _cap(resource.RLIMIT_CORE, 0)  # a reader stopped for its CPU leaves no core file
        _cap(resource.RLIMIT_CPU, request.cpu)
        _cap(resource.RLIMIT_AS, request.limits.memory)
        data = _exactly(conn, size)
        try:
            document = extract(data, name=request.name, mime=request.mime, limits=request.limits)
            outcome = _Outcome(document=document)
        except DocumentRefused as refused:
            outcome = _Outcome(refused=str(refused))
        except MemoryError:
            outcome = _Outcome(memory=True)
        except Exception as err:  # a bug, not the file: logged here, named to the person
            log.exception("reading %s failed", request.name)
            outcome = _Outcome(failed=type(err).__name__)
        conn.sendall(outcome.model_dump_json().encode())
        code = 0
    finally:
        os._exit(code)  # never back into the host's loop


def _exactly(conn: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = conn.recv_into(view[got:])
        if not count:
            raise EOFError("the gateway hung up")
        got += count
    return bytes(buffer)


def _cap(limit: int, value: int) -> None:
    _, hard = resource.getrlimit(limit)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    # Past the soft CPU limit comes SIGXCPU; past the hard one, SIGKILL.
    ceiling = value + 1 if limit == resource.RLIMIT_CPU else hard
    with contextlib.suppress(ValueError, OSError):  # macOS refuses some RLIMIT_AS values
        resource.setrlimit(limit, (value, ceiling))
