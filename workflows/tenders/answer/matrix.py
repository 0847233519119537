"""The compliance matrix: each requirement, the answer's section that covers it, a status.

Statuses: ``to_provide`` for a document to hand in and a price criterion (answered by the
price schedules); ``covered`` when the section's prose, written by a model, cites the
requirement's id, or for a date or form limit the submission checklist states;
``partial`` when the section holds it but its prose does not cite it, or the prose is a
skeleton with the company's facts to build on; ``missing`` when no section holds it or the
section is an empty skeleton.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workflows.tenders.answer.model import Requirement
from workflows.tenders.answer.plan import Section, is_price

__all__ = ["Row", "Status", "Written", "cited", "matrix"]

Status = Literal["covered", "partial", "missing", "to_provide"]
_ID = re.compile(r"\b[A-Z]{2,5}\d?-(?:CRI|DOC|DAT|FMT|EXI)-\d{2,3}\b")


class Written(BaseModel):
    """A section as drafted: its text, who wrote it, whether it has the company's facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str
    text: str
    by: str  # a model's name, or "template"
    facts: int = 0


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requirement: Requirement
    section: str | None  # the answer's section id
    status: Status


def cited(text: str) -> set[str]:
    """The requirement ids a text cites."""
    return set(_ID.findall(text))


def matrix(
    requirements: Sequence[Requirement], sections: Sequence[Section], written: Sequence[Written]
) -> list[Row]:
    """One row per requirement, in the order they were read."""
    home = {rid: s for s in sections for rid in s.requirements}
    drafts = {w.section: w for w in written}
    rows = []
    for requirement in requirements:
        section = home.get(requirement.id)
        rows.append(
            Row(
                requirement=requirement,
                section=section.id if section else None,
                status=_status(requirement, section, drafts.get(section.id) if section else None),
            )
        )
    return rows


def _status(requirement: Requirement, section: Section | None, draft: Written | None) -> Status:
    if requirement.kind == "document" or is_price(requirement):
        return "to_provide"
    if section is not None and section.kind == "price":
        return "to_provide"  # a price sub-criterion
    if section is None:
        return "missing"
    if section.kind == "submission":
        return "covered"
    if draft is None:
        return "missing"
    if draft.by != "template":
        return "covered" if requirement.id in cited(draft.text) else "partial"
    return "partial" if draft.facts else "missing"
