"""Which platforms 'equipage up' starts, and the clear failure when a secret is missing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from equipage.channelsetup import platform_channels
from equipage.config import CompanyConfig, Settings
from equipage.errors import ConfigError
from tests.test_crew import company


def with_channels(**channels: Any) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["channels"] = channels
    return CompanyConfig.model_validate(data)


def test_no_platform_in_company_yaml_starts_none() -> None:
    assert platform_channels(company(), Settings()) == {}


@pytest.mark.parametrize(
    ("channels", "env", "missing"),
    [
        ({"telegram": {}}, {}, "TELEGRAM_BOT_TOKEN"),
        ({"telegram": {"mode": "webhook"}}, {"TELEGRAM_BOT_TOKEN": "t"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"slack": {}}, {"SLACK_BOT_TOKEN": "x"}, "SLACK_SIGNING_SECRET"),
        ({"slack": {"mode": "socket"}}, {"SLACK_APP_TOKEN": "xapp-1-A"}, "SLACK_BOT_TOKEN"),
        ({"slack": {"mode": "socket"}}, {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"whatsapp": {"phone_number_id": "1"}}, {"WHATSAPP_TOKEN": "w"}, "WHATSAPP_APP_SECRET"),
    ],
)
def test_platform_without_its_secret_fails_at_start_naming_the_variable(
    channels: dict[str, Any], env: dict[str, str], missing: str
) -> None:
    settings = Settings.from_env(env)
    with pytest.raises(ConfigError, match=f"{missing} is not set") as raised:
        platform_channels(with_channels(**channels), settings)
    assert raised.value.field == missing
    assert "export" in str(raised.value)


def test_settings_never_show_channel_secrets() -> None:
    settings = Settings.from_env(
        {"SLACK_SIGNING_SECRET": "s3cret", "TELEGRAM_BOT_TOKEN": "123:ABC"}
    )
    shown = repr(settings)
    assert "s3cret" not in shown and "123:ABC" not in shown
    assert "SLACK_SIGNING_SECRET" in shown


def test_slack_socket_mode_starts_with_the_bot_and_app_tokens_and_serves_no_webhook() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A"})

    made = platform_channels(with_channels(slack={"mode": "socket"}), settings)

    slack = made["slack"]
    assert slack.mode == "socket"
    assert slack.routes(object()) == []  # nothing to sign requests with: no route at all


def test_slack_app_token_that_is_not_an_app_level_token_fails_at_start() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"})

    with pytest.raises(ConfigError, match="not an app-level token") as raised:
        platform_channels(with_channels(slack={"mode": "socket"}), settings)

    assert raised.value.field == "SLACK_APP_TOKEN"
    assert "xapp-" in str(raised.value) and "connections:write" in str(raised.value)
    assert "xoxb-1" not in str(raised.value)  # a secret is never repeated back


def test_slack_http_mode_ignores_an_app_token_and_serves_its_webhook() -> None:
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "junk"}
    )

    slack = platform_channels(with_channels(slack={}), settings)["slack"]

    assert slack.mode == "http"
    assert [route.path for route in slack.routes(object())] == ["/slack/events"]


def test_telegram_webhook_url_reaches_the_channel_that_registers_it() -> None:
    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": "123:ABC", "TELEGRAM_WEBHOOK_SECRET": "s3cret"}
    )
    url = "https://crew.example.com/telegram/webhook"

    made = platform_channels(
        with_channels(telegram={"mode": "webhook", "webhook_url": url}), settings
    )

    telegram = made["telegram"]
    assert (telegram.mode, telegram.webhook_url, telegram.webhook_secret) == (
        "webhook",
        url,
        "s3cret",
    )
    assert [route.path for route in telegram.routes(object())] == ["/telegram/webhook"]


@pytest.mark.parametrize(
    ("telegram", "says"),
    [
        ({"mode": "webhook", "webhook_url": "http://crew.example.com/telegram/webhook"}, "HTTPS"),
        ({"mode": "webhook", "webhook_url": "crew.example.com/telegram/webhook"}, "HTTPS"),
        ({"webhook_url": "https://crew.example.com/telegram/webhook"}, "set mode: webhook"),
    ],
    ids=["http", "no-scheme", "polling"],
)
def test_telegram_webhook_url_must_be_https_and_in_webhook_mode(
    telegram: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says) as raised:
        with_channels(telegram=telegram)

    assert "webhook_url" in str(raised.value)
