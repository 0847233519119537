"""Every Redis key Equipage uses, declared once: a company's (``company``), the farm's (``farm``).

Each company's keys share its hash tag, ``<namespace>:{<company>}:``; the farm's keys have
hash tags of their own. Nothing else in Equipage writes a key name.
"""

from __future__ import annotations

from equipage.keys.company import (
    CONSUMER_GROUP,
    FARM_TAG,
    GATEWAY_GROUP,
    SEEN_FOR,
    Keys,
    thread_key,
    validate_company_id,
)
from equipage.keys.farm import FarmKeys

__all__ = [
    "CONSUMER_GROUP",
    "FARM_TAG",
    "GATEWAY_GROUP",
    "SEEN_FOR",
    "FarmKeys",
    "Keys",
    "thread_key",
    "validate_company_id",
]
