"""LangGraph checkpointer on plain Redis, so a thread paused on a human survives restarts.

Only core commands (hashes, sets, sorted sets, strings, MULTI/WATCH, Lua): Redis 6.2+ and
Valkey. Every checkpoint of a thread stays until ``aprune_thread`` drops all but the newest
(and what resuming from it needs); the runtime calls it after each turn.
"""

from __future__ import annotations

from equipage.checkpoint.saver import RedisSaver

__all__ = ["RedisSaver"]
