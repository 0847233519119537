"""The chat platforms ``equipage up`` starts, built from company.yaml and the environment.

Each platform with a section under ``channels:`` is built by its own declaration
(``equipage.platform.Platform``, found through ``equipage.registry``). A platform listed
in company.yaml without its secrets fails at start, naming the variable to set and where
to get it. Webhook routes of every platform share one HTTP server (``channels.web``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import redis.asyncio as aioredis

from equipage.company.platforms import ChannelsConfig
from equipage.config import Settings
from equipage.errors import MissingExtraError
from equipage.httpserver import LocalServer
from equipage.keys import Keys
from equipage.platform import PlatformSetup
from equipage.registry import platforms

__all__ = ["platform_channels", "serve_webhooks"]


class _WithChannels(Protocol):
    """company.yaml, or a farm's farm.yaml: both have a ``channels:`` section."""

    @property
    def channels(self) -> ChannelsConfig: ...


def platform_channels(
    config: _WithChannels,
    settings: Settings,
    *,
    redis: aioredis.Redis | None = None,
    keys: Keys | None = None,
) -> dict[str, Any]:
    """One adapter per platform in ``channels:``; raises ConfigError for a missing secret.

    With ``redis`` and ``keys``, per-person state (a platform's reply window) lives in Redis.
    """
    made: dict[str, Any] = {}
    for name, declared in platforms().items():
        section = config.channels.section(name)
        if section is not None:
            setup = PlatformSetup(declared, section, settings.channel_env, redis, keys)
            made[name] = declared.build(setup)
    return made


async def serve_webhooks(routes: list[Any], host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the platforms' webhook routes until ``stop`` is set."""
    try:
        from starlette.applications import Starlette
    except ImportError as err:
        raise MissingExtraError("webhook channels", "web") from err
    server = LocalServer(Starlette(routes=routes), host=host, port=port)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()
