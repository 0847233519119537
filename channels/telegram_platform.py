"""Telegram as Equipage sees it: the ``channels.telegram`` section, its variables, its adapter."""

from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from equipage.company import ConfigModel
from equipage.platform import Capabilities, Platform, PlatformSetup
from equipage.yamlpos import FieldIssues

__all__ = ["TELEGRAM", "TelegramConfig"]


class TelegramConfig(ConfigModel):
    """Telegram: TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_SECRET for webhooks)."""

    mode: Literal["polling", "webhook"] = Field("polling", description="polling or webhook")
    webhook_url: str | None = Field(
        None,
        description="webhook mode: the public HTTPS URL of /telegram/webhook, registered "
        "with Telegram at start (e.g. https://crew.example.com/telegram/webhook)",
    )

    @model_validator(mode="after")
    def _check_webhook(self) -> Self:
        if self.webhook_url is None:
            return self
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" or not parts.hostname:
            message = (
                f"{self.webhook_url!r} is not an HTTPS URL, and Telegram only calls those: "
                "give the public address of /telegram/webhook, e.g. "
                "https://crew.example.com/telegram/webhook"
            )
            raise FieldIssues([(("webhook_url",), message)])
        if self.mode != "webhook":
            message = "a webhook URL is for webhook mode: set mode: webhook, or remove it"
            raise FieldIssues([(("webhook_url",), message)])
        return self


def build(setup: PlatformSetup) -> Any:
    """The Telegram adapter; its token (and webhook secret) checked before it is imported."""
    section: TelegramConfig = setup.section
    token = setup.need("TELEGRAM_BOT_TOKEN")
    secret = None if section.mode == "polling" else setup.need("TELEGRAM_WEBHOOK_SECRET")
    from channels.telegram import TelegramChannel

    return TelegramChannel(
        token,
        base_url=setup.get("TELEGRAM_API_BASE_URL"),
        mode=section.mode,
        webhook_secret=secret,
        webhook_url=section.webhook_url,
        poll_timeout=10,  # how long a stop can wait on the open long poll
    )


TELEGRAM = Platform(
    name="telegram",
    build=build,
    config=TelegramConfig,
    env={
        "TELEGRAM_BOT_TOKEN": "create a bot with @BotFather and copy its token",
        "TELEGRAM_WEBHOOK_SECRET": "choose a random string; Telegram sends it back on each call",
        "TELEGRAM_API_BASE_URL": "leave it unset unless you run your own Bot API server",
    },
    capabilities=Capabilities(buttons=True, edits=True, typing=True, files=True),
    identity=("123456789", "your numeric Telegram user id"),
)
