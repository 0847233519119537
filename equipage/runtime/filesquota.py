"""A workflow's handler held to its crew's files quota: no run starts once the files fill it.

What a farm crew stores on disk is what its workflows write under its folder (exports,
charts, reports: ``<crew files>/<workflow>/``); the documents people send are read into
text and never written to disk. The writers are the workflows' own code, so the quota is
held where a run starts: a new run is refused, with the limit and how to raise it in the
founder's language, while the crew's stored files already take the whole quota. A run
that starts under it may end past it; the next one is refused.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from equipage.agent import thread_id
from equipage.crewfiles import stored_bytes
from equipage.envelope import Envelope, Kind
from equipage.errors import FilesFull
from equipage.runtime.workflow import WorkflowRunner

__all__ = ["FilesQuotaRunner", "files_full_text"]

_FR = (
    "les fichiers de l'équipage {crew} sont pleins : ils occupent {used} de son quota de "
    "{limit}, ce workflow n'a donc pas été lancé. L'administrateur de la ferme l'augmente "
    "avec « equipage crew quota {crew} --files-mb {raise_to} », ou l'on fait de la place "
    "dans les fichiers de l'équipage."
)


class FilesQuotaRunner(WorkflowRunner):
    """A ``WorkflowRunner`` that starts no run while ``root`` holds ``limit_bytes`` or more."""

    def __init__(self, *args: Any, root: Path, limit_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = root
        self.limit_bytes = limit_bytes

    async def __call__(self, envelope: Envelope) -> list[Envelope]:
        if envelope.kind is Kind.WORKFLOW:
            used = await asyncio.to_thread(stored_bytes, self.root)
            if used >= self.limit_bytes and not await self._started(envelope):
                full = FilesFull(crew=self.keys.company, limit=self.limit_bytes, used=used)
                ctx = self._context(envelope, {"reply_to": envelope.reply_to})
                language = self._language(ctx) if ctx.reply_to is None else None
                return self._failed(envelope, refusal=files_full_text(full, language))
        return await super().__call__(envelope)

    async def _started(self, envelope: Envelope) -> bool:
        """True for a run this envelope already started (redelivered after a crash)."""
        key = thread_id(self.role, envelope.thread)
        config: RunnableConfig = {"configurable": {"thread_id": key}}
        snapshot = await self.graph.aget_state(config)
        return bool(snapshot.values.get("inbox") == envelope.id)


def files_full_text(full: FilesFull, language: str | None) -> str:
    """``full`` for a person in ``language`` (French or English); None: English, for agents."""
    if language != "fr":
        return str(full)
    return _FR.format(
        crew=full.crew,
        used=_size(full.used),
        limit=_size(full.limit),
        raise_to=_raise_to(full.limit),
    )


def _raise_to(limit: int) -> int:
    """A round number of MB above ``limit``, to show in the hint."""
    return 2 * max(1, -(-limit // 2**20))


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} octets"
    if size < 2**20:
        return f"{size / 1024:.0f} Ko"
    return f"{size / 2**20:.1f} Mo".replace(".0 Mo", " Mo").replace(".", ",")
