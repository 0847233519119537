"""Test doubles shipped with the package: waiting on state, a scripted model, servers.

Tests of Equipage and of projects built on it use these over the real protocols.
"""

from __future__ import annotations

from equipage.testing.waiting import wait_for_stream, wait_until

__all__ = ["wait_for_stream", "wait_until"]
