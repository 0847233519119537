"""Checking the audit chain entry by entry: what ``Audit.verify`` and anchorers run.

The walk reads entries in stream order and keeps the first breaks it finds, each with its
position; it picks up after a break, so every damaged place is reported once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from equipage.audit.key import AuditKey
from equipage.audit.report import Anchor, AuditBreak, AuditReport, BreakKind, Head

__all__ = ["GENESIS", "Walk", "decode", "number", "text"]

GENESIS = "0" * 64
_LISTED = 50  # breaks listed in a report; the rest are counted
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def decode(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def text(fields: dict[bytes, bytes], name: bytes) -> str:
    return decode(fields.get(name, b""))


def number(fields: dict[bytes, bytes]) -> int | None:
    try:
        return int(fields[b"seq"])
    except (KeyError, ValueError):
        return None


def _shown(value: str) -> str:
    """A value someone may have written to Redis, safe and short enough to print."""
    return ascii(value if len(value) <= 40 else value[:40] + "...")


def _plain(prev: str, body: str) -> str:
    """The unkeyed hash of entries written before signing."""
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


class Walk:
    """Checks entries in stream order, keeping the first breaks and what anchors need."""

    def __init__(self, key: AuditKey, prefix: str, *, signed_from: int | None = None) -> None:
        self.key = key
        self.prefix = prefix
        self.signed_from = signed_from  # known from an anchor: later entries must be signed
        self.index = 0
        self.expected = 0
        self.prev = GENESIS
        self.signed = False
        self.unsigned = 0
        self.head: Head | None = None
        self.breaks: list[AuditBreak] = []
        self.more = 0
        self.seen: dict[int, tuple[str, int, str]] = {}  # seq -> (mac, index, id)
        self.once: dict[str, tuple[int, int, str]] = {}  # marker -> (seq, index, id)

    def resume(self, anchor: Anchor) -> None:
        """Start right after an anchored entry, as if the walk had just checked it."""
        self.index = self.expected = anchor.seq + 1
        self.prev = anchor.mac
        self.signed = True
        self.head = Head(seq=anchor.seq, mac=anchor.mac, id=anchor.entry)

    def add(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        index = self.index
        self.index += 1
        if b"mac" not in fields:
            self._unsigned(index, entry_id, fields)
            return
        self.signed = True
        seq, mac, prev = number(fields), text(fields, b"mac"), text(fields, b"prev")
        name, body = text(fields, b"once"), text(fields, b"entry")
        if seq is None or not body:
            self._break("malformed", "its sequence number or body is missing", index, entry_id)
            return
        self.head = Head(seq=seq, mac=mac, id=entry_id)
        # Kept even when the entry breaks: an anchor or a marker then reports only what it
        # adds (a replaced MAC, a marker gone), not the same damage again.
        self.seen[seq] = (mac, index, entry_id)
        if name:
            self.once[self.key.sign("once", self.prefix, name)] = (seq, index, entry_id)
        expected = self.key.sign("entry", self.prefix, str(seq), prev, name, body)
        if not hmac.compare_digest(mac, expected):
            signer = text(fields, b"key")
            why = (
                f"it was signed with key {signer}, not with this key ({self.key.id}): the "
                "audit key was replaced or moved, or this entry was forged"
                if _KEY_ID.fullmatch(signer) and signer != self.key.id
                else "its signature does not match: the entry was edited, or written "
                "without the key"
            )
            self._break("hmac", f"entry #{seq}: {why}", index, entry_id)
        elif seq > self.expected:
            gone = (
                f"entry #{self.expected} is"
                if seq == self.expected + 1
                else f"entries #{self.expected}–#{seq - 1} are"
            )
            self._break("missing", f"{gone} missing before entry #{seq}", index, entry_id)
        elif seq < self.expected:
            self._break(
                "order",
                f"entry #{seq} comes after #{self.expected - 1}: it was copied or moved",
                index,
                entry_id,
            )
        elif not hmac.compare_digest(prev, self.prev):
            self._break(
                "link", f"entry #{seq} does not chain to the entry before it", index, entry_id
            )
        # Pick up after a break, so each damaged place is reported once.
        self.prev = mac
        self.expected = max(self.expected, seq + 1)

    def _unsigned(self, index: int, entry_id: str, fields: dict[bytes, bytes]) -> None:
        digest = text(fields, b"hash")
        self.head = Head(seq=index, mac=digest, id=entry_id, signed=False)
        if self.signed or (self.signed_from is not None and index >= self.signed_from):
            since = (
                f"entries are signed from #{self.signed_from} on"
                if self.signed_from is not None
                else "signed entries come before it"
            )
            self._break(
                "unsigned",
                f"this entry is not signed, but {since}: it was written without the key",
                index,
                entry_id,
            )
            return
        if text(fields, b"prev") != self.prev or digest != _plain(
            self.prev, text(fields, b"entry")
        ):
            self._break(
                "link", "this entry from before signing does not chain to the one before it",
                index, entry_id,
            )  # fmt: skip
        self.prev = digest
        self.expected += 1
        self.unsigned += 1

    def check_anchors(self, anchors: Sequence[Anchor]) -> None:
        """Report the first anchor (oldest first) whose entry is gone or different."""
        for anchor in anchors:
            if self.index == 0:
                self._break(
                    "stream_missing",
                    f"the audit stream is gone: {anchor.describe()} recorded {anchor.count} "
                    "entries",
                    0,
                    anchor.entry,
                )
                return
            found = self.seen.get(anchor.seq)
            if found is None:
                last = self.head
                if last is None or anchor.seq > last.seq:
                    ends = f"#{last.seq} (id {last.id})" if last else "nothing"
                    first = last.seq + 1 if last else 0
                    gap = f"#{first}" if first == anchor.seq else f"#{first}–#{anchor.seq}"
                    why = f"entries {gap} are missing: {anchor.describe()} saw them, and the "
                    self._break(
                        "truncated", f"{why}chain now ends at {ends}", self.index, anchor.entry
                    )
                else:
                    self._break(
                        "missing",
                        f"entry #{anchor.seq}, recorded by {anchor.describe()}, is missing",
                        entry_id=anchor.entry,
                    )
                return
            mac, index, entry_id = found
            if not hmac.compare_digest(mac, anchor.mac):
                self._break(
                    "anchor_mismatch",
                    f"entry #{anchor.seq} is not the one {anchor.describe()} recorded: the "
                    "chain was rewritten or restarted",
                    index,
                    entry_id,
                )
                return

    def check_markers(self, markers: dict[str, str]) -> None:
        """Report markers no entry accounts for, and entries whose marker is gone."""
        for field, value in sorted(markers.items()):
            found = self.once.get(field)
            if found is None or str(found[0]) != value:
                self._break(
                    "marker_without_entry",
                    f"this event marker points at {_shown(value)}, which does not record its "
                    "event: it was written outside Equipage (it hides nothing: markers are "
                    "keyed by the audit key)",
                    marker=field[:80],
                )
        for field, (seq, index, entry_id) in self.once.items():
            if field not in markers:
                self._break(
                    "marker_missing",
                    f"entry #{seq} records a named event whose marker was deleted, so a re-run "
                    "could record it twice",
                    index,
                    entry_id,
                )

    def _break(
        self,
        kind: BreakKind,
        detail: str,
        index: int | None = None,
        entry_id: str | None = None,
        *,
        marker: str | None = None,
    ) -> None:
        if len(self.breaks) >= _LISTED:
            self.more += 1
            return
        self.breaks.append(
            AuditBreak(kind=kind, detail=detail, index=index, entry_id=entry_id, marker=marker)
        )

    def report(self, anchor: Anchor | None) -> AuditReport:
        return AuditReport(
            entries=self.index,
            unsigned=self.unsigned,
            head=self.head,
            anchor=anchor,
            breaks=self.breaks,
            more=self.more,
        )
