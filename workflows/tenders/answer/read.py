"""The consultation's files as text: the paths given, the files sent in chat, pasted text.

A path goes through ``ctx.given_file`` (the crew's files or a file sent with the request,
any path on the owner's command line), then through ``equipage.readers``: PDF (pypdf) and
Word are read in a child process, capped and killed at a deadline, as the files people
send in chat are. A file sent in chat was read by the gateway already: its text is used.
With no path and no text, every file sent with the request is read. A file that cannot
be read is reported by name with the reason, and the others are still used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from equipage.documents import Limits, size_refusal
from equipage.envelope import Attachment, Envelope
from equipage.errors import InputRejected
from equipage.readers import readers
from equipage.workflow import WorkflowContext
from workflows.tenders.answer.extract import Source

__all__ = ["LIMITS", "Unread", "gather"]

#: A CCTP runs to 70 pages and 150,000 characters: read more of a file than chat does.
LIMITS = Limits(max_chars=400_000, max_pages=400, timeout=60.0)


class Unread(BaseModel):
    """A file that was not read, and why (the reader's words)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    reason: str


async def gather(
    ctx: WorkflowContext,
    paths: Sequence[str],
    text: str | None,
    request: Envelope | None,
) -> tuple[list[Source], list[Unread]]:
    """The sources to read, in the order given, and the files that could not be read."""
    sources: list[Source] = []
    unread: list[Unread] = []
    for raw in paths:
        try:
            given = ctx.given_file(raw, request)
            if isinstance(given, Attachment):
                sources.append(_sent(given))
            else:
                sources.append(await _file(given))
        except InputRejected as err:  # OffLimits, DocumentRefused
            unread.append(Unread(name=Path(raw).name or raw, reason=str(err)))
    if text and text.strip():
        sources.append(Source(name="texte", text=text))
    if not paths and not text and request is not None:
        for attachment in request.attachments:
            try:
                sources.append(_sent(attachment))
            except InputRejected as err:
                unread.append(Unread(name=attachment.name, reason=str(err)))
    return sources, unread


def _bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > LIMITS.max_bytes:
            raise size_refusal(path.name, size, LIMITS.max_bytes)
        return path.read_bytes()
    except OSError as err:
        raise InputRejected(f"{path.name}: cannot be read ({err.strerror})") from err


def _sent(attachment: Attachment) -> Source:
    if attachment.text is None:
        reason = attachment.error or "its text could not be read"
        raise InputRejected(reason)
    return Source(name=attachment.name, text=attachment.text)


async def _file(path: Path) -> Source:
    data = await asyncio.to_thread(_bytes, path)
    document = await readers().extract(data, name=path.name, limits=LIMITS)
    return Source(name=path.name, text=document.text)
