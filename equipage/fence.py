"""A turn's writes are fenced by its thread's lease: a worker that lost the turn writes none.

A worker frozen past its heartbeat (SIGSTOP, a stalled VM, an event loop blocked) loses its
thread to another worker, which runs the turn again. When the frozen one wakes, its run
must not store another checkpoint over the thread's newer ones: the worker sets the turn's
fence (the lease token it holds) for the run, and the checkpointer's write scripts store
nothing unless the thread's lease still holds that token.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["FENCE_ERROR", "Fence", "current"]

#: The error a fenced write script answers with (its first word).
FENCE_ERROR = "TURNLOST"


@dataclass(frozen=True)
class Fence:
    """The agent thread (``equipage.keys.thread_key``) a run holds, and its lease token."""

    thread: str
    token: str


#: The fence of the run in progress; tasks the run starts inherit it (contextvars).
current: ContextVar[Fence | None] = ContextVar("equipage_fence", default=None)
