"""Reads hostile files the way the gateway does, then reports its own peak memory.

tests/test_document_bombs.py runs it in a fresh process so the peak is this work's alone.
It prints one JSON line (``Report``) once every message is read, then exits; an exit that
lags behind that line means something still runs. Its own address space is capped first,
so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from channels.attachments import read_attachments
from equipage.documents import Limits
from equipage.envelope import Attachment
from equipage.testing import wait_until
from tests.bombs import MB, lying_docx, paragraphs_docx, pdf_flate_bomb, plain_pdf, slow_pdf

CAP = 1536 * MB  # this process and what it starts; a 2 GB bomb cannot be inflated here
SLOW_TIMEOUT = 1.5
DEVIS = "Devis : hébergement à Besançon"


class Read(BaseModel):
    text: str | None
    error: str | None


class Report(BaseModel):
    before: int  # peak RSS in bytes once warmed up (imports done, a file read)
    after: int  # peak RSS in bytes after the message of bombs
    bombs: dict[str, Read]
    slow: Read
    slow_seconds: float  # reading the slow file, timeout included
    leftover: list[int]  # pids still running under this process's children, after the slow file
    then: Read  # a good file read after the slow one was stopped


class Files:
    """A platform that serves files by name."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        return self.files[attachment.ref]


def peak() -> int:
    """This process's peak RSS in bytes. On Linux, VmHWM of its own memory: ru_maxrss
    keeps the high-water mark of the process it was forked from across the exec, so a
    test runner grown past the bound (a library loaded in it) would be reported here."""
    if sys.platform == "linux":
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def readers_under(pid: int) -> list[int]:
    """Processes still running that ``pid``'s children started: readers, never the host."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended while we looked
                continue
            state, parent = stat.rpartition(")")[2].split()[:2]
            if state not in ("Z", "X"):  # a process being torn down is gone already
                parents[int(entry.name)] = int(parent)
    children = {child for child, parent in parents.items() if parent == pid}
    return sorted(child for child, parent in parents.items() if parent in children)


async def readers_left(pid: int, within: float = 3.0) -> list[int]:
    """``readers_under(pid)`` once it is empty, or as it is after ``within`` seconds.

    A killed reader closes its socket a moment before it leaves the process table.
    """

    async def ended() -> bool:
        return not readers_under(pid)

    with contextlib.suppress(TimeoutError):
        await wait_until(ended, timeout=within, what="the readers to end")
    return readers_under(pid)


def attached(name: str) -> Attachment:
    return Attachment(name=name, mime="application/octet-stream", ref=name)


def read(attachment: Attachment) -> Read:
    return Read(text=attachment.text, error=attachment.error)


async def main() -> None:
    import docx  # noqa: F401  # imported before the baseline, like a warm gateway's
    import pypdf  # noqa: F401

    bombs = {
        "lying.docx": lying_docx(),
        "paragraphs.docx": paragraphs_docx(),
        "bomb.pdf": pdf_flate_bomb(),
    }
    files = Files({**bombs, "slow.pdf": slow_pdf(), "devis.pdf": plain_pdf(DEVIS)})
    await read_attachments(files, [attached("devis.pdf")], Limits())
    before = peak()
    bombs_read = await read_attachments(files, [attached(n) for n in bombs], Limits(timeout=60))
    after = peak()
    started = time.monotonic()
    [slow] = await read_attachments(files, [attached("slow.pdf")], Limits(timeout=SLOW_TIMEOUT))
    slow_seconds = time.monotonic() - started
    leftover = await readers_left(os.getpid())
    [then] = await read_attachments(files, [attached("devis.pdf")], Limits())
    report = Report(
        before=before,
        after=after,
        bombs={a.name: read(a) for a in bombs_read},
        slow=read(slow),
        slow_seconds=slow_seconds,
        leftover=leftover,
        then=read(then),
    )
    print(report.model_dump_json(), flush=True)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    asyncio.run(main())
