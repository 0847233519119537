"""The audit chain as the console lists it: entries newest first, filtered, page by page.

Reading needs no key (``equipage.audit.Audit``); checking the chain does, and is
``verify_company``'s, the same check as ``equipage audit verify``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError

from equipage.audit import AuditEntry, AuditReport, verify_company
from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["AuditPage", "AuditRow", "Checked", "check_chain", "read_audit"]

_BATCH = 200  # entries read per round trip while filtering


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditRow(_Model):
    """One entry: where it sits in the stream, and what it records."""

    id: str  # stream id
    seq: int | None  # its sequence number, None for one from before signing or damaged
    at: datetime
    action: str
    actor: str
    thread: str
    detail: str


class AuditPage(_Model):
    rows: tuple[AuditRow, ...]
    #: the stream id to read older entries from, None when there are none
    older: str | None


class Checked(_Model):
    """What a check of the chain found, or why it could not run (no key here)."""

    report: AuditReport | None
    refused: str = ""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def read_audit(
    redis: aioredis.Redis,
    keys: Keys,
    *,
    actor: str = "",
    kind: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """Entries newest first, ``limit`` at most, older than the stream id ``before``.

    ``actor`` and ``kind`` (the entry's action) match exactly when given; ``since`` and
    ``until`` bound the entries' stream times (when they were appended).
    """
    top = f"({before}" if before else (str(_ms(until)) if until else "+")
    bottom = str(_ms(since)) if since else "-"
    rows: list[AuditRow] = []
    while True:
        batch: Any = await redis.xrevrange(keys.audit, max=top, min=bottom, count=_BATCH)
        for entry_id, fields in batch:
            row = _row(entry_id, fields)
            if row is None or (actor and row.actor != actor) or (kind and row.action != kind):
                continue
            if len(rows) == limit:
                return AuditPage(rows=tuple(rows), older=rows[-1].id)
            rows.append(row)
        if len(batch) < _BATCH:
            return AuditPage(rows=tuple(rows), older=None)
        top = "(" + _text(batch[-1][0])


def _row(entry_id: bytes | str, fields: dict[bytes, bytes]) -> AuditRow | None:
    try:
        entry = AuditEntry.model_validate_json(fields.get(b"entry", b""))
    except ValidationError:
        return None  # damaged: the check shows it, with its position
    try:
        seq: int | None = int(fields[b"seq"])
    except (KeyError, ValueError):
        seq = None
    return AuditRow(
        id=_text(entry_id),
        seq=seq,
        at=datetime.fromtimestamp(entry.at, UTC),
        action=entry.action,
        actor=entry.actor,
        thread=entry.thread,
        detail=entry.detail,
    )


async def check_chain(
    redis: aioredis.Redis, keys: Keys, home: Path, configured: str | None = None
) -> Checked:
    """Check the whole chain against the anchors under ``home`` (``equipage audit verify``).

    ``configured`` is ``EQUIPAGE_AUDIT_KEY`` when set; else the key is ``<home>/audit.key``.
    """
    try:
        return Checked(report=await verify_company(configured, home, redis, keys))
    except ConfigError as refused:
        return Checked(report=None, refused=str(refused))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
