"""What the seen register keeps of a reported notice, and what its triage hands back.

``Record`` is the JSON in a register's ``fp:<fingerprint>`` field: enough of the notice
as last reported to tell next time what changed. ``Fresh``, ``Change`` and ``Triage``
are what a run gets back; ``Group`` is the notices of one procedure within one fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from workflows.tenders.difference import Difference
from workflows.tenders.model import NoticeKind, Tender

__all__ = ["Change", "Fresh", "Group", "Record", "Triage", "lot_names", "record_of"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fresh(_Model):
    """A notice not reported before; ``refs`` name every copy of it (TED, BOAMP)."""

    tender: Tender
    slot: str  # the register field of its record: fp:<fingerprint>
    refs: tuple[str, ...]
    basis: str = ""  # the stored record it replaces: a prior notice whose call is now open


class Change(_Model):
    """A reported notice that changed or was cancelled, as this run reports it."""

    tender: Tender  # the newest notice: the change or the cancellation
    title: str  # the title as first reported, which the founder recognises
    status: Literal["changed", "cancelled"]
    changes: tuple[Difference, ...]  # ``phrases`` says them in the report's language
    first_reported: date | None = None


class Triage(_Model):
    """What a run found: notices to match, changes to report, ids already reported."""

    new: tuple[Fresh, ...] = ()
    changes: tuple[Change, ...] = ()
    repeated: tuple[str, ...] = ()


class Record(_Model):
    """What the register keeps of a reported notice, to tell what changed next time."""

    kind: NoticeKind
    title: str
    first_title: str = ""  # as first reported, which the founder recognises
    buyer: str = ""
    deadline: datetime | None = None
    value: float | None = None
    currency: str | None = None
    lots: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    status: Literal["new", "changed", "cancelled"] = "new"
    changes: tuple[Difference, ...] = ()
    run: str
    reported: date

    @field_validator("changes", mode="before")
    @classmethod
    def _drop_sentences(cls, value: object) -> object:
        # Records written before changes were data hold English sentences: they are only
        # read back by the run that wrote them, so dropping them loses nothing later.
        if isinstance(value, list | tuple):
            return [item for item in value if not isinstance(item, str)]
        return value


@dataclass
class Group:
    """The notices of one procedure in one fetch (copies, changes, a cancellation)."""

    slot: str  # the register field of its record: fp:<fingerprint>
    members: list[Tender] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


def record_of(tender: Tender, *, run: str, today: date, ids: Sequence[str]) -> Record:
    """The record of ``tender`` as reported by ``run``, with the ids of its copies."""
    return Record(
        kind=tender.kind,
        title=tender.title,
        buyer=tender.buyer,
        deadline=tender.deadline,
        value=tender.value,
        currency=tender.currency,
        lots=lot_names(tender),
        ids=tuple(dict.fromkeys([tender.id, *ids])),
        run=run,
        reported=today,
    )


def lot_names(tender: Tender) -> tuple[str, ...]:
    """The lots as a record keeps them: "<id>: <title>"."""
    return tuple(f"{lot.id}: {lot.title}".strip(": ") for lot in tender.lots)
