"""WhatsApp as Equipage sees it: the ``channels.whatsapp`` section, its variables, its adapter."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from equipage.company import ConfigModel
from equipage.platform import Capabilities, Platform, PlatformSetup

__all__ = ["WHATSAPP", "WhatsAppConfig"]


class WhatsAppConfig(ConfigModel):
    """WhatsApp Cloud API: WHATSAPP_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN."""

    phone_number_id: str = Field(min_length=1, description="the business phone number id")


def build(setup: PlatformSetup) -> Any:
    """The WhatsApp adapter; its secrets checked before it is imported."""
    section: WhatsAppConfig = setup.section
    token = setup.need("WHATSAPP_TOKEN")
    app_secret = setup.need("WHATSAPP_APP_SECRET")
    verify = setup.need("WHATSAPP_VERIFY_TOKEN")
    graph = setup.get("WHATSAPP_GRAPH_BASE_URL")
    elsewhere: dict[str, Any] = {"base_url": graph} if graph else {}  # else Meta's own
    from channels.whatsapp import WhatsAppChannel

    return WhatsAppChannel(
        token,
        phone_number_id=section.phone_number_id,
        app_secret=app_secret,
        verify_token=verify,
        window_store=setup.window_store(),
        **elsewhere,
    )


WHATSAPP = Platform(
    name="whatsapp",
    build=build,
    config=WhatsAppConfig,
    env={
        "WHATSAPP_TOKEN": "Meta app > WhatsApp > API Setup: a permanent system-user token",
        "WHATSAPP_APP_SECRET": "Meta app > App settings > Basic > App secret",
        "WHATSAPP_VERIFY_TOKEN": "choose a random string and enter it with the webhook URL",
        "WHATSAPP_GRAPH_BASE_URL": "leave it unset: Meta's own Graph API is used",
    },
    # Free-form messages only within 24 hours of the person's last one.
    capabilities=Capabilities(buttons=True, files=True, window=24 * 3600),
    identity=("33612345678", "your WhatsApp number, country code first"),
)
