"""What the farm records of each crew: its state, template, owner, creation time, quotas, bots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from equipage.errors import ConfigError
from equipage.keys import validate_company_id

__all__ = ["Crew", "CrewState", "Owner", "Quotas"]


class CrewState(StrEnum):
    """Where a crew is in its life: served, held, or on its way out."""

    ACTIVE = "active"
    PAUSED = "paused"
    DELETING = "deleting"


class Owner(BaseModel):
    """The person a crew belongs to: who they are on one platform, and their name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)

    @classmethod
    def parse(cls, text: str, name: str | None = None) -> Owner:
        """``PLATFORM:ID`` (as typed on the command line) -> Owner; ``name`` defaults to ID."""
        platform, colon, user = text.partition(":")
        if not colon or not platform or not user:
            raise ConfigError(
                f"owner {text!r} must be PLATFORM:ID, e.g. console:alice", field="owner"
            )
        from equipage.registry import platforms

        known = platforms()
        if platform not in known:
            raise ConfigError(
                f"unknown platform {platform!r} in owner {text!r}; use one of: " + ", ".join(known),
                field="owner",
            )
        return cls(platform=platform, id=user, name=name or user)

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"


class Quotas(BaseModel):
    """What one crew may use. Stored and checked now; enforced by the workers later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    monthly_budget: float = Field(20.0, ge=0, description="model spend per month")
    concurrent_runs: int = Field(2, ge=1, le=1000, description="messages handled at once")
    messages_per_minute: int = Field(30, ge=1, description="inbound messages per minute")
    files_bytes: int = Field(100 * 2**20, ge=0, description="stored files, in bytes")
    memory_bytes: int = Field(2**20, ge=0, description="remembered facts, in bytes")


class Crew(BaseModel):
    """One crew of the farm, as its registry entry holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    state: CrewState = CrewState.ACTIVE
    template: str
    owner: Owner
    language: str = "en"
    created: datetime
    quotas: Quotas = Quotas()
    #: The platforms this crew has its own bot on (its company.yaml's ``channels:``), noted
    #: at creation and import so ``farm up`` finds them without loading every crew.
    bots: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_company_id(value)
