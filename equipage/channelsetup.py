"""The chat platforms ``equipage up`` starts, built from company.yaml and the environment.

A platform listed in company.yaml without its secrets fails at start, naming the
variable to set and where to get it. Telegram in webhook mode with a ``webhook_url``
registers it with Telegram when it starts. Slack in socket mode (``channels.slack.mode:
socket``) needs an app-level SLACK_APP_TOKEN instead of the signing secret, and no
public URL. Webhook routes of every platform share one HTTP server (``channels.web``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from equipage.config import CompanyConfig, Settings
from equipage.errors import ConfigError, MissingExtraError
from equipage.httpserver import LocalServer
from equipage.keys import Keys
from equipage.registry import channel_factory
from equipage.windows import RedisWindowStore

__all__ = ["platform_channels", "serve_webhooks"]

_WHERE = {
    "TELEGRAM_BOT_TOKEN": "create a bot with @BotFather and copy its token",
    "TELEGRAM_WEBHOOK_SECRET": "choose a random string; Telegram sends it back on each call",
    "SLACK_BOT_TOKEN": "Slack app > OAuth & Permissions > Bot User OAuth Token (xoxb-...)",
    "SLACK_SIGNING_SECRET": "Slack app > Basic Information > Signing Secret",
    "SLACK_APP_TOKEN": "Slack app > Basic Information > App-Level Tokens (xapp-...)",
    "WHATSAPP_TOKEN": "Meta app > WhatsApp > API Setup: a permanent system-user token",
    "WHATSAPP_APP_SECRET": "Meta app > App settings > Basic > App secret",
    "WHATSAPP_VERIFY_TOKEN": "choose a random string and enter it with the webhook URL",
}


def platform_channels(
    config: CompanyConfig,
    settings: Settings,
    *,
    redis: aioredis.Redis | None = None,
    keys: Keys | None = None,
) -> dict[str, Any]:
    """One adapter per platform in ``channels:``; raises ConfigError for a missing secret.

    With ``redis`` and ``keys``, per-person state (WhatsApp's reply window) lives in Redis.
    """
    env = settings.channel_env

    def need(platform: str, name: str) -> str:
        value = env.get(name)
        if not value:
            raise ConfigError(
                f"the {platform} channel is on in company.yaml but {name} is not set: "
                f"{_WHERE[name]}, then export {name}=...",
                field=name,
            )
        return value

    made: dict[str, Any] = {}
    channels = config.channels
    # Secrets are checked before an adapter is imported: a missing variable is the
    # first thing to fix, whatever else is missing.
    if channels.telegram is not None:
        polling = channels.telegram.mode == "polling"
        token = need("telegram", "TELEGRAM_BOT_TOKEN")
        secret = None if polling else need("telegram", "TELEGRAM_WEBHOOK_SECRET")
        made["telegram"] = channel_factory("telegram")(
            token,
            base_url=env.get("TELEGRAM_API_BASE_URL"),
            mode=channels.telegram.mode,
            webhook_secret=secret,
            webhook_url=channels.telegram.webhook_url,
            poll_timeout=10,  # how long a stop can wait on the open long poll
        )
    if channels.slack is not None:
        http = channels.slack.mode == "http"
        token = need("slack", "SLACK_BOT_TOKEN")
        signing = need("slack", "SLACK_SIGNING_SECRET") if http else None
        app_token = None if http else _app_token(need("slack", "SLACK_APP_TOKEN"))
        made["slack"] = channel_factory("slack")(
            token,
            signing_secret=signing,
            app_token=app_token,
            mode=channels.slack.mode,
            base_url=env.get("SLACK_API_BASE_URL"),
        )
    if channels.whatsapp is not None:
        token = need("whatsapp", "WHATSAPP_TOKEN")
        app_secret = need("whatsapp", "WHATSAPP_APP_SECRET")
        verify = need("whatsapp", "WHATSAPP_VERIFY_TOKEN")
        graph = env.get("WHATSAPP_GRAPH_BASE_URL")
        made["whatsapp"] = channel_factory("whatsapp")(
            token,
            phone_number_id=channels.whatsapp.phone_number_id,
            app_secret=app_secret,
            verify_token=verify,
            window_store=RedisWindowStore(redis, keys, "whatsapp") if redis and keys else None,
            **({"base_url": graph} if graph else {}),
        )
    return made


def _app_token(token: str) -> str:
    """SLACK_APP_TOKEN as given, once it is seen to be an app-level token."""
    if not token.startswith("xapp-"):
        # The usual mix-up: the bot token (xoxb-) pasted twice.
        raise ConfigError(
            "SLACK_APP_TOKEN is not an app-level token (those start with xapp-), and Slack "
            "socket mode needs one with the connections:write scope: "
            f"{_WHERE['SLACK_APP_TOKEN']}",
            field="SLACK_APP_TOKEN",
        )
    return token


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
