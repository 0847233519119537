"""A worker process whose handler announces itself, then hangs until it is killed."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from equipage.bus import Bus
from equipage.connection import RedisTarget, connect
from equipage.envelope import Envelope
from equipage.keys import Keys
from equipage.worker import Worker


async def main(url: str, namespace: str) -> None:
    redis = connect(RedisTarget(url=url))
    keys = Keys("acme", namespace=namespace)
    bus = Bus(redis, keys, visibility_timeout=0.5)

    async def hang(envelope: Envelope) -> Sequence[Envelope]:
        await redis.set(f"{keys.prefix}test:started", envelope.id)
        await asyncio.Event().wait()
        return []

    # One name per process, as in production (host-pid): a second doomed worker is not
    # mistaken for the first one still alive.
    name = f"doomed-{os.getpid()}"
    await Worker(bus, {"ceo": hang}, name=name, block_ms=50).run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
