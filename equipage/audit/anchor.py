"""Anchors: copies of the audit chain's head kept outside Redis, in the Equipage home.

The chain's MACs show edits, copies and gaps, but not the newest entries cut off, nor the
whole stream deleted: an anchor does. Every process that runs workers anchors each minute
when the head moved, and once more when it stops; entries written after the last anchor
can still be cut without a trace, which is the price of not writing a file per entry.

An anchor is only written if the chain still extends the previous one, so a chain cut or
rewritten behind an anchor never gets a fresh anchor that would hide it. The file keeps
the latest anchors, replaced whole (temp file, fsync, rename) under a lock, so concurrent
processes neither corrupt it nor move it backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from pydantic import ValidationError

from equipage.audit.chain import Audit
from equipage.audit.report import Anchor
from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["AnchorFile", "Anchorer", "anchor_file"]

log = logging.getLogger(__name__)


def anchor_file(home: Path, keys: Keys) -> Path:
    """Where the anchors of one company's chain live under ``home``."""
    return home / "audit" / f"{quote(keys.namespace, safe='')}.{keys.company}.anchors.json"


class AnchorFile:
    """The latest ``keep`` anchors of one chain, oldest first."""

    def __init__(self, path: Path, *, keep: int = 100) -> None:
        self.path = path
        self.keep = keep

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> list[Anchor]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            return [Anchor.model_validate(a) for a in json.loads(text)["anchors"]]
        except (ValueError, KeyError, TypeError, ValidationError) as err:
            raise ConfigError(
                "the audit anchors cannot be read; restore the file from a backup, or move it "
                f"aside to start anchoring anew (the chain is then unanchored): {err}",
                path=str(self.path),
            ) from err

    def add(self, anchor: Anchor) -> bool:
        """Append ``anchor`` unless the file already holds one as new; True if added."""
        with self._locked():
            anchors = self.read()
            if anchors and anchors[-1].seq >= anchor.seq:
                return False
            self._replace([*anchors, anchor][-self.keep :])
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _replace(self, anchors: list[Anchor]) -> None:
        text = json.dumps({"anchors": [a.model_dump() for a in anchors]}, indent=1)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temp, "w", encoding="utf-8") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)
        # The rename itself is durable only once the folder is flushed.
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


class Anchorer:
    """Anchors one chain: now (``anchor``), or each ``interval`` seconds until stopped."""

    def __init__(
        self,
        audit: Audit,
        file: AnchorFile,
        *,
        interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audit = audit
        self.file = file
        self.interval = interval
        self.clock = clock
        self._reported = ""

    async def anchor(self) -> Anchor | None:
        """Anchor the head if it moved and still extends the last anchor; the new anchor."""
        key = self.audit.require_key()
        anchors = await asyncio.to_thread(self.file.read)
        last = anchors[-1] if anchors else None
        checked = await self.audit.extends(last)
        if not checked.ok:
            problem = str(checked.breaks[0])
            if problem != self._reported:  # once, not every minute
                self._reported = problem
                log.error(
                    "the audit chain is broken, so it is not anchored (run 'equipage audit "
                    "verify'): %s",
                    problem,
                )
            return None
        head = checked.head
        if head is None or not head.signed or (last is not None and head.seq <= last.seq):
            return None
        anchor = Anchor(
            seq=head.seq,
            mac=head.mac,
            entry=head.id,
            count=head.seq + 1,
            at=self.clock(),
            key=key.id,
            signed_from=last.signed_from if last else checked.unsigned,
        )
        added = await asyncio.to_thread(self.file.add, anchor)
        return anchor if added else None

    async def run(self, stop: asyncio.Event) -> None:
        """Anchor now, then each ``interval`` seconds, and once more when ``stop`` is set."""
        while True:
            await self.anchor_quietly()
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def anchor_quietly(self) -> Anchor | None:
        """``anchor``, logging failures: a full disk or a lost Redis must not stop the crew."""
        try:
            return await self.anchor()
        except Exception as error:
            log.error("could not anchor the audit chain: %s", error)
            return None
