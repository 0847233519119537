"""A consultation file's text as lines, each with its page and the section it sits in.

Pages come from the text itself: the page headers and footers that buyers' documents
carry (``Page 3 sur 12``, ``Page 3/12``, ``- 3 -``) or form feeds; a text without them
has no page numbers, and sections alone locate what is read. A heading is a short line
that starts with a number (``5.1.2 Capacité``, ``1. Objet``, ``ARTICLE 6 -``, ``II.``)
and does not end like a sentence; a table of contents (dot leaders, a page number at the
end) is not a heading, and the same header repeated on every page is dropped.
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, ConfigDict

__all__ = ["Line", "lines_of"]

_PAGE = re.compile(r"(?:^|\s)(?:page|p\.)\s*(\d{1,4})\s*(?:sur|/|of|de)\s*\d{1,4}\s*$", re.I)
_DASHED_PAGE = re.compile(r"^\s*[-–]\s*(\d{1,4})\s*[-–]\s*$")
_LEADERS = re.compile(r"(?:\.{4,}|…{2,}|\s\.\s\.\s\.)\s*\d{1,3}\s*$|\t\d{1,3}\s*$")
_DOTS = re.compile(r"(?:\s*\.){4,}|…{2,}")
_NUMBERED = re.compile(
    r"^\s*(?:(?:article|art\.|chapitre|chapter|section|titre|partie|part)\s+)?"
    r"(?P<number>\d{1,2}(?:\.\d{1,2}){0,4}|[IVX]{1,5}|[A-H](?=[.)]))"
    r"(?:\s*[.)\-–:]|\s)\s*(?P<title>\S.{0,118})$",
    re.I,
)
_KEYWORD_HEADING = re.compile(r"^\s*(?:article|chapitre|chapter|section)\s", re.I)
_SENTENCE_END = re.compile(r"[,;]$")


class Line(BaseModel):
    """A line of a file's text, where it stands, and whether it is a heading."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    page: int | None
    section: str  # number of the heading it is under ("" before the first)
    heading: str  # that heading's title
    is_heading: bool = False


def lines_of(text: str) -> list[Line]:
    """The text's lines with their page and section; page furniture and contents dropped."""
    raw = [line.rstrip() for line in text.replace("\f", "\n\f\n").split("\n")]
    repeated = _furniture(raw)
    out: list[Line] = []
    page: int | None = 1 if "\f" in text else None
    section, heading = "", ""
    for line in raw:
        if line == "\f":
            page = (page or 1) + 1
            continue
        if len(line) < 120 and (found := _PAGE.search(line) or _DASHED_PAGE.match(line)):
            page = int(found.group(1))
            continue
        stripped = _DOTS.sub(" …", line).strip()
        if not stripped or stripped == "…" or line.strip() in repeated or _LEADERS.search(line):
            continue
        if out and out[-1].is_heading and _continues(stripped):
            # A heading wrapped over two lines: "6. Jugement ... attribution de" + "l'accord-cadre".
            heading = f"{heading} {stripped}"
            out[-1] = out[-1].model_copy(update={"heading": heading})
            continue
        number, title = _heading(stripped, section)
        if number:
            section, heading = number, title
            out.append(
                Line(text=stripped, page=page, section=section, heading=heading, is_heading=True)
            )
            continue
        out.append(Line(text=stripped, page=page, section=section, heading=heading))
    return out


def _continues(line: str) -> bool:
    return line[0].islower() and len(line.split()) <= 5 and not line.endswith((".", ";", ":"))


def _furniture(lines: list[str]) -> set[str]:
    """Lines repeated on most pages (a running header: the procedure's name, its title)."""
    pages = sum(1 for line in lines if _PAGE.search(line) or _DASHED_PAGE.match(line))
    pages = max(pages, sum(1 for line in lines if line == "\f") + 1)
    if pages < 3:
        return set()
    counts = Counter(line.strip() for line in lines if line.strip())
    return {line for line, n in counts.items() if n >= max(3, pages * 2 // 3) and len(line) < 120}


def _heading(line: str, current: str) -> tuple[str, str]:
    """``(number, title)`` when the line is a numbered heading, else ``("", "")``."""
    found = _NUMBERED.match(line)
    if found is None:
        return "", ""
    number, title = found["number"].upper(), found["title"].strip(" .:–-")
    keyword = bool(_KEYWORD_HEADING.match(line))
    if not title or len(title.split()) > 16 or _SENTENCE_END.search(title):
        return "", ""
    if not keyword and not title[0].isupper():
        return "", ""
    if number[0].isdigit():
        # "12 mois ..." or "2 000 postes" is a number, not a section: sections follow.
        return (number, title) if keyword or _follows(number, current) else ("", "")
    # Roman numerals and letters head sections when written as such (keyword or capitals).
    return (number, title) if keyword or title.isupper() else ("", "")


def _follows(number: str, current: str) -> bool:
    """True when ``number`` can come after ``current``: 1.2 after 1.1, 5.2 after 5.1.2..."""
    new = [int(p) for p in number.split(".")]
    if not current or not current[0].isdigit():
        return new[0] <= 3 and all(p <= 1 for p in new[1:])
    old = [int(p) for p in current.split(".")]
    if new == [*old, 1]:
        return True  # the first child
    depth = len(new)
    if depth > len(old):
        return False
    # A next sibling, here or higher up (one number may be skipped: a missing heading).
    return new[:-1] == old[: depth - 1] and new[-1] in (old[depth - 1] + 1, old[depth - 1] + 2)
