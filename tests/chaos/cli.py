"""What every chaos campaign does around its run from the command line: a work folder of its
own, SIGTERM taken as Ctrl-C, the folder removed unless kept or a target was missed, the
report printed and written, exit 1 on a miss."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tests.chaos.report import Report

__all__ = ["run_campaign"]

R = TypeVar("R", bound=Report)


def run_campaign(
    campaign: Callable[[Path], Awaitable[R]], *, prefix: str, keep: bool, json_to: Path | None
) -> int:
    """Run ``campaign`` in a fresh folder (it gets the folder's root); the exit code."""
    report = asyncio.run(_in_folder(campaign, prefix, keep))
    text = json.dumps(report.model_dump(), indent=2)
    print(text)
    if json_to:
        json_to.write_text(text + "\n")
    if report.misses:
        print("targets missed: " + "; ".join(report.misses), file=sys.stderr)
        return 1
    return 0


async def _in_folder(campaign: Callable[[Path], Awaitable[R]], prefix: str, keep: bool) -> R:
    # SIGTERM ends the run as Ctrl-C does: processes stopped, the servers shut down.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    report = await campaign(root)
    if not keep and not report.misses:
        shutil.rmtree(root, ignore_errors=True)
        report.workdir = ""
    return report
