"""What is read off a consultation's files: its requirements, each with an id and a source.

A requirement's ``id`` is stable: the same files give the same ids, so a founder can cite
``RC-CRI-02`` across runs. It is the document's code (``RC``, ``CCTP``...), the kind's code
and the rank of the requirement among those of its document and kind, in reading order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["KIND_CODES", "Criterion", "Deadline", "Extraction", "Kind", "Requirement", "Where"]

Kind = Literal["criterion", "document", "deadline", "format", "obligation"]
KIND_CODES: dict[str, str] = {
    "criterion": "CRI",
    "document": "DOC",
    "deadline": "DAT",
    "format": "FMT",
    "obligation": "EXI",
}


class Where(BaseModel):
    """Where a requirement was read: the file, its page when the text says, its section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document: str  # the file's name
    code: str  # RC, CCTP, CCAP, BPU, AE, DOC1...
    page: int | None = None
    section: str = ""  # the heading's number, e.g. "6.2"
    heading: str = ""  # the heading's title

    def label(self) -> str:
        """``RC.pdf, p. 7, § 6.2``: how the matrix cites it."""
        parts = [self.document]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.section:
            parts.append(f"§ {self.section}")
        return ", ".join(parts)


class Requirement(BaseModel):
    """One thing the answer must do, provide, respect or be judged on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Kind
    text: str  # as the consultation words it (clipped)
    where: Where
    weight: float | None = None  # criteria: their share, in % or points as written
    parent: str | None = None  # a sub-criterion's criterion id
    name: str = ""  # documents: the canonical name (DC1, mémoire technique...)


class Criterion(BaseModel):
    """An award criterion as read, before it gets an id: name, weight, its sub-criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    weight: float | None = None
    unit: Literal["%", "points"] = "%"
    subs: tuple[Criterion, ...] = ()
    page: int | None = None
    section: str = ""


class Deadline(BaseModel):
    """The date and time offers are due, with the words it was read from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    timed: bool  # False when the text gives a day only (the time shown is 00:00)
    text: str


class Extraction(BaseModel):
    """Every requirement of the consultation's files, in reading order, and the checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: tuple[Requirement, ...] = ()
    deadline: Deadline | None = None
    documents: tuple[str, ...] = ()  # the files read
    language: Literal["fr", "en"] = "fr"  # the consultation's

    def of(self, kind: Kind) -> list[Requirement]:
        return [r for r in self.requirements if r.kind == kind]
