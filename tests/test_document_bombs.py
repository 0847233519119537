"""Hostile files cost what they are allowed to: memory and time, measured from outside.

tests/procs/read_files.py reads them through ``read_attachments`` in a fresh process and
reports its own peak RSS: three bombs in one message (a .docx that declares 2 KB and
inflates to 2 GB, a 180 KB .docx of 16 million empty paragraphs, a PDF whose content
inflates to 1 GB), then a PDF whose text takes minutes, then a good PDF.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bombs import MB
from tests.procs.read_files import DEVIS, SLOW_TIMEOUT, Report

READ_FILES = Path(__file__).parent / "procs" / "read_files.py"
# Process trees are read from /proc, and macOS does not enforce RLIMIT_AS.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux process accounting")
ROOT = Path(__file__).parent.parent
# The gateway's process may grow by this much for a message of bombs: the files' bytes and
# their copies, never what they inflate to (2 GB, or 75 MB for pypdf's own limit).
GROWTH = 40 * MB
EXITS_WITHIN = 20.0  # seconds after its report; a reader left running holds it for minutes


class Run:
    def __init__(self, report: Report, lag: float | None, tmp: Path) -> None:
        self.report, self.lag, self.tmp = report, lag, tmp


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("tmpdir")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    process = subprocess.Popen(
        [sys.executable, str(READ_FILES)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()  # the report, once every message is read
        reported = time.monotonic()
        try:
            process.wait(timeout=EXITS_WITHIN)
            lag: float | None = time.monotonic() - reported
        except subprocess.TimeoutExpired:
            lag = None
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert line, f"read_files.py printed no report (exit code {process.returncode})"
    return Run(Report.model_validate_json(line), lag, tmp)


def test_a_message_of_bombs_leaves_the_gateway_process_under_its_memory_bound(run: Run) -> None:
    report = run.report

    assert report.after - report.before < GROWTH, (
        f"peak RSS grew by {(report.after - report.before) // MB} MB reading the bombs"
    )
    assert report.after < 400 * MB


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("lying.docx", "it could not be read as a Word document: it looks damaged"),
        ("paragraphs.docx", "the Word document has no text"),
        ("bomb.pdf", "it is built to take far more memory or work to read than a document"),
    ],
)
def test_each_bomb_reaches_the_crew_unread_with_its_reason(
    run: Run, name: str, reason: str
) -> None:
    read = run.report.bombs[name]

    assert read.text is None
    assert (read.error or "").startswith(reason), read.error


def test_slow_pdf_is_stopped_at_the_timeout_and_nothing_keeps_reading_it(run: Run) -> None:
    report = run.report

    assert report.slow.text is None
    assert "took longer than" in (report.slow.error or "")
    assert report.slow_seconds < SLOW_TIMEOUT + 5
    assert report.leftover == []  # the reader process is gone, not orphaned
    assert run.lag is not None, f"the process still ran {EXITS_WITHIN:g} s after its report"


def test_next_file_after_a_stopped_one_is_read_and_no_temp_file_is_left(run: Run) -> None:
    assert run.report.then.error is None
    assert run.report.then.text == DEVIS
    assert list(run.tmp.iterdir()) == []
