"""Every Redis key of the web console: one-time login links and sessions, per crew.

Both sit under the crew's hash tag (``Keys.prefix``), so nothing of one crew's console
opens another's, in a farm too: a farm's one console keeps each crew's links and sessions
under that crew's tag, and deleting the crew deletes them. Only the farm console's address
is the farm's (``FarmWebKeys``). Tokens are never stored: a key names the SHA-256 of its
token, so reading Redis does not give a way in.
"""

from __future__ import annotations

from equipage.keys.company import Keys, part
from equipage.keys.farm import FarmKeys

__all__ = ["FarmWebKeys", "WebKeys"]


class WebKeys:
    """Key templates of one crew's console."""

    def __init__(self, keys: Keys) -> None:
        self.prefix = f"{keys.prefix}web:"

    def login(self, token_hash: str) -> str:
        """A one-time login link (expires): the member it logs in, taken once with GETDEL."""
        return f"{self.prefix}login:{part(token_hash)}"

    def session(self, session_hash: str) -> str:
        """A console session (expires): its member and CSRF token (JSON)."""
        return f"{self.prefix}session:{part(session_hash)}"

    @property
    def address(self) -> str:
        """The address the console is served at (expires unless its server renews it)."""
        return f"{self.prefix}address"


class FarmWebKeys:
    """Key templates of a farm's one console, for all its crews."""

    def __init__(self, namespace: str = "eq") -> None:
        self.prefix = f"{FarmKeys(namespace).prefix}web:"

    @property
    def address(self) -> str:
        """The address the farm's console is served at (expires unless its server renews it)."""
        return f"{self.prefix}address"
