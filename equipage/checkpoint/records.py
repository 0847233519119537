"""How RedisSaver stores a checkpoint: the record, its encoding, and the fence on writes."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import cast

import ormsgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.exceptions import ResponseError

from equipage.errors import TurnLost
from equipage.fence import FENCE_ERROR
from equipage.fence import current as current_fence

__all__ = [
    "EMPTY",
    "Record",
    "config_of",
    "fence_token",
    "fenced",
    "next_version",
    "pack",
    "text",
    "thread_and_ns",
    "unpack",
]

# Stored like InMemorySaver for a channel that has a new version but no value (it was cleared).
EMPTY = ormsgpack.packb(("empty", b""))


def pack(typed: tuple[str, bytes]) -> bytes:
    return ormsgpack.packb(typed)


def unpack(raw: bytes) -> tuple[str, bytes]:
    kind, data = ormsgpack.unpackb(raw)
    return kind, data


def fence_token(thread_id: str) -> str:
    """The lease token the run in progress holds on ``thread_id``; '' outside a turn."""
    fence = current_fence.get()
    return fence.token if fence is not None and fence.thread == thread_id else ""


@contextlib.asynccontextmanager
async def fenced() -> AsyncIterator[None]:
    """Turns a write refused by its fence into ``TurnLost``."""
    try:
        yield
    except ResponseError as err:
        if str(err).startswith(FENCE_ERROR):
            raise TurnLost(str(err).removeprefix(FENCE_ERROR).strip()) from None
        raise


def text(raw: bytes | str) -> str:
    # The client answers bytes: RedisSaver.__init__ refuses decode_responses=True.
    return cast(bytes, raw).decode()


def config_of(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def thread_and_ns(config: RunnableConfig) -> tuple[str, str]:
    configurable = config["configurable"]
    return str(configurable["thread_id"]), configurable.get("checkpoint_ns", "")


@dataclass
class Record:
    """One checkpoint as stored: its hash, its pending writes and the blobs it points at."""

    ns: str
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    fields: dict[bytes, bytes]
    writes: dict[bytes, bytes]
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.checkpoint["id"]

    @property
    def parent(self) -> str | None:
        raw = self.fields.get(b"parent")
        return raw.decode() if raw else None

    def to_tuple(self, thread_id: str, serde: SerializerProtocol) -> CheckpointTuple:
        values = {
            channel: serde.loads_typed(unpack(raw))
            for (channel, _), raw in self.blobs.items()
            if raw != EMPTY
        }
        writes = sorted(
            (ormsgpack.unpackb(raw) for raw in self.writes.values()),
            key=lambda w: writes_sort_key(w[2], w[0], w[3]),
        )
        parent = self.parent
        return CheckpointTuple(
            config=config_of(thread_id, self.ns, self.id),
            checkpoint={**self.checkpoint, "channel_values": values},
            metadata=self.metadata,
            parent_config=config_of(thread_id, self.ns, parent) if parent else None,
            pending_writes=[
                (task_id, channel, serde.loads_typed((kind, data)))
                for task_id, channel, _, _, kind, data in writes
            ],
        )

    def stores_value(self, channel: str) -> bool:
        version = self.checkpoint["channel_versions"].get(channel)
        raw = self.blobs.get((channel, str(version)))
        return raw is not None and raw != EMPTY


def next_version(current: str | int | None) -> str:
    """The channel version after ``current``, as InMemorySaver makes them: a zero-padded
    counter, and a random tail against collisions."""
    if current is None:
        number = 0
    elif isinstance(current, int):
        number = current
    else:
        number = int(current.split(".")[0])
    return f"{number + 1:032}.{random.random():016}"
