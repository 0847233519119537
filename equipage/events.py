"""Events: one record per step on the capped events stream (status, dashboard, audit)."""

from __future__ import annotations

import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Event", "EventType"]


class EventType(StrEnum):
    PUBLISHED = "published"  # an envelope entered a stream
    HANDLED = "handled"  # its handler's effects were committed and it was acked
    DUPLICATE = "duplicate"  # a redelivery whose effects were already committed
    FAILED = "failed"  # a handler raised; the envelope stays pending for a retry
    DEAD = "dead"  # moved to the dead-letter stream
    RECLAIMED = "reclaimed"  # a stale pending envelope was taken over by another worker
    TOOL = "tool"  # an agent called a tool
    MODEL = "model"  # an agent called its model
    STOPPED = "stopped"  # a thread was stopped (hop limit, step limit)
    PROGRESS = "progress"  # a workflow reported how far it got


class Event(BaseModel):
    """A step, small enough to keep thousands of them in the capped stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: EventType
    at: float = Field(default_factory=time.time)
    envelope: str = ""
    kind: str = ""
    sender: str = ""
    to: str = ""
    thread: str = ""
    detail: str = ""

    def encode(self) -> bytes:
        return self.model_dump_json().encode()
