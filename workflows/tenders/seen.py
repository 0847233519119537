"""The register of notices already reported, across sources and runs, in one Redis hash.

A French procedure above the EU thresholds is published on BOAMP and on TED: both copies
get one fingerprint (normalized buyer, normalized title, deadline day), and links from a
notice's own ids, its procedure id and the notice it amends lead changes and
cancellations back to what was reported. Fields of ``keys.tenders_seen()``:

- ``fp:<fingerprint>`` -> JSON of the notice as last reported (``_Record``)
- ``ref:<tender id>`` and ``ref:proc:<source>:<procedure id>`` -> ``fp:<fingerprint>``

A report is claimed with a compare-and-set script, so two runs at once never report the
same notice, change or cancellation twice; a run that re-executes after a crash finds
its own claims (by run id) and reports them again rather than losing them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from equipage.keys import Keys
from equipage.text import words
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

__all__ = ["Change", "Fresh", "SeenRegister", "Triage", "fingerprint"]

_STOPWORDS = frozenset(
    "a au aux d de des du en et l la le les pour par sur un une the of and for to in".split()
)
# The same buyer is "Commune de Lyon" on one platform and "Ville de Lyon" on the other:
# the kind of body is left out of the fingerprint, its name is kept.
_BUYER_KINDS = frozenset(
    "commune ville mairie city town municipality council conseil departemental "
    "departement region".split()
)
_ORDER = {
    NoticeKind.PRIOR: 0,
    NoticeKind.CONTRACT: 1,
    NoticeKind.CHANGE: 2,
    NoticeKind.CANCELLATION: 3,
    NoticeKind.AWARD: 4,
}

# KEYS[1] the register; ARGV: field, expected JSON ('' = absent), new JSON, run, refs...
_CLAIM = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local won = 1
if current then
  if current ~= ARGV[2] then
    local ok, record = pcall(cjson.decode, current)
    if not (ok and type(record) == 'table' and record['run'] == ARGV[4]) then won = 0 end
  end
elseif ARGV[2] ~= '' then
  return 0
end
if won == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
-- Copies a losing run saw still lead to the record, so their changes are found later.
for i = 5, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
return won
"""


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


class _Record(_Model):
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
class _Group:
    """The notices of one procedure in one fetch (copies, changes, a cancellation)."""

    slot: str  # the register field of its record: fp:<fingerprint>
    members: list[Tender] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


def fingerprint(tender: Tender) -> str:
    """Same procedure on TED and BOAMP -> same fingerprint: buyer, title, deadline day."""
    day = tender.deadline.date().isoformat() if tender.deadline else ""
    buyer = " ".join(w for w in _normal(tender.buyer).split() if w not in _BUYER_KINDS)
    text = "\n".join([buyer, _normal(tender.title), day])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class SeenRegister:
    """Triage of fetched notices against what earlier runs reported, and claims."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.key = keys.tenders_seen()
        self._claim = redis.register_script(_CLAIM)

    async def triage(self, tenders: Iterable[Tender], *, run: str, today: date) -> Triage:
        """Sort notices into new, changed, cancelled and repeated; claim the changes.

        Changes and cancellations are claimed here (reported whether or not the notice
        would still match); new notices are claimed by ``claim`` once they matched.
        """
        ordered = sorted(tenders, key=lambda t: (_ORDER[t.kind], t.published or date.min, t.id))
        groups = await self._group(ordered)
        stored = await self._records([g.slot for g in groups])
        new: list[Fresh] = []
        changes: list[Change] = []
        repeated: list[str] = []
        for group in groups:
            raw, record = stored.get(group.slot, ("", None))
            outcome = _outcome(group, record, run)
            if isinstance(outcome, Fresh):
                new.append(outcome.model_copy(update={"basis": raw}))
            elif isinstance(outcome, Change):
                if await self._store(group, outcome, raw, record, run=run):
                    changes.append(outcome)
                else:
                    repeated += [t.id for t in group.members]
            elif outcome == "repeated":
                repeated += [t.id for t in group.members]
        return Triage(new=tuple(new), changes=tuple(changes), repeated=tuple(repeated))

    async def claim(self, fresh: Sequence[Fresh], *, run: str, today: date) -> list[Fresh]:
        """Record ``fresh`` notices as reported; returns those this run claimed first."""
        claimed = []
        for item in fresh:
            record = _record(item.tender, run=run, today=today, ids=_ids(item.refs))
            won = await self._claim(
                keys=[self.key],
                args=[item.slot, item.basis, record.model_dump_json(), run, *item.refs],
            )
            if won:
                claimed.append(item)
        return claimed

    async def prune(self, *, today: date, keep_days: int = 365) -> int:
        """Forget procedures whose deadline (or, without one, report) is over ``keep_days``
        old, with the refs pointing at them: the register stays the size of a year's
        watch. Returns how many procedures were forgotten."""
        cutoff = today - timedelta(days=keep_days)
        old: set[str] = set()
        refs: dict[str, str] = {}
        async for name, value in self.redis.hscan_iter(self.key):
            field_name, raw = name.decode(), value.decode()
            if field_name.startswith("ref:"):
                refs[field_name] = raw
                continue
            try:
                record = _Record.model_validate_json(raw)
            except ValidationError:
                continue  # overwritten as new when its procedure comes back
            last = record.deadline.date() if record.deadline else record.reported
            if last < cutoff:
                old.add(field_name)
        if old:
            dead = [*old, *(ref for ref, slot in refs.items() if slot in old)]
            await self.redis.hdel(self.key, *dead)
        return len(old)

    async def _group(self, ordered: Sequence[Tender]) -> list[_Group]:
        """Group copies and amendments of one procedure, by stored links or fingerprint."""
        lookups = [_links(t) for t in ordered]
        wanted = sorted({ref for refs in lookups for ref in refs})
        values: list[Any] = await self.redis.hmget(self.key, wanted) if wanted else []
        # A ref field holds the field of its record; a record field stands for itself.
        known = {
            ref: ref if ref.startswith("fp:") else value.decode()
            for ref, value in zip(wanted, values, strict=True)
            if value
        }
        by_field: dict[str, _Group] = {}
        for tender, links in zip(ordered, lookups, strict=True):
            target = next((known[r] for r in links if r in known), links[-1])
            group = by_field.setdefault(target, _Group(slot=target))
            group.members.append(tender)
            own = _own_refs(tender)
            group.refs += [r for r in own if r not in group.refs]
            for ref in [*own, links[-1]]:
                known.setdefault(ref, target)  # later notices of the batch find this group
        return list(by_field.values())

    async def _records(self, fields: list[str]) -> dict[str, tuple[str, _Record | None]]:
        if not fields:
            return {}
        values: list[Any] = await self.redis.hmget(self.key, fields)
        found: dict[str, tuple[str, _Record | None]] = {}
        for name, value in zip(fields, values, strict=True):
            if value:
                raw = value.decode()
                try:
                    found[name] = (raw, _Record.model_validate_json(raw))
                except ValidationError:
                    found[name] = (raw, None)  # an unreadable record is overwritten as new
        return found

    async def _store(
        self, group: _Group, change: Change, raw: str, record: _Record | None, *, run: str
    ) -> bool:
        """Claim a change or cancellation: only one run reports it."""
        if record is None:
            return False
        update = {
            "status": change.status,
            "changes": change.changes,
            "run": run,
            "first_title": record.first_title or record.title,
        }
        if change.status == "changed":
            ids = [*record.ids, *_ids(group.refs)]
            record = _record(change.tender, run=run, today=record.reported, ids=ids)
        # A cancellation keeps what was reported; only its status and run move on.
        updated = record.model_copy(update=update)
        won = await self._claim(
            keys=[self.key], args=[group.slot, raw, updated.model_dump_json(), run, *group.refs]
        )
        return bool(won)


def _outcome(group: _Group, record: _Record | None, run: str) -> Fresh | Change | str:
    """What one group is for this run: Fresh, a Change, 'repeated' or 'dropped'."""
    cancelled = any(t.kind is NoticeKind.CANCELLATION for t in group.members)
    current = _current(group.members)
    if record is None:
        if cancelled or current is None:
            return "dropped"  # cancelled before anyone reported it: nothing to say
        return Fresh(tender=current, slot=group.slot, refs=tuple(group.refs))
    if record.run == run:
        # This very run claimed it before a crash: report it again, the same way.
        if record.status == "new" and current is not None:
            return Fresh(tender=current, slot=group.slot, refs=tuple(group.refs))
        if record.status != "new":
            shown = current if record.status == "changed" and current else group.members[-1]
            return Change(
                tender=shown,
                title=record.first_title or record.title,
                status=record.status,
                changes=record.changes,
                first_reported=record.reported,
            )
    if record.status == "cancelled":
        return "repeated"
    if cancelled:
        notice = group.members[-1]
        return Change(
            tender=notice,
            title=record.first_title or record.title,
            status="cancelled",
            changes=(Cancelled(notice=notice.id),),
            first_reported=record.reported,
        )
    if current is None:
        return "repeated"
    if record.kind is NoticeKind.PRIOR and current.kind is not NoticeKind.PRIOR:
        return Fresh(tender=current, slot=group.slot, refs=tuple(group.refs))
    differences = _differences(record, current)
    if not differences:
        return "repeated"
    return Change(
        tender=current,
        title=record.first_title or record.title,
        status="changed",
        changes=differences,
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


def _differences(record: _Record, tender: Tender) -> tuple[Difference, ...]:
    found: list[Difference] = []
    if _normal(record.title) != _normal(tender.title):
        found.append(TitleChanged(before=record.title, after=tender.title))
    if record.deadline != tender.deadline:
        found.append(DeadlineMoved(before=record.deadline, after=tender.deadline))
    if not _same_value(record.value, tender.value):
        before = Amount(value=record.value, currency=record.currency) if record.value else None
        after = Amount(value=tender.value, currency=tender.currency) if tender.value else None
        found.append(ValueChanged(before=before, after=after))
    lots = _lots(tender)
    if set(lots) != set(record.lots):
        added = tuple(sorted(set(lots) - set(record.lots)))
        removed = tuple(sorted(set(record.lots) - set(lots)))
        found.append(LotsChanged(added=added, removed=removed))
    return tuple(found)


def _record(tender: Tender, *, run: str, today: date, ids: Sequence[str]) -> _Record:
    return _Record(
        kind=tender.kind,
        title=tender.title,
        buyer=tender.buyer,
        deadline=tender.deadline,
        value=tender.value,
        currency=tender.currency,
        lots=_lots(tender),
        ids=tuple(dict.fromkeys([tender.id, *ids])),
        run=run,
        reported=today,
    )


def _lots(tender: Tender) -> tuple[str, ...]:
    return tuple(f"{lot.id}: {lot.title}".strip(": ") for lot in tender.lots)


def _own_refs(tender: Tender) -> list[str]:
    refs = [f"ref:{tender.id}"]
    if tender.procedure_id:
        refs.append(f"ref:proc:{tender.source}:{tender.procedure_id}")
    return refs


def _links(tender: Tender) -> list[str]:
    """Register fields that may lead to a notice reported before, the surest first."""
    refs = [f"ref:{tender.source}:{tender.amends}"] if tender.amends else []
    return [*refs, *reversed(_own_refs(tender)), f"fp:{fingerprint(tender)}"]


def _ids(refs: Iterable[str]) -> tuple[str, ...]:
    return tuple(r.removeprefix("ref:") for r in refs if not r.startswith("ref:proc:"))


def _normal(text: str) -> str:
    return " ".join(w for w in words(text) if w not in _STOPWORDS)


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 0.5
