"""The audit chain proves who asked, what ran and who approved, against someone with Redis.

Each attack runs twice: on the library's ``verify`` and through the real ``equipage audit
verify`` command, and both must name the place where the chain breaks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import secrets
import signal
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.app import open_session
from equipage.audit import (
    Anchor,
    Anchorer,
    AnchorFile,
    Audit,
    AuditBreak,
    AuditEntry,
    AuditKey,
    anchor_file,
    company_key,
    create_key_file,
    key_file,
    load_key,
    verify_company,
)
from equipage.audit.report import BreakKind
from equipage.config import McpServer, Settings, mcp_process_env
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.scaffold import write_starter
from equipage.testing import wait_until
from tests.test_cli import equipage
from tests.test_crew import company

KEY = AuditKey("a-test-key-for-the-audit-chain-" + "1" * 16)
ENTRIES = 5  # the chain every attack starts from: #0..#4, each a named event, anchored at #4


@dataclass
class Scene:
    redis: aioredis.Redis
    keys: Keys
    home: Path
    ids: list[str]  # stream ids of #0..#4

    def audit(self) -> Audit:
        return Audit(self.redis, self.keys, load_key(None, self.home, create=False))


@dataclass(frozen=True)
class Expect:
    """The first break verify must report, or the refusal it must raise."""

    kind: BreakKind | None = None
    index: int | None = None
    entry_id: str | None = None
    marker: str | None = None
    refused: str | None = None

    def where(self) -> str:
        assert self.kind is not None
        found = AuditBreak(
            kind=self.kind,
            detail="",
            index=self.index,
            entry_id=self.entry_id,
            marker=self.marker,
        )
        return f"{found.where()}: {self.kind.replace('_', ' ')}: "


async def _seed(redis: aioredis.Redis, keys: Keys, home: Path) -> Scene:
    """Five named events, signed with the home's key and anchored at the last one."""
    audit = Audit(redis, keys, load_key(None, home, create=False))
    for n in range(ENTRIES):
        entry = AuditEntry(action="tool", actor="ceo", thread="t", detail=f"step {n}")
        await audit.append(entry, once=f"tool:t:{n}")
    anchored = await Anchorer(audit, AnchorFile(anchor_file(home, keys))).anchor()
    assert anchored is not None and anchored.seq == ENTRIES - 1
    raw: Any = await redis.xrange(keys.audit)
    return Scene(redis, keys, home, [entry_id.decode() for entry_id, _ in raw])


async def _rewrite(
    scene: Scene, change: Callable[[int, dict[str, str]], dict[str, str] | None]
) -> list[str]:
    """Replace the stream by ``change`` of each entry (None drops it), keeping the ids."""
    raw: Any = await scene.redis.xrange(scene.keys.audit)
    await scene.redis.delete(scene.keys.audit)
    kept = []
    for n, (entry_id, fields) in enumerate(raw):
        text = {k.decode(): v.decode() for k, v in fields.items()}
        changed = change(n, text)
        if changed is not None:
            await scene.redis.xadd(scene.keys.audit, changed, id=entry_id)  # type: ignore[arg-type]
            kept.append(entry_id.decode())
    return kept


def _plain(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


# -- the attacks: each tampers with a seeded chain and says what verify must find ------------
async def _forge(scene: Scene, sign: Callable[[list[str]], str]) -> list[str]:
    """Rewrite every entry's body and re-chain them all, signing with ``sign``."""
    prev = "0" * 64

    def forge(n: int, fields: dict[str, str]) -> dict[str, str]:
        nonlocal prev
        body = fields["entry"].replace("step", "forged step")
        parts = ["entry", scene.keys.prefix, fields["seq"], prev, fields["once"], body]
        mac = sign(parts)
        forged = {**fields, "entry": body, "prev": prev, "mac": mac}
        prev = mac
        return forged

    return await _rewrite(scene, forge)


async def rewrite_every_entry_with_recomputed_plain_hashes(scene: Scene) -> Expect:
    # Everything the MAC covers, in its format, hashed: all one can compute without the key.
    ids = await _forge(scene, lambda parts: hashlib.sha256(json.dumps(parts).encode()).hexdigest())
    return Expect("hmac", 0, ids[0])


async def rewrite_every_entry_signed_with_another_key(scene: Scene) -> Expect:
    ids = await _forge(scene, lambda parts: AuditKey.generate().sign(*parts))
    return Expect("hmac", 0, ids[0])


async def edit_one_entry(scene: Scene) -> Expect:
    def edit(n: int, fields: dict[str, str]) -> dict[str, str]:
        if n != 2:
            return fields
        return {**fields, "entry": fields["entry"].replace('"ceo"', '"member:owner"')}

    await _rewrite(scene, edit)
    return Expect("hmac", 2, scene.ids[2])


async def delete_one_entry(scene: Scene) -> Expect:
    await scene.redis.xdel(scene.keys.audit, scene.ids[2])
    return Expect("missing", 2, scene.ids[3])


async def swap_two_entries(scene: Scene) -> Expect:
    raw: Any = await scene.redis.xrange(scene.keys.audit)
    order = [0, 1, 3, 2, 4]

    def swap(n: int, fields: dict[str, str]) -> dict[str, str]:
        other = raw[order[n]][1]
        return {k.decode(): v.decode() for k, v in other.items()}

    await _rewrite(scene, swap)
    return Expect("missing", 2, scene.ids[2])


async def delete_the_newest_entries_after_an_anchor(scene: Scene) -> Expect:
    await scene.redis.xdel(scene.keys.audit, scene.ids[3], scene.ids[4])
    # Their markers hold their numbers: an attacker can find and remove them too.
    markers: Any = await scene.redis.hgetall(scene.keys.audit_once)
    gone = [field for field, value in markers.items() if value in (b"3", b"4")]
    await scene.redis.hdel(scene.keys.audit_once, *gone)
    return Expect("truncated", 3, scene.ids[4])


async def delete_the_stream(scene: Scene) -> Expect:
    await scene.redis.delete(scene.keys.audit, scene.keys.audit_once)
    return Expect("stream_missing", 0, scene.ids[4])


async def downgrade_to_entries_from_before_signing(scene: Scene) -> Expect:
    prev = "0" * 64

    def unsign(n: int, fields: dict[str, str]) -> dict[str, str]:
        nonlocal prev
        digest = _plain(prev, fields["entry"])
        legacy = {"entry": fields["entry"], "prev": prev, "hash": digest}
        prev = digest
        return legacy

    await scene.redis.delete(scene.keys.audit_once)
    await _rewrite(scene, unsign)
    return Expect("unsigned", 0, scene.ids[0])


async def preseed_the_marker_of_a_future_event(scene: Scene) -> Expect:
    # The old set, and the new hash with the plain name: neither may hide the event.
    await scene.redis.sadd(f"{scene.keys.prefix}audit:seen", "asked:q9")
    await scene.redis.hset(scene.keys.audit_once, "asked:q9", "5")
    await scene.audit().append(AuditEntry(action="approval_asked", actor="ceo"), once="asked:q9")
    assert [e.action for e in await scene.audit().entries()][-1] == "approval_asked"
    return Expect("marker_without_entry", marker="asked:q9")


async def replace_the_key(scene: Scene) -> Expect:
    key_file(scene.home).write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    return Expect("hmac", 0, scene.ids[0])


async def move_the_key_away(scene: Scene) -> Expect:
    key_file(scene.home).rename(scene.home.parent / "elsewhere.key")
    return Expect(refused="no audit key")


ATTACKS: list[Callable[[Scene], Awaitable[Expect]]] = [
    rewrite_every_entry_with_recomputed_plain_hashes,
    rewrite_every_entry_signed_with_another_key,
    edit_one_entry,
    delete_one_entry,
    swap_two_entries,
    delete_the_newest_entries_after_an_anchor,
    delete_the_stream,
    downgrade_to_entries_from_before_signing,
    preseed_the_marker_of_a_future_event,
    replace_the_key,
    move_the_key_away,
]
IDS = [a.__name__ for a in ATTACKS]


@pytest.mark.parametrize("attack", ATTACKS, ids=IDS)
async def test_each_attack_is_detected_by_verify_at_its_position(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, attack: Callable[[Scene], Awaitable[Expect]]
) -> None:
    home = tmp_path / ".equipage"
    create_key_file(home)
    scene = await _seed(redis, keys, home)
    assert (await verify_company(None, home, redis, keys)).ok

    expect = await attack(scene)

    if expect.refused:
        with pytest.raises(ConfigError, match=expect.refused):
            await verify_company(None, home, redis, keys)
        return
    report = await verify_company(None, home, redis, keys)
    assert not report.ok
    first = report.breaks[0]
    assert (first.kind, first.index, first.entry_id, first.marker) == (
        expect.kind,
        expect.index,
        expect.entry_id,
        expect.marker,
    ), report.breaks


@pytest.mark.parametrize("attack", ATTACKS, ids=IDS)
def test_each_attack_is_reported_by_equipage_audit_verify_with_its_position(
    tmp_path: Path, attack: Callable[[Scene], Awaitable[Expect]]
) -> None:
    home = _starter(tmp_path)
    expect = _on_embedded(home, attack)

    if expect.refused:
        output = equipage(tmp_path, "audit", "verify", code=2)
        assert expect.refused in output
        assert ".equipage/audit.key" in output
        return
    output = equipage(tmp_path, "audit", "verify", code=1)
    assert "audit chain broken" in output
    assert expect.where() in output, output


def test_equipage_audit_verify_passes_a_whole_chain_and_says_what_it_checked(
    tmp_path: Path,
) -> None:
    async def nothing(scene: Scene) -> Expect:
        return Expect()

    _on_embedded(_starter(tmp_path), nothing)
    output = equipage(tmp_path, "audit", "verify")
    assert f"audit chain whole: {ENTRIES} entries, head #{ENTRIES - 1}" in output
    assert "checked against the anchor of" in output
    assert "note:" not in output


def _starter(folder: Path) -> Path:
    """What ``equipage init`` writes (its own test runs it): company.yaml and the key."""
    write_starter(folder)
    home = folder / ".equipage"
    create_key_file(home)
    return home


def _on_embedded(home: Path, attack: Callable[[Scene], Awaitable[Expect]]) -> Expect:
    """Seed the chain on the home's embedded server, as a crew would, and attack it."""

    async def run(target: RedisTarget) -> Expect:
        client = connect(target)
        try:
            return await attack(await _seed(client, Keys("my-company"), home))
        finally:
            await client.aclose()

    server = EmbeddedRedis(home).start()
    try:
        return asyncio.run(run(RedisTarget(socket=server.socket_file)))
    finally:
        server.stop()


# -- what anchors can and cannot see ---------------------------------------------------------
async def test_entries_written_after_the_last_anchor_can_be_cut_without_a_trace(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    # The documented limit: anchors are taken each minute, not at each entry.
    home = tmp_path / ".equipage"
    create_key_file(home)
    scene = await _seed(redis, keys, home)
    for n in (5, 6):
        await scene.audit().append(AuditEntry(action="tool", actor="ceo", detail=f"late {n}"))
    report = await verify_company(None, home, redis, keys)
    assert report.ok
    assert any("not anchored yet" in note for note in report.notes())

    newest: Any = await redis.xrevrange(keys.audit, count=2)
    await redis.xdel(keys.audit, *(entry_id for entry_id, _ in newest))

    assert (await verify_company(None, home, redis, keys)).ok


async def test_the_anchorer_will_not_anchor_a_chain_cut_behind_its_last_anchor(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / ".equipage"
    create_key_file(home)
    scene = await _seed(redis, keys, home)
    await redis.xdel(keys.audit, scene.ids[3], scene.ids[4])
    for n in range(3):  # the crew writes on, from what is left
        await scene.audit().append(AuditEntry(action="tool", actor="ceo", detail=f"again {n}"))
    file = AnchorFile(anchor_file(home, keys))
    anchorer = Anchorer(scene.audit(), file)

    assert await anchorer.anchor() is None
    assert await anchorer.anchor() is None

    assert [a.seq for a in file.read()] == [ENTRIES - 1]
    assert len([r for r in caplog.records if "not anchored" in r.getMessage()]) == 1
    report = await verify_company(None, home, redis, keys)
    assert report.breaks[0].kind == "anchor_mismatch"
    assert report.breaks[0].index == 4


async def test_the_anchorer_anchors_at_once_when_the_head_moves_and_when_stopped(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    audit = Audit(redis, keys, KEY)
    await audit.append(AuditEntry(action="tool", actor="ceo"))
    file = AnchorFile(tmp_path / "anchors.json")
    stop = asyncio.Event()
    task = asyncio.create_task(Anchorer(audit, file, interval=3600).run(stop))
    await wait_until(lambda: asyncio.to_thread(file.read), what="the first anchor")

    await audit.append(AuditEntry(action="tool", actor="ceo"))
    await audit.append(AuditEntry(action="tool", actor="ceo"))
    stop.set()
    await task

    anchors = file.read()
    assert [a.seq for a in anchors] == [0, 2]
    assert anchors[-1].count == 3 and anchors[-1].key == KEY.id


async def test_a_session_anchors_what_it_wrote_when_it_closes(
    redis_target: RedisTarget, keys: Keys, tmp_path: Path
) -> None:
    url = redis_target.url or f"unix://{redis_target.socket}"
    settings = Settings(redis_url=url, namespace=keys.namespace)
    home = tmp_path / ".equipage"
    async with open_session(company(), settings, home=home, force_offline=True) as session:
        audit = session.crew.audit
        assert audit is not None
        await audit.append(AuditEntry(action="tool", actor="ceo"), once="tool:x:1")

    session_keys = Keys("acme", keys.namespace)
    [anchor] = AnchorFile(anchor_file(home, session_keys)).read()
    assert anchor.seq == 0
    client = connect(redis_target)
    try:
        assert (await verify_company(None, home, client, session_keys)).ok
    finally:
        await client.aclose()


async def test_concurrent_anchor_writers_never_corrupt_the_file_nor_move_it_back(
    tmp_path: Path,
) -> None:
    file = AnchorFile(tmp_path / "audit" / "anchors.json", keep=500)
    seqs = list(range(200))
    random.Random(7).shuffle(seqs)

    def add(seq: int) -> bool:
        at = float(seq)
        return file.add(Anchor(seq=seq, mac="m", entry=f"{seq}-0", count=seq + 1, at=at, key="k"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, seqs))

    kept = [a.seq for a in file.read()]
    assert kept == sorted(set(kept)) and kept[-1] == 199
    assert [p.name for p in file.path.parent.iterdir() if p.name.endswith(".tmp")] == []


# -- writers ------------------------------------------------------------------------------------
async def test_concurrent_writers_keep_one_chain_and_each_named_event_once(
    redis: aioredis.Redis, keys: Keys
) -> None:
    first, second = Audit(redis, keys, KEY), Audit(redis, keys, KEY)
    names = [f"tool:t:{n % 10}" for n in range(30)]  # each event written three times
    await asyncio.gather(
        *(
            (first if n % 2 else second).append(AuditEntry(action="tool", actor="ceo"), once=name)
            for n, name in enumerate(names)
        )
    )
    assert len(await first.entries()) == 10
    report = await first.verify()
    assert report.ok and report.head is not None and report.head.seq == 9


async def test_a_writer_killed_mid_append_leaves_a_chain_that_verifies(
    redis: aioredis.Redis, keys: Keys, redis_target: RedisTarget
) -> None:
    script = """
import asyncio, sys
from equipage.audit import Audit, AuditEntry, AuditKey
from equipage.connection import RedisTarget, connect
from equipage.keys import Keys
from equipage.scaffold import write_starter

async def write(audit, worker):
    for n in range(100_000):
        await audit.append(AuditEntry(action="tool", actor="ceo"), once=f"{worker}:{n}")

async def main():
    url, socket, namespace, secret = sys.argv[1:]
    client = connect(RedisTarget(url=url or None, socket=socket or None))
    audit = Audit(client, Keys("acme", namespace), AuditKey(secret))
    await asyncio.gather(*(write(audit, w) for w in range(4)))

asyncio.run(main())
"""
    target = [redis_target.url or "", redis_target.socket or "", keys.namespace]
    secret = "a-test-key-for-the-audit-chain-" + "1" * 16
    writer = subprocess.Popen([sys.executable, "-c", script, *target, secret])
    try:
        await wait_until(
            lambda: _length_at_least(redis, keys, 200), timeout=60, what="200 audit entries"
        )
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    report = await Audit(redis, keys, KEY).verify()
    assert report.ok, report.breaks
    assert report.entries >= 200


async def _length_at_least(redis: aioredis.Redis, keys: Keys, length: int) -> bool:
    return int(await redis.xlen(keys.audit)) >= length


async def test_a_chain_from_before_signing_is_reported_as_such_and_continues_signed(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    prev = "0" * 64
    for n in range(3):  # as the unsigned audit wrote them
        body = AuditEntry(action="tool", actor="ceo", detail=f"old {n}").model_dump_json()
        digest = _plain(prev, body)
        await redis.xadd(keys.audit, {"entry": body, "prev": prev, "hash": digest})
        prev = digest
    audit = Audit(redis, keys, KEY)
    await audit.append(AuditEntry(action="tool", actor="ceo", detail="new"))
    file = AnchorFile(tmp_path / "anchors.json")
    anchor = await Anchorer(audit, file).anchor()
    await audit.append(AuditEntry(action="tool", actor="ceo", detail="newer"))

    report = await audit.verify(file.read())

    assert report.ok, report.breaks
    assert report.unsigned == 3 and report.head is not None and report.head.seq == 4
    assert anchor is not None and anchor.signed_from == 3
    assert any(n.startswith("entries 0–2 predate signing") for n in report.notes())
    assert [e.detail for e in await audit.entries()] == ["old 0", "old 1", "old 2", "new", "newer"]


async def test_a_deleted_marker_is_reported_with_its_entry(
    redis: aioredis.Redis, keys: Keys
) -> None:
    audit = Audit(redis, keys, KEY)
    for n in range(3):
        await audit.append(AuditEntry(action="tool", actor="ceo"), once=f"tool:t:{n}")
    markers: Any = await redis.hgetall(keys.audit_once)
    [field] = [f for f, v in markers.items() if v == b"1"]
    await redis.hdel(keys.audit_once, field)
    ids: Any = await redis.xrange(keys.audit)

    [found] = (await audit.verify()).breaks

    assert (found.kind, found.index, found.entry_id) == ("marker_missing", 1, ids[1][0].decode())


# -- the key ------------------------------------------------------------------------------------
def test_the_key_file_is_created_once_for_its_owner_only_and_never_replaced(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    path = create_key_file(home)
    assert path == key_file(home)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text(encoding="ascii")

    assert create_key_file(home) is None
    assert path.read_text(encoding="ascii") == text
    assert load_key(None, home, create=False).id == AuditKey(text).id


async def test_a_signed_chain_without_its_key_is_refused_instead_of_given_a_new_key(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    created = await company_key(None, fresh, redis, keys)  # nothing signed yet: made here
    assert key_file(fresh).exists()
    await Audit(redis, keys, created).append(AuditEntry(action="tool", actor="ceo"))

    other = tmp_path / "other-host"
    with pytest.raises(ConfigError, match="EQUIPAGE_AUDIT_KEY") as refused:
        await company_key(None, other, redis, keys)
    assert str(key_file(other)) in str(refused.value)
    assert not key_file(other).exists()

    configured = key_file(fresh).read_text(encoding="ascii")
    assert (await company_key(configured, other, redis, keys)).id == created.id


def test_the_audit_key_never_shows_in_settings_nor_reaches_an_mcp_server() -> None:
    secret = "s3cret-audit-key-that-must-not-leak-anywhere"
    settings = Settings.from_env({"EQUIPAGE_AUDIT_KEY": secret})
    assert settings.audit_key == secret
    assert secret not in repr(settings)
    assert secret not in repr(AuditKey(secret))
    server = McpServer.model_validate({"name": "files", "command": ["true"], "allow": ["x"]})
    assert "EQUIPAGE_AUDIT_KEY" not in mcp_process_env(server, {"EQUIPAGE_AUDIT_KEY": secret})


def test_a_short_audit_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match=r"secrets\.token_hex"):
        AuditKey("short")


async def test_reading_needs_no_key_but_signing_and_checking_do(
    redis: aioredis.Redis, keys: Keys
) -> None:
    await Audit(redis, keys, KEY).append(AuditEntry(action="tool", actor="ceo"))
    reader = Audit(redis, keys)
    assert [e.action for e in await reader.entries()] == ["tool"]
    with pytest.raises(ConfigError, match="no key"):
        await reader.verify()
    with pytest.raises(ConfigError, match="no key"):
        await reader.append(AuditEntry(action="tool", actor="ceo"))


def test_init_writes_the_audit_key_once_and_force_keeps_it(tmp_path: Path) -> None:
    first = equipage(tmp_path, "init")
    key = key_file(tmp_path / ".equipage")
    assert ".equipage/audit.key" in first
    text = key.read_text(encoding="ascii")

    again = equipage(tmp_path, "init", "--force")

    assert "audit.key" not in again
    assert key.read_text(encoding="ascii") == text
