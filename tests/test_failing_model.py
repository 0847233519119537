"""A model that cannot be reached: the founder hears so at once, in their language."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from equipage.testing import SONNET_SPEC
from tests.test_cli import clean_env, equipage


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


def test_send_with_an_unreachable_model_tells_the_founder_at_once_and_exits_1(
    tmp_path: Path,
) -> None:
    """Issue 11, cause 6: no message, and `equipage send` waited its whole 300 s."""
    equipage(tmp_path, "init")
    starter = tmp_path / "company.yaml"
    starter.write_text(starter.read_text().replace("model: offline", f"model: {SONNET_SPEC}"))
    env = {
        **clean_env(),
        "ANTHROPIC_API_KEY": "sk-ant-test-" + "x" * 24,
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
        "COLUMNS": "1000",  # one line per paragraph: the phrases below are not wrapped
    }
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "equipage.cli", "send", "hello", "--timeout", "90"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - began
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "I will retry it by myself" in output
    assert "could not reach" in output  # the provider's words: what failed, what to check
    assert "sk-ant-test" not in output
    assert took < 60, f"send took {took:.0f} s"
