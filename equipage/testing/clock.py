"""A clock the test moves by hand, for code that takes ``clock=`` (e.g. ``Worker``).

Code that schedules by its clock (the worker's pause check, heartbeat, reclaim pass)
then does the next scheduled step when the test advances it, not after real seconds.
"""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Seconds that pass only when ``advance`` is called; a drop-in for ``time.monotonic``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
