"""The answer's skeleton: one section per weighted criterion, and where each requirement goes.

Sections: the candidate's presentation; the technical answer, one section per criterion
(heaviest first) and one sub-section per sub-criterion; the financial offer (a price
criterion is answered by the price schedules); compliance with the other obligations; the
documents to hand in; the deadline and form of submission. An obligation goes to the
criterion section whose words it shares most (two significant words at least), else to
the compliance section.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.text import words as folded
from workflows.tenders.answer.model import Extraction, Requirement
from workflows.tenders.answer.wording import Words

__all__ = ["Section", "is_price", "plan"]

SectionKind = Literal["presentation", "criterion", "price", "compliance", "pieces", "submission"]
_PRICE = re.compile(r"\b(?:prix|co[uû]ts?|price|cost|tarif)", re.I)
# Words of every section of a tender, which tell nothing about where a sentence belongs.
_COMMON = frozenset(
    "offre offres candidat candidats titulaire critere criteres sous technique techniques "
    "marche accord cadre prestations prestation service services cette leurs dans selon "
    "supplier contract tender tenders bidder bidders shall which their".split()
)
_SHARED = 2  # significant words an obligation shares with a criterion to go under it


class Section(BaseModel):
    """A section of the answer and the requirements it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str  # "2.1"
    title: str
    kind: SectionKind
    criterion: str | None = None  # the criterion's requirement id
    weight: float | None = None
    requirements: tuple[str, ...] = ()


def is_price(requirement: Requirement) -> bool:
    return requirement.kind == "criterion" and bool(_PRICE.match(requirement.name or ""))


def plan(extraction: Extraction, say: Words) -> list[Section]:
    """The sections of the answer, numbered, each with the ids of what it answers."""
    criteria = extraction.of("criterion")
    tops = [c for c in criteria if c.parent is None]
    technical = sorted((c for c in tops if not is_price(c)), key=lambda c: -(c.weight or 0))
    prices = [c for c in tops if is_price(c)]
    sections = [Section(id="1", title=say.presentation, kind="presentation")]
    placed: dict[str, list[str]] = {}
    for number, top in enumerate(technical, start=2):
        sections.append(_criterion(str(number), top))
        for index, sub in enumerate((c for c in criteria if c.parent == top.id), start=1):
            sections.append(_criterion(f"{number}.{index}", sub))
    if not technical:
        sections.append(Section(id="2", title=say.technical, kind="criterion"))
    after = (len(technical) or 1) + 2
    price_ids = [p.id for p in prices] + [
        c.id for c in criteria if c.parent in {p.id for p in prices}
    ]
    if prices:
        sections.append(
            Section(
                id=str(after),
                title=say.price,
                kind="price",
                weight=sum(p.weight or 0 for p in prices) or None,
                requirements=tuple(price_ids),
            )
        )
        after += 1
    targets = [s for s in sections if s.kind == "criterion" and s.criterion]
    for obligation in extraction.of("obligation"):
        home = _closest(obligation, targets, criteria)
        placed.setdefault(home or "compliance", []).append(obligation.id)
    sections = [
        s.model_copy(update={"requirements": (*s.requirements, *placed.get(s.id, ()))})
        for s in sections
    ]
    documents = tuple(r.id for r in extraction.of("document"))
    checks = tuple(r.id for r in (*extraction.of("deadline"), *extraction.of("format")))
    sections += [
        Section(
            id=str(after),
            title=say.compliance,
            kind="compliance",
            requirements=tuple(placed.get("compliance", ())),
        ),
        Section(id=str(after + 1), title=say.pieces, kind="pieces", requirements=documents),
        Section(id=str(after + 2), title=say.submission, kind="submission", requirements=checks),
    ]
    return sections


def _criterion(number: str, criterion: Requirement) -> Section:
    return Section(
        id=number,
        title=criterion.name or criterion.text,
        kind="criterion",
        criterion=criterion.id,
        weight=criterion.weight,
        requirements=(criterion.id,),
    )


def _closest(
    obligation: Requirement, targets: list[Section], criteria: list[Requirement]
) -> str | None:
    """The id of the criterion section sharing the most significant words, if enough."""
    said = _significant(obligation.text)
    names = {c.id: c.name or c.text for c in criteria}
    best, score = None, _SHARED - 1
    for section in targets:
        shared = len(said & _significant(names.get(section.criterion or "", section.title)))
        if shared > score:
            best, score = section.id, shared
    return best


def _significant(text: str) -> set[str]:
    return {w for w in folded(text) if len(w) >= 5 and w not in _COMMON}
