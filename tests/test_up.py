"""``equipage up`` with its console, as a user runs it: a real process, its stdin a pipe."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.test_cli import clean_env, equipage

#: What ``up`` prints once its console reads what is typed.
READY = "Type to talk to the crew"


class Up:
    """``equipage up --console`` in ``folder``; its stdin stays open, its output is collected."""

    def __init__(self, folder: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "equipage.cli", "up", "--console"],
            cwd=folder,
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        """Return once ``text`` was printed; fail with the output after ``timeout``."""
        with self._changed:
            found = self._changed.wait_for(lambda: text in "".join(self._lines), timeout)
        assert found, f"{text!r} not printed after {timeout}s:\n{self.output}"

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def exit_code(self, timeout: float) -> int:
        """The exit code, once the process ended within ``timeout`` seconds."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout}s:\n{self.output}") from None
        self._reader.join(timeout)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    equipage(tmp_path, "init")
    return tmp_path


def test_ctrl_c_stops_up_at_once_without_waiting_for_enter(folder: Path) -> None:
    up = Up(folder)
    try:
        up.wait_for(READY)
        up.proc.send_signal(signal.SIGINT)
        assert up.exit_code(timeout=20) == 0
        assert "stopped." in up.output
        assert "Traceback" not in up.output
    finally:
        up.close()


def test_a_second_up_with_a_console_on_the_same_crew_refuses_naming_the_first(
    folder: Path,
) -> None:
    first = Up(folder)
    try:
        first.wait_for(READY)
        second = Up(folder)
        try:
            assert second.exit_code(timeout=60) == 1
            assert f"pid {first.proc.pid}" in second.output
            assert "Traceback" not in second.output
        finally:
            second.close()
        first.type("/help")
        first.wait_for("/approve")  # the first console still answers
        first.proc.send_signal(signal.SIGINT)
        assert first.exit_code(timeout=20) == 0
        third = Up(folder)  # freed on exit
        try:
            third.wait_for(READY)
        finally:
            third.close()
    finally:
        first.close()


def test_removing_the_data_folder_stops_up_with_one_line_saying_what_to_do(
    folder: Path,
) -> None:
    up = Up(folder)
    try:
        up.wait_for(READY)
        shutil.rmtree(folder / ".equipage")
        assert up.exit_code(timeout=30) == 1
        assert "data folder" in up.output
        assert "Traceback" not in up.output
        assert not (folder / ".equipage").exists()  # nothing half-made in its place
    finally:
        up.close()


def test_a_live_run_reading_stdin_beside_up_runs_and_leaves_up_working(folder: Path) -> None:
    up = Up(folder)
    try:
        up.wait_for(READY)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "equipage.cli",
                "workflow",
                "run",
                "live_assist",
                "--set",
                "source=stdin",
                "--set",
                "interval=0",
            ],
            cwd=folder,
            env=clean_env(),
            input="client: honestly, it is too expensive for us\nme: I see\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Price objection" in done.stdout, done.stdout
        assert up.proc.poll() is None, up.output
        up.type("/help")
        up.wait_for("/approve")
        up.proc.send_signal(signal.SIGINT)
        assert up.exit_code(timeout=20) == 0
    finally:
        up.close()
