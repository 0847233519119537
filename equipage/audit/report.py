"""What checking the audit chain finds: where it breaks and why, and its anchors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Anchor", "AuditBreak", "AuditReport", "BreakKind", "Head", "when"]

BreakKind = Literal[
    "hmac",  # the signature does not match: edited, forged, or signed with another key
    "link",  # signed, but not chained to the entry before it
    "missing",  # sequence numbers jump: entries were deleted here
    "order",  # a sequence number repeats or goes back: an entry was copied or moved
    "unsigned",  # an entry without a signature where entries are signed
    "malformed",  # fields missing or unreadable
    "truncated",  # the newest entries an anchor saw are gone
    "stream_missing",  # the whole stream is gone, an anchor says it existed
    "anchor_mismatch",  # the entry an anchor recorded was replaced
    "marker_without_entry",  # an event marker no entry accounts for: written outside
    "marker_missing",  # an entry's event marker was deleted: the event could be recorded twice
]


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


class Head(BaseModel):
    """The newest entry of the chain."""

    model_config = ConfigDict(frozen=True)

    seq: int
    mac: str
    id: str
    signed: bool = True


class Anchor(BaseModel):
    """The head of the chain as seen at one moment, kept outside Redis."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seq: int  # sequence number of the head entry
    mac: str  # its HMAC
    entry: str  # its stream id
    count: int  # entries in the chain at that moment (seq + 1 unless some predate numbering)
    at: float
    key: str  # id of the key that signed it (never the key)
    signed_from: int = 0  # entries before this sequence number predate signing

    def describe(self) -> str:
        return f"the anchor of {when(self.at)} (head #{self.seq}, id {self.entry})"


class AuditBreak(BaseModel):
    """One place where the chain does not prove what it claims."""

    model_config = ConfigDict(frozen=True)

    kind: BreakKind
    detail: str
    index: int | None = None  # position in the stream, counted from 0
    entry_id: str | None = None  # stream id of the entry (or of the anchored one, now gone)
    marker: str | None = None  # for marker breaks: the marker's field (80 characters at most)

    def where(self) -> str:
        parts = []
        if self.index is not None:
            parts.append(f"index {self.index}")
        if self.entry_id is not None:
            parts.append(f"entry {self.entry_id}")
        if self.marker is not None:
            parts.append(f"marker {self.marker!a}")  # written by whoever wrote Redis
        return ", ".join(parts) or "the audit log"

    def __str__(self) -> str:
        return f"{self.where()}: {self.kind.replace('_', ' ')}: {self.detail}"


class AuditReport(BaseModel):
    """The outcome of ``Audit.verify``: empty ``breaks`` means the chain is whole."""

    model_config = ConfigDict(frozen=True)

    entries: int
    unsigned: int  # leading entries written before signing
    head: Head | None
    anchor: Anchor | None  # the newest anchor checked, if any
    breaks: list[AuditBreak]
    more: int = 0  # further breaks not listed

    @property
    def ok(self) -> bool:
        return not self.breaks

    def notes(self) -> list[str]:
        """What a whole chain still cannot prove."""
        found = []
        if self.unsigned:
            last = self.unsigned - 1
            span = "entry 0 predates" if last == 0 else f"entries 0–{last} predate"
            found.append(
                f"{span} signing: their plain hashes chain, but anyone who could write Redis "
                "could have rewritten them"
            )
        if self.anchor is None and self.entries:
            found.append(
                "no anchor yet: deleting the newest entries or the whole stream cannot be "
                "detected until one is written ('equipage up' writes one each minute)"
            )
        elif self.anchor is not None and self.head is not None and self.head.seq > self.anchor.seq:
            found.append(
                f"entries after #{self.anchor.seq} (anchored {when(self.anchor.at)}) are not "
                "anchored yet: deleting them could not be detected"
            )
        return found
