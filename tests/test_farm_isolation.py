"""One crew's CLI reaches nothing of another: the real ``equipage`` commands on a farm folder.

Each command runs as a founder runs it, from the farm's folder with one crew's config
(``--config crews/alice/company.yaml``), on the farm's embedded Redis; bob's state is put
there beforehand, and checked afterwards, through the farm's own connection.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from channels.farm_gateway import FarmGateway
from channels.gateway import Gateway
from equipage.approvals import Approval, Approvals
from equipage.budget import Budget
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.cli import app
from equipage.config import Settings, load_config
from equipage.envelope import Origin
from equipage.farm import Farm, crew_config, open_farm
from equipage.testing import stream_entries

T = TypeVar("T")

ALICE = ("--config", "crews/alice/company.yaml")
BOB = ("--config", "crews/bob/company.yaml")
QUESTION = Approval(
    id="b0b0b0b0",
    role="ceo",
    thread="console:bob",
    text="Publish Bob's launch post on Monday?",
    origin=Origin(channel="console", chat="bob", member="owner"),
)


def cli(*args: str, code: int = 0) -> str:
    env = {"REDIS_URL": "", "EQUIPAGE_HOME": "", "EQUIPAGE_NAMESPACE": "", "COLUMNS": "200"}
    done = CliRunner().invoke(app, [*args], env=env)
    output = done.output + (done.stderr if done.stderr_bytes is not None else "")
    assert done.exit_code == code, f"{args} exited {done.exit_code}: {output}"
    return output


def on_farm(root: Path, action: Callable[[Farm], Awaitable[T]]) -> T:
    """Run ``action`` on the farm's own Redis, as the CLI finds it (same env as ``cli``)."""

    async def run() -> T:
        async with open_farm(root, Settings.from_env({})) as farm:
            return await action(farm)

    return asyncio.run(run())


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    on = ("--farm", str(tmp_path))
    cli("farm", "init", str(tmp_path))
    cli("crew", "new", "alice", "--owner", "console:alice", *on)
    cli("crew", "new", "bob", "--owner", "console:bob", *on)
    # The founder's shell: in the farm's folder, whose .equipage/ holds the farm's Redis.
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def bob_keys(farm: Farm) -> dict[bytes, object]:
    """Every key under bob's hash tag with its value (not DUMP: a restarted server re-encodes)."""
    match = farm.registry.keys.crew_match("bob")
    return {key: await value_of(farm, key) async for key in farm.redis.scan_iter(match=match)}


async def value_of(farm: Farm, key: bytes) -> object:
    redis = farm.redis
    raw = await redis.type(key)
    kind = raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "string":
        return await redis.get(key)
    if kind == "hash":
        return await redis.hgetall(key)
    if kind == "set":
        return await redis.smembers(key)
    if kind == "zset":
        return await redis.zrange(key, 0, -1, withscores=True)
    if kind == "list":
        return await redis.lrange(key, 0, -1)
    groups = await redis.xinfo_groups(key)
    return await redis.xrange(key), [(g["name"], g["last-delivered-id"]) for g in groups]


async def ask_bob(farm: Farm) -> None:
    await Approvals(farm.redis, farm.keys("bob")).open(QUESTION, "ceo:console:bob")


# -- approvals ---------------------------------------------------------------------------------
def test_alice_s_cli_neither_lists_nor_answers_bob_s_question(root: Path) -> None:
    on_farm(root, ask_bob)
    assert "Publish Bob" in cli("approvals", "show", QUESTION.id, *BOB)  # it is there

    assert "No open question" in cli("approvals", "show", QUESTION.id, *ALICE, code=2)
    assert QUESTION.id not in cli("status", *ALICE)
    for command in (f"/approve {QUESTION.id}", f"/reject {QUESTION.id} no"):
        answered = cli("send", command, *ALICE, "--timeout", "30")
        assert "No open question b0b0b0b0" in answered and "Publish" not in answered

    async def still_open(farm: Farm) -> tuple[Approval | None, tuple[str, ...], int]:
        approvals = Approvals(farm.redis, farm.keys("bob"))
        inbox = await stream_entries(farm.redis, farm.keys("bob").inbox("ceo"))
        waiting = await approvals.waiting_on("ceo:console:bob")
        return await approvals.get(QUESTION.id), waiting, len(inbox)

    assert on_farm(root, still_open) == (QUESTION, (QUESTION.id,), 0)
    assert QUESTION.id in cli("status", *BOB)


# -- budget and audit --------------------------------------------------------------------------
def test_alice_s_budget_shows_none_of_bob_s_spend(root: Path) -> None:
    async def bob_spends(farm: Farm) -> None:
        budget = Budget(farm.redis, farm.keys("bob"), daily={"ceo": 10.0}, monthly=100.0)
        hold = await budget.reserve("ceo", 2.0)
        assert isinstance(hold, str)
        await budget.settle(hold, "ceo", 1.2345, "console:bob-launch-thread")

    on_farm(root, bob_spends)

    mine = cli("budget", *ALICE)
    assert "1.2345" not in mine and "bob-launch-thread" not in mine
    assert "company this month: 0.0000" in mine
    theirs = cli("budget", *BOB)
    assert "1.2345" in theirs and "bob-launch-thread" in theirs


def audited(output: str) -> int:
    found = re.search(r"audit chain whole:\s+(\d+) entries", output)
    assert found is not None, output
    return int(found.group(1))


def test_alice_s_audit_verify_reads_alice_s_chain_only(root: Path) -> None:
    cli("send", "Hello crew, what can you do?", *BOB, "--timeout", "60")

    async def lengths(farm: Farm) -> tuple[int, int]:
        alice = await farm.redis.xlen(farm.keys("alice").audit)
        bob = await farm.redis.xlen(farm.keys("bob").audit)
        return int(alice), int(bob)

    alice_entries, bob_entries = on_farm(root, lengths)
    assert bob_entries > 0
    assert audited(cli("audit", "verify", *ALICE)) == alice_entries
    assert audited(cli("audit", "verify", *BOB)) == bob_entries


# -- lifecycle -----------------------------------------------------------------------------------
def test_pausing_alice_leaves_bob_served(root: Path) -> None:
    cli("crew", "pause", "alice", "--farm", str(root))

    async def both_write(farm: Farm) -> tuple[list[str], int, int]:
        gateways: dict[str, Gateway] = {}

        async def gateway_for(name: str) -> Gateway:
            if name not in gateways:
                config = load_config(crew_config(farm.root, name))
                gateways[name] = Gateway(config, Bus(farm.redis, farm.keys(name)), channels={})
            return gateways[name]

        front = FarmGateway(farm, gateway_for)
        try:
            told = []
            for user in ("alice", "bob"):
                sent = Incoming(channel="cli", chat=user, user=user, text="Hello crew, news?")
                told += [reply.text for reply in await front.receive(sent)]
        finally:
            for gateway in gateways.values():
                await gateway.aclose()
        inboxes = [
            len(await stream_entries(farm.redis, farm.keys(crew).inbox("ceo")))
            for crew in ("alice", "bob")
        ]
        return told, inboxes[0], inboxes[1]

    told, alice_inbox, bob_inbox = on_farm(root, both_write)
    assert len(told) == 1 and "paused" in told[0]  # alice is told; bob gets no refusal
    assert (alice_inbox, bob_inbox) == (0, 1)
    listed = cli("crew", "list", "--farm", str(root))
    assert re.search(r"bob\s.*active", listed), listed


def test_deleting_alice_leaves_every_key_of_bob_s_in_place(root: Path) -> None:
    on_farm(root, ask_bob)
    cli("send", "Hello crew, what can you do?", *BOB, "--timeout", "60")
    before = on_farm(root, bob_keys)
    assert len(before) > 3

    cli("crew", "delete", "alice", "--yes", "--farm", str(root))

    after = on_farm(root, bob_keys)
    assert after.keys() == before.keys()
    assert after == before
    assert "bob" in cli("crew", "list", "--farm", str(root))
    assert "Publish Bob" in cli("approvals", "show", QUESTION.id, *BOB)
