"""One normalized public tender, whatever its source (TED eForms, BOAMP).

Every source parser returns ``Tender``; the matcher, the seen-notice register, the
drafts and the exports read nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Criterion", "Lot", "NoticeKind", "Source", "Tender"]


class Source(StrEnum):
    TED = "ted"
    BOAMP = "boamp"


class NoticeKind(StrEnum):
    """What a notice says about its procedure."""

    PRIOR = "prior"  # prior information: a tender is coming
    CONTRACT = "contract"  # call for competition: one can bid
    CHANGE = "change"  # corrects an earlier notice
    CANCELLATION = "cancellation"  # the procedure is cancelled
    AWARD = "award"  # result: who won


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Model):
    """An award criterion, as the notice states it."""

    kind: str = Field(description="quality, price or cost, as the notice states")
    description: str = ""
    weight: float | None = Field(None, description="weight or points, when stated")


class Lot(_Model):
    id: str = Field(description="the notice's lot identifier, e.g. LOT-0001 or 1")
    title: str = ""
    description: str = ""
    cpv: tuple[str, ...] = ()
    value: float | None = None
    criteria: tuple[Criterion, ...] = ()


class Tender(_Model):
    """A notice, normalized.

    ``id`` is ``<source>:<notice id>``; ``procedure`` ties the notices of one procedure
    together (eForms ContractFolderID, BOAMP's reference of the initial notice), so a
    change or cancellation finds the notice it amends.
    """

    id: str
    source: Source
    notice_id: str
    kind: NoticeKind = NoticeKind.CONTRACT
    version: str | None = Field(None, description="the notice's version, e.g. 01 (eForms)")
    procedure_id: str | None = None
    amends: str | None = Field(None, description="notice id this one changes or cancels")
    title: str
    titles: dict[str, str] = Field(
        {}, description="the title in every language the notice gives it, by ISO 639-1 code"
    )
    descriptions: dict[str, str] = Field(
        {}, description="the description in every language the notice gives it"
    )
    title_is_label: bool = Field(
        False,
        description="the title is TED's label of a CPV code ('France-Paris: Cleaning "
        "services'), not the buyer's words: keywords are not matched against it",
    )
    buyer: str = ""
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, e.g. FR")
    language: str = Field("en", description="ISO 639-1 of the notice's text, e.g. fr")
    cpv: tuple[str, ...] = Field((), description="8-digit CPV codes, main one first")
    value: float | None = Field(None, description="estimated value, excluding VAT")
    currency: str | None = None
    deadline: datetime | None = Field(None, description="when tenders are due (aware)")
    published: date | None = None
    procedure: str | None = Field(None, description="open, restricted, negotiated...")
    nature: str | None = Field(None, description="services, supplies or works, when stated")
    description: str = ""
    lots: tuple[Lot, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    links: tuple[str, ...] = ()

    def title_in(self, language: str) -> str:
        """The title in ``language`` when the notice has it, else in its own language."""
        return self.titles.get(language) or self.title

    def text(self) -> str:
        """Everything a keyword can match: title, description, lots."""
        parts = [self.title, self.description]
        for lot in self.lots:
            parts += [lot.title, lot.description]
        return "\n".join(p for p in parts if p)
