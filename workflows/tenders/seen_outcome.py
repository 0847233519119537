"""What one procedure's notices in a fetch mean against its record: the triage rules.

A group with no record is fresh (or dropped if already cancelled); one whose record this
very run claimed before a crash is reported again the same way; otherwise it is a change,
a cancellation, a prior notice whose call has now opened (fresh), or a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from workflows.tenders.difference import (
    Amount,
    Cancelled,
    DeadlineMoved,
    Difference,
    LotsChanged,
    TitleChanged,
    ValueChanged,
)
from workflows.tenders.model import NoticeKind, Tender
from workflows.tenders.seen_identity import normal_words
from workflows.tenders.seen_records import Change, Fresh, Group, Record, lot_names

__all__ = ["ORDER", "outcome_of"]

# The order a fetch's notices are read in: a procedure's later notices after its first.
ORDER = {
    NoticeKind.PRIOR: 0,
    NoticeKind.CONTRACT: 1,
    NoticeKind.CHANGE: 2,
    NoticeKind.CANCELLATION: 3,
    NoticeKind.AWARD: 4,
}


def outcome_of(group: Group, record: Record | None, run: str) -> Fresh | Change | str:
    """What one group is for this run: Fresh, a Change, 'repeated' or 'dropped'."""
    cancelled = any(t.kind is NoticeKind.CANCELLATION for t in group.members)
    current = _current(group.members)
    if record is None:
        if cancelled or current is None:
            return "dropped"  # cancelled before anyone reported it: nothing to say
        return _fresh(group, current)
    if record.run == run:
        # This very run claimed it before a crash: report it again, the same way.
        if record.status == "new" and current is not None:
            return _fresh(group, current)
        if record.status != "new":
            shown = current if record.status == "changed" and current else group.members[-1]
            return _change(record, shown, record.status, record.changes)
    if record.status == "cancelled":
        return "repeated"
    if cancelled:
        notice = group.members[-1]
        return _change(record, notice, "cancelled", (Cancelled(notice=notice.id),))
    if current is None:
        return "repeated"
    if record.kind is NoticeKind.PRIOR and current.kind is not NoticeKind.PRIOR:
        return _fresh(group, current)
    differences = _differences(record, current)
    if not differences:
        return "repeated"
    return _change(record, current, "changed", differences)


def _fresh(group: Group, tender: Tender) -> Fresh:
    return Fresh(tender=tender, slot=group.slot, refs=tuple(group.refs))


def _change(
    record: Record,
    tender: Tender,
    status: Literal["changed", "cancelled"],
    changes: tuple[Difference, ...],
) -> Change:
    """A change told under the title the founder first saw, with the day it was reported."""
    return Change(
        tender=tender,
        title=record.first_title or record.title,
        status=status,
        changes=changes,
        first_reported=record.reported,
    )


def _current(members: Sequence[Tender]) -> Tender | None:
    """The notice that says how the procedure stands now; copies' links are merged in."""
    live = [t for t in members if t.kind not in (NoticeKind.CANCELLATION, NoticeKind.AWARD)]
    if not live:
        return None
    changes = [t for t in live if t.kind is NoticeKind.CHANGE]
    # The latest change wins; among copies, the richest (lots, criteria) one.
    best = changes[-1] if changes else max(live, key=lambda t: (len(t.lots), len(t.criteria)))
    links = tuple(dict.fromkeys(link for t in members for link in t.links))
    return best.model_copy(update={"links": links}) if links != best.links else best


def _differences(record: Record, tender: Tender) -> tuple[Difference, ...]:
    found: list[Difference] = []
    if normal_words(record.title) != normal_words(tender.title):
        found.append(TitleChanged(before=record.title, after=tender.title))
    if record.deadline != tender.deadline:
        found.append(DeadlineMoved(before=record.deadline, after=tender.deadline))
    if not _same_value(record.value, tender.value):
        before = Amount(value=record.value, currency=record.currency) if record.value else None
        after = Amount(value=tender.value, currency=tender.currency) if tender.value else None
        found.append(ValueChanged(before=before, after=after))
    lots = lot_names(tender)
    if set(lots) != set(record.lots):
        added = tuple(sorted(set(lots) - set(record.lots)))
        removed = tuple(sorted(set(record.lots) - set(lots)))
        found.append(LotsChanged(added=added, removed=removed))
    return tuple(found)


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 0.5
