"""Tool calls with effects beyond the checkpoint run at most once per call.

A worker killed after such a call ran but before its step's checkpoint was stored
leaves a thread whose redelivery runs the step again. A call to an MCP server (an email
sent, a ticket opened) or a fact remembered must not happen twice: each call takes a
marker first and stores its result under it, so a re-run gets the stored result, and a
call cut short mid-way is reported as interrupted (it may or may not have taken effect)
instead of being run again behind the founder's back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from equipage.keys import Keys
from equipage.llm.messages import INTERRUPTED
from equipage.replication import replicated

__all__ = ["Effects"]

_STARTED = b"started"
# Long enough for any redelivery (a thread paused on a question resumes the step within
# the done marker's week), short enough not to keep every call forever.
_KEEP = 7 * 24 * 3600


class Effects:
    """At-most-once runs of effectful tool calls, keyed by thread, envelope and call id."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def once(
        self,
        thread: str,
        cause: str,
        call_id: str,
        run: Callable[[], Awaitable[tuple[str, bool]]],
    ) -> tuple[str, bool]:
        """``run()``'s (text, untrusted) the first time; the stored one after."""
        key = self.keys.effect(thread, cause, call_id)
        if await self.redis.set(key, _STARTED, nx=True, ex=_KEEP):
            # Its marker must outlive a failover, or the call would run a second time.
            await replicated(self.redis, self.keys.replication_mark)
            text, untrusted = await run()
            stored = json.dumps({"text": text, "untrusted": untrusted})
            await self.redis.set(key, stored, ex=_KEEP)
            return text, untrusted
        raw = await self.redis.get(key)
        if raw is None or raw == _STARTED:
            return INTERRUPTED, False
        kept = json.loads(raw)
        return str(kept["text"]), bool(kept["untrusted"])
