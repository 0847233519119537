"""The chaos worker processes: started, SIGKILLed at random, restarted, watched for exits.

Processes are forked from a fork server that has imported the crew once, so a restarted
worker handles again within a fraction of a second rather than after seconds of imports:
with a kill every second or two, slow starts would leave nobody working.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Generic, TypeVar

from equipage.workflow import available_workflows
from tests.chaos.worker_proc import WINDOWS, WorkerPlan, run

__all__ = ["Fleet"]

# How far into a run each crash window's count reaches: ~14 checkpoint writes, 2 tool
# runs, 1 turn and 1 commit per envelope; concurrent handlers add up.
_REACH = {"write": 60, "tool": 10, "begun": 8, "commit": 8, "committed": 8}
_CONTEXT = multiprocessing.get_context("forkserver")
# What every worker imports, the workflows build_crew loads included: imported once.
# The farm's pool processes (``farm_proc``) too: the forkserver is one per test session.
_CONTEXT.set_forkserver_preload(
    [
        "tests.chaos.worker_proc",
        "tests.chaos.farm_proc",
        *(f"workflows.{name}" for name in available_workflows()),
    ]
)

Plan = TypeVar("Plan", bound=WorkerPlan)


@dataclass
class _Member(Generic[Plan]):
    process: BaseProcess
    plan: Plan
    killed: bool = False
    frozen: bool = False


class Fleet(Generic[Plan]):
    """``size`` worker processes kept running; ``crash_windows`` of the starts arm a window.

    Each runs ``target(plan)``: a crew's worker (``worker_proc.run``) unless told otherwise.
    """

    def __init__(
        self,
        plan: Plan,
        size: int,
        logs: Path,
        rng: random.Random,
        crash_windows: float,
        target: Callable[[Plan], None] = run,
    ) -> None:
        self.plan = plan
        self.target = target
        self.size = size
        self.logs = logs
        self.rng = rng
        self.crash_windows = crash_windows
        #: SIGKILLs sent by the harness.
        self.kills = 0
        #: Processes that killed themselves inside a crash window, per window.
        self.window_kills: Counter[str] = Counter()
        #: Processes that ended on their own: each is a dead loop (a worker must not exit).
        self.exits: list[str] = []
        self._members: dict[int, _Member[Plan]] = {}
        self._started = 0

    def start(self) -> None:
        for slot in range(self.size):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        die_after = ""
        if self.rng.random() < self.crash_windows:
            window = self.rng.choice(sorted(WINDOWS))
            die_after = f"{window}:{self.rng.randint(1, _REACH[window])}"
        self._started += 1
        log = self.logs / f"worker-{slot}-{self._started}.log"
        plan = replace(self.plan, die_after=die_after, log=str(log))
        process = _CONTEXT.Process(target=self.target, args=(plan,), daemon=True)
        process.start()
        self._members[slot] = _Member(process, plan)

    def kill_one(self) -> None:
        """SIGKILL a random live worker; ``check`` starts its successor."""
        alive = [m for m in self._members.values() if m.process.exitcode is None and not m.killed]
        alive = [m for m in alive if not m.frozen]  # it is to come back as it was
        if not alive:
            return
        member = self.rng.choice(alive)
        member.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(_pid(member.process), signal.SIGKILL)
        self.kills += 1

    def freeze_one(self) -> int:
        """SIGSTOP a random live worker (not one to be killed); returns its pid, or 0."""
        alive = [m for m in self._members.values() if m.process.exitcode is None and not m.killed]
        if not alive:
            return 0
        member = self.rng.choice(alive)
        member.frozen = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(_pid(member.process), signal.SIGSTOP)
        return _pid(member.process)

    def thaw(self, pid: int) -> None:
        for member in self._members.values():
            if member.process.pid == pid and pid:
                member.frozen = False
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def check(self) -> None:
        """Start a successor for every process that ended, and say how each one ended."""
        for slot, member in list(self._members.items()):
            code = member.process.exitcode
            if code is None:
                continue
            window = member.plan.die_after.partition(":")[0]
            if code == -signal.SIGKILL and not member.killed and window:
                self.window_kills[window] += 1
            elif not member.killed:
                self.exits.append(
                    f"worker {member.process.pid} exited with {code} "
                    f"(plan {member.plan.die_after or 'none'}); see {member.plan.log}"
                )
            member.process.close()
            self._spawn(slot)

    def stop(self, *, within: float = 15.0) -> None:
        """SIGTERM every worker (in-flight turns finish), SIGKILL those still there after."""
        for member in self._members.values():
            if member.process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(_pid(member.process), signal.SIGTERM)
        deadline = time.monotonic() + within
        for member in self._members.values():
            member.process.join(max(deadline - time.monotonic(), 0.0))
            if member.process.exitcode is None:
                member.process.kill()
                member.process.join(5.0)
        self._members.clear()

    def pids(self) -> list[int]:
        return [_pid(m.process) for m in self._members.values() if m.process.exitcode is None]

    def running(self) -> list[int]:
        """Pids of the workers that run: neither ending nor frozen on purpose."""
        return [
            _pid(m.process)
            for m in self._members.values()
            if m.process.exitcode is None and not m.killed and not m.frozen
        ]


def _pid(process: BaseProcess) -> int:
    assert process.pid is not None, "a started process has a pid"
    return process.pid
