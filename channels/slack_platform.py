"""Slack as Equipage sees it: the ``channels.slack`` section, its variables, its adapter.

In socket mode (``mode: socket``) Slack needs an app-level SLACK_APP_TOKEN instead of the
signing secret, and no public URL.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from equipage.company import ConfigModel
from equipage.errors import ConfigError
from equipage.platform import Capabilities, Platform, PlatformSetup

__all__ = ["SLACK", "SlackConfig"]


class SlackConfig(ConfigModel):
    """Slack: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (http) or SLACK_APP_TOKEN (socket)."""

    mode: Literal["http", "socket"] = Field(
        "http",
        description="http (Events API webhooks, needs a public URL) or socket (Socket Mode, "
        "no public URL)",
    )


def build(setup: PlatformSetup) -> Any:
    """The Slack adapter; its tokens checked before it is imported."""
    section: SlackConfig = setup.section
    http = section.mode == "http"
    token = setup.need("SLACK_BOT_TOKEN")
    signing = setup.need("SLACK_SIGNING_SECRET") if http else None
    app_token = None if http else _app_token(setup.need("SLACK_APP_TOKEN"))
    from channels.slack import SlackChannel

    return SlackChannel(
        token,
        signing_secret=signing,
        app_token=app_token,
        mode=section.mode,
        base_url=setup.get("SLACK_API_BASE_URL"),
    )


def _app_token(token: str) -> str:
    """SLACK_APP_TOKEN as given, once it is seen to be an app-level token."""
    if not token.startswith("xapp-"):
        # The usual mix-up: the bot token (xoxb-) pasted twice.
        raise ConfigError(
            "SLACK_APP_TOKEN is not an app-level token (those start with xapp-), and Slack "
            "socket mode needs one with the connections:write scope: "
            f"{SLACK.env['SLACK_APP_TOKEN']}",
            field="SLACK_APP_TOKEN",
        )
    return token


SLACK = Platform(
    name="slack",
    build=build,
    config=SlackConfig,
    env={
        "SLACK_BOT_TOKEN": "Slack app > OAuth & Permissions > Bot User OAuth Token (xoxb-...)",
        "SLACK_SIGNING_SECRET": "Slack app > Basic Information > Signing Secret",
        "SLACK_APP_TOKEN": "Slack app > Basic Information > App-Level Tokens (xapp-...)",
        "SLACK_API_BASE_URL": "leave it unset: Slack's own Web API is used",
    },
    # Buttons are replaced by who decided once a question is answered (chat.update).
    capabilities=Capabilities(buttons=True, edits=True, files=True),
    identity=("U0123ABCD", "your Slack member id"),
)
