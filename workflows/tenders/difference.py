"""What changed in a notice already reported, as data: ``phrases`` says it in either language.

The seen register compares what it stored with the newest notice and keeps one
``Difference`` per field that moved. Values stay values (a deadline is a datetime, an
estimated value an amount and its currency), so each report language writes them its own
way; nothing here is a sentence. ``Difference`` is a union told apart by ``field``: it
travels in the workflow's checkpointed state and in the register's JSON records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Amount",
    "Cancelled",
    "DeadlineMoved",
    "Difference",
    "LotsChanged",
    "TitleChanged",
    "ValueChanged",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amount(_Model):
    """An estimated value and its currency (EUR when the notice does not say)."""

    value: float
    currency: str | None = None


class TitleChanged(_Model):
    field: Literal["title"] = "title"
    before: str
    after: str


class DeadlineMoved(_Model):
    """``None`` on either side: the notice states no deadline."""

    field: Literal["deadline"] = "deadline"
    before: datetime | None
    after: datetime | None


class ValueChanged(_Model):
    """``None`` on either side: the notice states no value."""

    field: Literal["value"] = "value"
    before: Amount | None
    after: Amount | None


class LotsChanged(_Model):
    """Lots as ``id: title``: a renamed lot is one removed and one added."""

    field: Literal["lots"] = "lots"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class Cancelled(_Model):
    """The procedure was cancelled by the notice ``notice`` (a tender id)."""

    field: Literal["cancelled"] = "cancelled"
    notice: str


Difference = Annotated[
    TitleChanged | DeadlineMoved | ValueChanged | LotsChanged | Cancelled,
    Field(discriminator="field"),
]
