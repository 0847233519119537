"""The readers pool: each file read in a child process, capped in memory, killed on time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from equipage.documents import Limits
from equipage.errors import DocumentRefused
from equipage.readers import Readers
from equipage.testing import wait_until
from tests.bombs import MB, pdf_flate_bomb, plain_pdf, slow_pdf
from tests.procs.read_files import readers_left, readers_under

DEVIS = "Devis : hébergement à Besançon"
# Process trees are read from /proc, and macOS does not enforce RLIMIT_AS.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux process accounting")


@pytest.fixture
async def pool() -> AsyncIterator[Readers]:
    readers = Readers(workers=1)
    try:
        yield readers
    finally:
        readers.close()


async def refusal(
    pool: Readers, data: bytes, *, limits: Limits | None = None, timeout: float | None = None
) -> str:
    with pytest.raises(DocumentRefused) as caught:
        await pool.extract(data, name="f.pdf", limits=limits, timeout=timeout)
    return str(caught.value)


async def test_files_are_read_in_a_child_process_and_their_text_comes_back(pool: Readers) -> None:
    document = await pool.extract(plain_pdf(DEVIS), name="devis.pdf")
    again = await pool.extract("Réunion à Besançon".encode(), name="notes.txt")

    assert (document.kind, document.text) == ("pdf", DEVIS)
    assert again.text == "Réunion à Besançon"


async def test_refusals_come_back_from_the_child_as_they_were_worded(pool: Readers) -> None:
    message = await refusal(pool, b"\x89PNG\r\n\x1a\n" + bytes(32))

    assert message.startswith("f.pdf: it is an image (PNG).")


async def test_child_that_runs_out_of_memory_is_refused_with_the_memory_it_was_given(
    pool: Readers,
) -> None:
    # pypdf is let inflate 1 GB here: the child's own cap is what stops it.
    limits = Limits(max_unzipped=1024 * MB, memory=192 * MB)

    message = await refusal(pool, pdf_flate_bomb(inflated=256 * MB), limits=limits)

    assert "reading it needed more than the 192 MB of memory I give one file" in message


async def test_slow_pdf_is_killed_at_its_timeout_and_the_next_file_is_read(pool: Readers) -> None:
    message = await refusal(pool, slow_pdf(), timeout=1.0)

    assert "it took longer than 1 s to read" in message
    assert await readers_left(os.getpid()) == []
    assert (await pool.extract(plain_pdf(DEVIS), name="devis.pdf")).text == DEVIS


async def test_cancelling_a_read_kills_its_child_and_frees_the_slot_for_the_next(
    pool: Readers,
) -> None:
    slow = asyncio.create_task(pool.extract(slow_pdf(), name="lent.pdf", timeout=60))
    await wait_until(lambda: _true(bool(readers_under(os.getpid()))), what="the reader start")
    queued = asyncio.create_task(pool.extract(DEVIS.encode(), name="devis.txt"))
    await wait_until(lambda: _true(pool.waiting == 1), what="the second file to wait")
    assert pool.running == 1  # one worker: the second file waits for the first

    slow.cancel()

    assert (await queued).text == DEVIS
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await readers_left(os.getpid()) == []


async def test_a_dead_host_is_replaced_for_the_next_file(pool: Readers) -> None:
    await pool.extract(DEVIS.encode(), name="devis.txt")
    # Other pools of this test process may have hosts of their own: kill this one's.
    host = pool.host_pid
    assert host is not None and host in _children()

    os.kill(host, signal.SIGKILL)

    assert (await pool.extract(plain_pdf(DEVIS), name="devis.pdf")).text == DEVIS


async def _true(value: bool) -> bool:
    return value


def _children() -> list[int]:
    mine = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
                mine.append(int(entry.name))
    return mine
