"""One company's audit as a process opens it: its key and its anchors, under the home."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from equipage.audit.anchor import Anchorer, AnchorFile, anchor_file
from equipage.audit.chain import Audit
from equipage.audit.key import AuditKey, load_key
from equipage.audit.report import AuditReport
from equipage.keys import Keys

__all__ = ["company_anchorer", "company_key", "verify_company"]


async def company_key(
    configured: str | None, home: Path, redis: aioredis.Redis, keys: Keys
) -> AuditKey:
    """The key that signs this company's chain; a new one only if nothing was signed yet.

    A chain already signed, or anchored, with no key here is refused: a fresh key would
    start entries no one can check against the old ones (a lost key, or a second host
    that was not given ``EQUIPAGE_AUDIT_KEY``).
    """
    fresh = (
        not await Audit(redis, keys).signed() and not AnchorFile(anchor_file(home, keys)).exists()
    )
    return load_key(configured, home, create=fresh)


def company_anchorer(
    redis: aioredis.Redis, keys: Keys, key: AuditKey, home: Path, *, interval: float = 60.0
) -> Anchorer:
    """Anchors the company's chain to its file under ``home``, each ``interval`` seconds."""
    return Anchorer(Audit(redis, keys, key), AnchorFile(anchor_file(home, keys)), interval=interval)


async def verify_company(
    configured: str | None, home: Path, redis: aioredis.Redis, keys: Keys
) -> AuditReport:
    """Check the whole chain against the anchors under ``home``; never creates a key."""
    key = load_key(configured, home, create=False)
    anchors = AnchorFile(anchor_file(home, keys)).read()
    return await Audit(redis, keys, key).verify(anchors)
