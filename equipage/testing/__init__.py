"""Test doubles shipped with the package: waiting on state, a scripted model, servers.

Tests of Equipage and of projects built on it use these over the real protocols.
"""

from __future__ import annotations

from equipage.testing.scripted import ScriptedModel, call
from equipage.testing.waiting import wait_for_stream, wait_until

__all__ = ["ScriptedModel", "call", "wait_for_stream", "wait_until"]
