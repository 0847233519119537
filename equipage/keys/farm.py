"""Every Redis key of the farm itself: its registry, its people, its wake-ups.

Each crew's own keys stay under its company hash tag (``equipage.keys.company``); the
farm's sit under hash tags of their own (``FARM_TAG``), so no script or transaction
touches both.
"""

from __future__ import annotations

from equipage.keys.company import FARM_TAG, Keys, glob_escape, part

__all__ = ["FarmKeys"]


class FarmKeys:
    """Key templates of the farm itself (its registry of crews) under one namespace.

    Each crew's own keys stay under its company hash tag (``Keys``); no script or
    transaction touches both.
    """

    def __init__(self, namespace: str = "eq") -> None:
        if not namespace or "{" in namespace or ":" in namespace:
            raise ValueError(f"namespace {namespace!r} must be non-empty, without ':' or '{{'")
        self.namespace = namespace
        self.prefix = f"{namespace}:{{{FARM_TAG}}}:"

    @property
    def info(self) -> str:
        """Hash of the farm's own facts: when it was set up, its folder."""
        return f"{self.prefix}info"

    @property
    def crews(self) -> str:
        """Hash crew name -> JSON of its record (template, owner, created, quotas)."""
        return f"{self.prefix}crews"

    @property
    def states(self) -> str:
        """Hash crew name -> ``active``, ``paused`` or ``deleting``."""
        return f"{self.prefix}crews:state"

    @property
    def admins(self) -> str:
        """Set of the farm admins' identities, ``<platform>:<user id>``."""
        return f"{self.prefix}admins"

    @property
    def people(self) -> str:
        """Hash ``<platform>:<user id>`` -> JSON list of the crews that person belongs to."""
        return f"{self.prefix}people"

    @property
    def choices(self) -> str:
        """Hash ``<platform>:<user id>`` -> the crew a person in several picked (``/crew use``)."""
        return f"{self.prefix}people:using"

    @property
    def busy(self) -> str:
        """Sorted set crew -> when work was last put on it (unix seconds).

        A crew is in it from before its first envelope is written until the pool's sweep
        finds nothing unread or pending in its streams: the sweep looks at these crews only,
        so an idle crew costs nothing, and work written by a process killed before it woke
        the pool is still found.
        """
        return f"{self.prefix}busy"

    def wake(self, what: str, shard: int) -> str:
        """Stream of wake-ups (``what``: ``work`` or ``out``), each naming a crew; sharded.

        Each shard has its own hash tag, so on a cluster the wake-ups spread over slots.
        """
        return f"{self.namespace}:{{{FARM_TAG}-{shard}}}:wake:{part(what)}"

    def health(self, process: str) -> str:
        """Hash loop name -> JSON of its health, of one ``farm up`` process; expires with it."""
        return f"{self.prefix}health:{part(process)}"

    @property
    def health_match(self) -> str:
        """SCAN pattern of every farm process's ``health`` hash."""
        return glob_escape(self.prefix) + "health:*"

    def crew_match(self, crew: str) -> str:
        """SCAN pattern of every key of one crew, under its company hash tag."""
        return glob_escape(Keys(crew, self.namespace).prefix) + "*"

    def people_of(self, crew: str) -> str:
        """Set of the identities the people index lists under ``crew``: deleting it is one pass."""
        return f"{self.prefix}crew-people:{part(crew)}"

    def pairing(self, code: str) -> str:
        """A stranger's farm pairing code -> JSON of who asked (expires with the code)."""
        return f"{self.prefix}pairing:{part(code)}"

    def pairings_on(self, platform: str | None = None) -> str:
        """Sorted set of farm pairing codes pending (on ``platform``: capped), by when asked."""
        return f"{self.prefix}pairings" + (f":{part(platform)}" if platform else "")

    def pairing_asker(self, platform: str, user: str) -> str:
        """The farm pairing code a stranger already holds, so asking again gives the same."""
        return f"{self.prefix}pairing-asker:{part(platform)}:{part(user)}"
