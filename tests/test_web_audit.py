"""The audit page: entries filtered and paged, and the chain check showing where it breaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.audit import Audit, AuditEntry, create_key_file, load_key
from equipage.keys import Keys
from equipage.web.auditlog import check_chain, read_audit
from tests.consoles import served, shown


async def seeded(redis: aioredis.Redis, keys: Keys, home: Path, count: int = 6) -> Audit:
    """A signed chain of ``count`` entries, its key in ``home`` as ``equipage init`` writes it."""
    create_key_file(home)
    audit = Audit(redis, keys, load_key(None, home, create=False))
    for n in range(count):
        actor = "member:alice" if n % 2 else "ceo"
        action = "approved" if n % 2 else "tool"
        await audit.append(
            AuditEntry(action=action, actor=actor, thread="ceo:t1", detail=f"step {n}")
        )
    return audit


async def tamper(redis: aioredis.Redis, keys: Keys, index: int) -> str:
    """Rewrite the body of the entry at ``index`` in place, as someone with Redis access could."""
    raw: Any = await redis.xrange(keys.audit)
    await redis.delete(keys.audit)
    for n, (entry_id, fields) in enumerate(raw):
        text = {k.decode(): v.decode() for k, v in fields.items()}
        if n == index:
            text["entry"] = text["entry"].replace("step", "STEP")
        await redis.xadd(keys.audit, text, id=entry_id)
    return str(raw[index][0].decode())


async def test_entries_come_newest_first_filtered_and_paged(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    await seeded(redis, keys, tmp_path)
    page = await read_audit(redis, keys, limit=4)
    assert [r.detail for r in page.rows] == ["step 5", "step 4", "step 3", "step 2"]
    assert [r.seq for r in page.rows] == [5, 4, 3, 2]
    assert page.older == page.rows[-1].id
    rest = await read_audit(redis, keys, limit=4, before=page.older)
    assert [r.detail for r in rest.rows] == ["step 1", "step 0"] and rest.older is None

    people = await read_audit(redis, keys, actor="member:alice")
    assert [r.detail for r in people.rows] == ["step 5", "step 3", "step 1"]
    tools = await read_audit(redis, keys, kind="tool", limit=2)
    assert [r.detail for r in tools.rows] == ["step 4", "step 2"] and tools.older is not None
    assert not (await read_audit(redis, keys, actor="ceo", kind="approved")).rows

    later = datetime.now(UTC) + timedelta(hours=1)
    assert not (await read_audit(redis, keys, since=later)).rows
    assert len((await read_audit(redis, keys, until=later)).rows) == 6


async def test_the_check_finds_a_whole_chain_then_shows_where_a_tampered_one_breaks(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    await seeded(redis, keys, tmp_path)
    whole = await check_chain(redis, keys, tmp_path)
    assert whole.report is not None and whole.report.ok and whole.report.entries == 6

    changed = await tamper(redis, keys, 3)
    broken = await check_chain(redis, keys, tmp_path)
    assert broken.report is not None and not broken.report.ok
    first = broken.report.breaks[0]
    assert (first.kind, first.index, first.entry_id) == ("hmac", 3, changed)


async def test_without_the_key_the_check_says_so_instead_of_failing(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    checked = await check_chain(redis, keys, tmp_path / "elsewhere")
    assert checked.report is None and "audit key" in checked.refused


async def test_the_audit_page_filters_and_verify_shows_where_a_tampered_chain_breaks(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    await seeded(redis, keys, tmp_path)
    async with served(redis, keys, tmp_path) as console:
        alice = await console.browser("alice", "fr")
        listed = await alice.get("/audit", params={"actor": "member:alice"})
        assert listed.status_code == 200 and "Journal d'audit" in shown(listed)
        assert "step 5" in shown(listed) and "step 4" not in shown(listed)

        csrf = console.csrf["alice"]
        whole = await alice.post("/audit/verify", data={"csrf": csrf})
        assert whole.status_code == 200 and "La chaîne est intacte" in shown(whole)

        changed = await tamper(redis, keys, 3)
        broken = await alice.post("/audit/verify", data={"csrf": csrf})
        assert "La chaîne est rompue" in shown(broken)
        assert 'data-kind="hmac" data-index="3"' in shown(broken) and changed in shown(broken)
        assert "la signature ne correspond pas" in shown(broken)
        assert shown(broken).count('class="entry broken"') == 1
        assert "its signature does not match" not in shown(broken)  # English only for English

        assert (await alice.post("/audit/verify", data={})).status_code == 403  # no CSRF
        assert (await alice.post("/audit/verify", data={"csrf": "forged"})).status_code == 403
        bob = await console.browser("bob")
        assert (await bob.get("/audit")).status_code == 403
        bob_csrf = console.csrf["bob"]
        assert (await bob.post("/audit/verify", data={"csrf": bob_csrf})).status_code == 403
