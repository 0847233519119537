"""Which platforms 'equipage up' starts, and the clear failure when a secret is missing."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_slack_socket_mode_is_refused_at_start_with_the_way_to_use_http() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y"})
    with pytest.raises(ConfigError, match=r"set channels\.slack\.mode to http"):
        platform_channels(with_channels(slack={"mode": "socket"}), settings)
