"""Why a resource maps the way it does, as data: ``words.said`` writes it in either language.

A mapping reason is a code and the values that fill its sentence (an offer, a vCPU count,
a region, a distance): numbers stay numbers so French and English write them their own
way. A ``Choice`` holds several, in the order a reader takes them (the offer, then where).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Why", "WhyCode", "why"]

WhyCode = Literal[
    # what the equivalent is and why that one
    "cheapest_server", "cheapest_shared", "arm_cheaper", "disk_assumed", "cheapest_db_node",
    "standby", "managed_db_missing", "s3", "rclone", "pool", "kapsule", "k3s", "same_role",
    "block_volume", "size_unknown", "setting_of", "sized_from_name", "sized_from_fields",
    "stopped_source", "no_public_ip", "public_ip_assumed",
    # where it goes
    "nearest", "region_unknown", "region_far",
    # why there is none
    "unknown_machine", "placeholder_machine", "no_server", "unknown_tier", "no_db_server",
    "engine_unsupported", "no_db_node", "pool_unknown", "no_pool_server", "identity", "no_rule",
    "no_rule_noted",
]  # fmt: skip


class Why(BaseModel):
    """One reason: ``code`` picks the sentence, ``values`` fill it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: WhyCode
    values: dict[str, str | int | float] = {}


def why(code: WhyCode, **values: str | int | float) -> Why:
    """``why("nearest", location="fr-par", region="europe-west9", km=12)``."""
    return Why(code=code, values=values)
