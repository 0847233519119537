"""The console as a platform: always on, no section in company.yaml, no variables."""

from __future__ import annotations

from typing import Any

from equipage.platform import Platform, PlatformSetup

__all__ = ["CONSOLE"]


def build(setup: PlatformSetup) -> Any:
    """The terminal's channel."""
    from channels.console import ConsoleChannel

    return ConsoleChannel()


CONSOLE = Platform(name="console", build=build)
