"""A farm served by two kinds of process, as on Kubernetes: ``farm up --no-workers`` holds
the shared bot, the webhooks and the outboxes; ``farm up --no-gateway`` runs every crew's
work, with no bot token in its environment. Each wakes the other: a message heard by the
gateway is run by the workers, their reply is sent by the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from equipage.app.farming import open_farm_service, serve_farm
from equipage.config import Settings
from equipage.farm import Farm
from equipage.keys import CONSUMER_GROUP, Keys
from equipage.testing.fake_telegram import FakeTelegram
from tests.test_farm_e2e import Person, cli

TOKEN = "123456:TEST-split"
ADMIN, ALICE, BOB = 2000, 2001, 2002


def _env(**more: str) -> dict[str, str]:
    # Nothing of the test runner's own platform settings reaches the processes.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))}
    return {**env, **more}


async def _readers(farm: Farm, crew: str) -> set[str]:
    """The consumers that read ``crew``'s ceo inbox in the workers' group."""
    inbox = Keys(crew, farm.registry.keys.namespace).inbox("ceo")
    consumers = await farm.redis.xinfo_consumers(inbox, CONSUMER_GROUP)
    return {_name(c["name"]) for c in consumers}


def _name(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


@pytest.mark.e2e
async def test_a_farm_split_in_a_gateway_process_and_a_tokenless_worker_process(
    tmp_path: Path,
) -> None:
    root = tmp_path / "farm"
    root.mkdir()
    async with FakeTelegram(TOKEN) as fake:
        bots = _env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url)
        await cli(root, bots, "farm", "init", ".", "--admin", f"telegram:{ADMIN}")
        (root / "farm.yaml").write_text(
            "channels:\n  telegram:\n    mode: polling\npool:\n  sweep_every: 0.5\n"
        )
        await cli(root, bots, "crew", "new", "alice", "--owner", f"telegram:{ALICE}")
        settings = Settings(channel_env=Settings.from_env(bots).channel_env)
        admin, alice, bob = (
            Person(fake, ADMIN, "Admin"),
            Person(fake, ALICE, "Alice"),
            Person(fake, BOB, "Bob"),
        )
        async with open_farm_service(root, settings, force_offline=True, workers=False) as service:
            assert service.adapters.keys() == {"telegram"}
            stop = asyncio.Event()
            gateway = asyncio.create_task(serve_farm(service, stop))
            # The worker process: no token anywhere in its environment.
            workers = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "equipage.cli",
                "farm",
                "up",
                "--farm",
                str(root),
                "--no-gateway",
                "--offline",
                cwd=root,
                env=_env(),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                await alice.hears("alice")  # the welcome, sent by the gateway
                await alice.asks("What can you do for me?")
                admin.says(f"/crew new bob telegram:{BOB}")
                await bob.hears("bob")
                await bob.asks("What can you do for me?")
                # The turns ran in the worker process, not in the gateway's.
                worker = f"{socket.gethostname()}-{workers.pid}"
                for crew in ("alice", "bob"):
                    assert await _readers(service.farm, crew) == {worker}
            finally:
                if workers.returncode is None:
                    workers.send_signal(signal.SIGTERM)
                output, _ = await workers.communicate()
                stop.set()
                await gateway
        said = output.decode()
        assert workers.returncode == 0, said
        assert "no gateway" in said and "TELEGRAM" not in said


def test_farm_up_refuses_to_run_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from equipage.cli import app

    command = ["farm", "up", "--farm", str(tmp_path), "--no-workers", "--no-gateway"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "nothing to run" in result.output
