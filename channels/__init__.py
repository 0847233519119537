"""Chat channels: one adapter per platform, plus the gateway that owns access control.

Each platform declares itself to Equipage in ``<platform>_platform.py`` (its company.yaml
section, environment variables, constructor and capabilities), beside its adapter
modules; ``PLATFORMS`` below is the list the registry (``equipage.registry``) reads. The
order is the one a schedule's result follows to reach the owner when it names no platform.

May import: ``equipage``.
"""

from __future__ import annotations

from channels.console_platform import CONSOLE
from channels.slack_platform import SLACK
from channels.telegram_platform import TELEGRAM
from channels.whatsapp_platform import WHATSAPP

__all__ = ["PLATFORMS"]

PLATFORMS = (TELEGRAM, SLACK, WHATSAPP, CONSOLE)
