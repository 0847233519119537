"""Red team: someone who can write Redis tries to keep a hostile request out of the audit.

The names of audit events are predictable (an approval question's id is a hash of role,
thread and call), so before signing, pre-adding ``asked:<id>`` to ``audit:seen`` made the
approval question of a hostile request vanish from the log. The attacker here learns the
names the way anyone can, by running the same code on a copy, and pre-seeds them every way
they could be stored; the gullible crew is then attacked through each outside source.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.audit import Audit
from equipage.keys import Keys
from tests.test_crew import AUDIT_KEY
from tests.test_redteam import ANNOUNCE, REMEMBER, Case, _effects, _run

CASES = [
    Case(source, payload, order)
    for source in ("member-chat", "delegate-result", "document", "memory")
    for payload in ("plain", "french")
    for order in (REMEMBER, ANNOUNCE)
    if not (source == "memory" and order is ANNOUNCE)
]


async def _names_of_events(redis: aioredis.Redis, case: Case) -> list[str]:
    """The event names a run of ``case`` records, learned on a copy of the crew."""
    copy = Keys("acme", namespace=f"t{uuid.uuid4().hex[:10]}")
    await _run(redis, copy, case, answer=None)
    raw: Any = await redis.xrange(copy.audit)
    return [fields[b"once"].decode() for _, fields in raw if fields.get(b"once")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_preseeded_event_markers_cannot_hide_the_approval_of_a_hostile_request(
    redis: aioredis.Redis, keys: Keys, case: Case
) -> None:
    names = await _names_of_events(redis, case)
    asked = [n for n in names if n.startswith("asked:")]
    assert asked, f"{case.id}: the copy asked no approval"
    seeded = {field for n in names for field in (n, hashlib.sha256(n.encode()).hexdigest())}
    await redis.sadd(f"{keys.prefix}audit:seen", *names)  # where names were kept before
    await redis.hset(keys.audit_once, mapping=dict.fromkeys(seeded, "0"))

    await _run(redis, keys, case, answer=None)

    assert await _effects(redis, keys) == (False, False)
    audit = Audit(redis, keys, AUDIT_KEY)
    assert "approval_asked" in [e.action for e in await audit.entries()]
    raw: Any = await redis.xrange(keys.audit)
    assert set(asked) <= {fields[b"once"].decode() for _, fields in raw}  # the very names
    report = await audit.verify()
    foreign = {b.marker for b in report.breaks if b.kind == "marker_without_entry"}
    assert foreign == seeded
    assert {b.kind for b in report.breaks} == {"marker_without_entry"}
