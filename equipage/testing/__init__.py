"""Test doubles shipped with the package: waiting on state, a scripted model, servers.

Tests of Equipage and of projects built on it use these over the real protocols; a
hand-moved clock and the model ids tests use (priced, not deprecated) are here too.
"""

from __future__ import annotations

from equipage.testing.clock import FakeClock
from equipage.testing.models import ANTHROPIC_TEST_MODEL, HAIKU_SPEC, SONNET_SPEC
from equipage.testing.scripted import ScriptedModel, call
from equipage.testing.waiting import stream_entries, wait_for_stream, wait_until

__all__ = [
    "ANTHROPIC_TEST_MODEL",
    "HAIKU_SPEC",
    "SONNET_SPEC",
    "FakeClock",
    "ScriptedModel",
    "call",
    "stream_entries",
    "wait_for_stream",
    "wait_until",
]
