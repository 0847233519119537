"""The audit log: who asked, what ran, who approved, in a chain that proves it.

``chain`` writes and reads the HMAC-chained stream, ``check`` walks it entry by entry,
``key`` holds the secret that signs it (outside Redis), ``anchor`` keeps copies of its
head outside Redis, ``report`` is what a check finds, and ``company`` opens all of it for
one company under the Equipage home. ``equipage audit verify`` runs the check.

May import: the standard library, redis, pydantic, and ``equipage.errors``/``equipage.keys``.
"""

from __future__ import annotations

from equipage.audit.anchor import Anchorer, AnchorFile, anchor_file
from equipage.audit.chain import Audit, AuditEntry
from equipage.audit.company import company_anchorer, company_key, verify_company
from equipage.audit.key import AuditKey, create_key_file, key_file, load_key
from equipage.audit.report import Anchor, AuditBreak, AuditReport, Head

__all__ = [
    "Anchor",
    "AnchorFile",
    "Anchorer",
    "Audit",
    "AuditBreak",
    "AuditEntry",
    "AuditKey",
    "AuditReport",
    "Head",
    "anchor_file",
    "company_anchorer",
    "company_key",
    "create_key_file",
    "key_file",
    "load_key",
    "verify_company",
]
