"""The register of notices already reported, across sources and runs, in one Redis hash.

Copies of one procedure (BOAMP and TED) share a fingerprint, and refs lead changes and
cancellations back to what was reported (``seen_identity``); the rules that sort a
fetch live in ``seen_outcome``. Fields of ``keys.tenders_seen()``:

- ``fp:<fingerprint>`` -> JSON of the notice as last reported (``seen_records.Record``)
- ``ref:<tender id>`` and ``ref:proc:<source>:<procedure id>`` -> ``fp:<fingerprint>``

A report is claimed with a compare-and-set script, so two runs at once never report the
same notice, change or cancellation twice; a run that re-executes after a crash finds
its own claims (by run id) and reports them again rather than losing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from equipage.keys import Keys
from workflows.tenders.model import Tender
from workflows.tenders.seen_identity import fingerprint, lookup_refs, notice_ids, own_refs
from workflows.tenders.seen_outcome import ORDER, outcome_of
from workflows.tenders.seen_records import Change, Fresh, Group, Record, Triage, record_of

__all__ = ["Change", "Fresh", "SeenRegister", "Triage", "fingerprint"]

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
        ordered = sorted(tenders, key=lambda t: (ORDER[t.kind], t.published or date.min, t.id))
        groups = await self._group(ordered)
        stored = await self._records([g.slot for g in groups])
        new: list[Fresh] = []
        changes: list[Change] = []
        repeated: list[str] = []
        for group in groups:
            raw, record = stored.get(group.slot, ("", None))
            outcome = outcome_of(group, record, run)
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
            record = record_of(item.tender, run=run, today=today, ids=notice_ids(item.refs))
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
                record = Record.model_validate_json(raw)
            except ValidationError:
                continue  # overwritten as new when its procedure comes back
            last = record.deadline.date() if record.deadline else record.reported
            if last < cutoff:
                old.add(field_name)
        if old:
            dead = [*old, *(ref for ref, slot in refs.items() if slot in old)]
            await self.redis.hdel(self.key, *dead)
        return len(old)

    async def _group(self, ordered: Sequence[Tender]) -> list[Group]:
        """Group copies and amendments of one procedure, by stored links or fingerprint."""
        lookups = [lookup_refs(t) for t in ordered]
        wanted = sorted({ref for refs in lookups for ref in refs})
        values: list[Any] = await self.redis.hmget(self.key, wanted) if wanted else []
        # A ref field holds the field of its record; a record field stands for itself.
        known = {
            ref: ref if ref.startswith("fp:") else value.decode()
            for ref, value in zip(wanted, values, strict=True)
            if value
        }
        by_field: dict[str, Group] = {}
        for tender, links in zip(ordered, lookups, strict=True):
            target = next((known[r] for r in links if r in known), links[-1])
            group = by_field.setdefault(target, Group(slot=target))
            group.members.append(tender)
            own = own_refs(tender)
            group.refs += [r for r in own if r not in group.refs]
            for ref in [*own, links[-1]]:
                known.setdefault(ref, target)  # later notices of the batch find this group
        return list(by_field.values())

    async def _records(self, fields: list[str]) -> dict[str, tuple[str, Record | None]]:
        if not fields:
            return {}
        values: list[Any] = await self.redis.hmget(self.key, fields)
        found: dict[str, tuple[str, Record | None]] = {}
        for name, value in zip(fields, values, strict=True):
            if value:
                raw = value.decode()
                try:
                    found[name] = (raw, Record.model_validate_json(raw))
                except ValidationError:
                    found[name] = (raw, None)  # an unreadable record is overwritten as new
        return found

    async def _store(
        self, group: Group, change: Change, raw: str, record: Record | None, *, run: str
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
            ids = [*record.ids, *notice_ids(group.refs)]
            record = record_of(change.tender, run=run, today=record.reported, ids=ids)
        # A cancellation keeps what was reported; only its status and run move on.
        updated = record.model_copy(update=update)
        won = await self._claim(
            keys=[self.key], args=[group.slot, raw, updated.model_dump_json(), run, *group.refs]
        )
        return bool(won)
