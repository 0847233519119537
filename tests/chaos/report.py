"""A chaos run's knobs and its report: what the single-crew and the farm runs share."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from tests.chaos.accounting import Tally

__all__ = ["TARGETS", "Report", "Settings", "conclude", "misses"]

#: Counts of ``Tally`` that must be 0 for the run to meet its target.
TARGETS = (
    "lost",
    "answered_twice",
    "turn_applied_twice",
    "out_of_order",
    "orphan_tool_calls",
    "answered_without_turn",
    "dead_letters",
    "pending",
)


class Settings(BaseModel):
    """One chaos run's knobs (the command line's)."""

    envelopes: int = 10_000
    processes: int = 4
    per_thread: int = 10
    kill_every: float = 2.0  # seconds between SIGKILLs of a random worker; 0: none
    redis_restarts: int = 3
    redis_down: float = 3.0  # seconds the server stays stopped
    freeze: bool = True
    redis_freeze: float = 3.0  # seconds the server stays frozen (SIGSTOP)
    worker_freezes: int = 0  # workers frozen (SIGSTOP) for ``worker_freeze`` s, then resumed
    worker_freeze: float = 8.0
    crash_windows: float = 0.5  # share of worker starts that die in a crash window
    backlog: int = 1000  # most envelopes published and not yet settled
    stall: float = 30.0  # seconds without progress, work pending: a dead loop
    deadline: float = 3600.0  # seconds the whole run may take
    delegate: float = 0.2  # share of messages the ceo delegates to the cto
    concurrency: int = 4
    visibility_timeout: float = 3.0
    heartbeat_stale: float = 5.0  # a worker silent this long is gone (it beats every 2 s)
    lease_ttl: float = 10.0
    seed: int = 1


class Report(BaseModel):
    settings: Settings
    tally: Tally
    kills: int = 0
    crash_window_kills: dict[str, int] = Field(default_factory=dict)
    redis_restarts: list[str] = Field(default_factory=list)
    redis_freezes: int = 0
    worker_freezes: int = 0
    publish_retries: int = 0
    dead_loops: int = 0
    dead_loop_details: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    throughput: float = 0.0  # envelopes settled per second, faults included
    throughput_by_processes: dict[str, float] = Field(default_factory=dict)
    met: bool = False  # every target met: nothing in ``misses``
    misses: list[str] = Field(default_factory=list)
    workdir: str = ""  # kept (logs, the server's files) when a target is missed


def misses(report: Report, targets: Sequence[str] = TARGETS) -> list[str]:
    """The targets the run missed, as sentences."""
    tally = report.tally
    out = [f"{name}: {getattr(tally, name)}" for name in targets if getattr(tally, name)]
    if report.dead_loops:
        out.append(f"dead_loops: {report.dead_loops}")
    if tally.acknowledged < report.settings.envelopes:
        out.append(f"published only {tally.acknowledged} of {report.settings.envelopes}")
    return out


def conclude(report: Report, targets: Sequence[str] = TARGETS) -> Report:
    """Fill in the run's throughput and its misses, once its tally is counted."""
    tally = report.tally
    settled = tally.acknowledged - tally.pending - tally.lost
    report.throughput = round(settled / max(report.duration_s, 1e-9), 1)
    report.misses = misses(report, targets)
    report.met = not report.misses
    return report
