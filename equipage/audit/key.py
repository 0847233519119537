"""The audit secret: kept outside Redis, so whoever can write Redis cannot re-sign the log.

It comes from ``EQUIPAGE_AUDIT_KEY`` or from ``<home>/audit.key`` (written by ``equipage
init``, owner-only). Both hold the same kind of text, so the file's content can be moved to
the environment as is. The key itself never appears in a repr, a log or an error: only its
id, a one-way fingerprint that lets ``verify`` tell "signed with another key" from "edited".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from pathlib import Path

from equipage.errors import ConfigError

__all__ = ["AuditKey", "create_key_file", "key_file", "load_key"]

log = logging.getLogger(__name__)

_MIN_LENGTH = 32
_GENERATE = "python -c 'import secrets; print(secrets.token_hex(32))'"


class AuditKey:
    """An HMAC-SHA256 key for the audit chain; shows only its id."""

    __slots__ = ("_secret", "id")

    def __init__(self, secret: str) -> None:
        text = secret.strip()
        if len(text) < _MIN_LENGTH:
            raise ConfigError(
                f"the audit key must be at least {_MIN_LENGTH} characters long; "
                f"generate one with: {_GENERATE}",
                field="EQUIPAGE_AUDIT_KEY",
            )
        self._secret = text.encode()
        self.id = self.sign("key id")[:16]

    @classmethod
    def generate(cls) -> AuditKey:
        return cls(secrets.token_hex(32))

    def sign(self, *parts: str) -> str:
        """HMAC-SHA256 of ``parts``, JSON-encoded so no two tuples share an encoding."""
        message = json.dumps(parts, ensure_ascii=False).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"AuditKey(id={self.id!r})"


def key_file(home: Path) -> Path:
    return home / "audit.key"


def create_key_file(home: Path) -> Path | None:
    """Write a new key to ``<home>/audit.key`` (mode 0600) unless one is there; its path if new.

    Never overwrites: a replaced key makes every entry signed so far unverifiable.
    """
    path = key_file(home)
    home.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once cannot both write, one of them loses.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return path


def load_key(configured: str | None, home: Path, *, create: bool) -> AuditKey:
    """The environment's key, else ``<home>/audit.key``; created there only if ``create``.

    ``create`` is for a log that nothing has signed yet: once entries are signed, a missing
    key is an error, because a new one would silently start a chain no one can check.
    """
    if configured is not None:
        return AuditKey(configured)
    path = key_file(home)
    if create:
        create_key_file(home)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as err:
        raise ConfigError(
            "no audit key: this file is missing and EQUIPAGE_AUDIT_KEY is unset, but the "
            "audit log needs the key that signed it; restore the file from your backup, or "
            "set EQUIPAGE_AUDIT_KEY to its content (every process writing this crew's audit "
            "must use the same key)",
            path=str(path),
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the audit key: {err}", path=str(path)) from err
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by other users of this machine; run: chmod 600 %s", path, path)
    try:
        return AuditKey(text)
    except ConfigError as err:
        raise ConfigError(
            f"this audit key is damaged (under {_MIN_LENGTH} characters); restore it from your "
            "backup",
            path=str(path),
        ) from err
