"""The date and time offers are due, read off a consultation file.

A due date sits next to words that say so (``date limite de remise des offres``,
``réception des plis``, ``offers must be received``...), on the same line or within the
few lines after (PDF forms put ``Date : 19 avril 2025`` and ``Heure : 15h00`` below their
label). Dates are read in French (``19 avril 2025``, ``lundi 3 mars 2025``, ``19/04/2025``),
English (``14 March 2025``, ``March 14, 2025``) and ISO; times as ``15h00``, ``12 h``,
``12 heures``, ``17:30``. Other time limits (questions 8 days before, offers valid 180
days) are obligations, read by ``obligations``.
"""

from __future__ import annotations

import re
from datetime import datetime

from workflows.tenders.answer.model import Deadline
from workflows.tenders.answer.outline import Line

__all__ = ["find_dates", "read_deadline"]

_MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH})\s+(\d{{4}})\b", re.I)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I)
_NUMERIC = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TIME = re.compile(
    r"(?<![\d/.])(\d{1,2})\s*(?:h|heures?)\s*(\d{2})?(?!\d)|(?<![\d/.])(\d{1,2}):(\d{2})(?!\d)",
    re.I,
)
_DUE = re.compile(
    r"date\s+(?:et heure\s+)?limites?\s+de\s+(?:remise|réception|dépôt)|"
    r"remise\s+des\s+(?:offres|plis|candidatures)|réception\s+des\s+(?:offres|plis)|"
    r"(?:offres|plis)\s+(?:devront|doivent)\s+(?:parvenir|être\s+(?:remis|déposé|reçu))|"
    r"au plus tard le|avant le|deadline|time limit for receipt|"
    r"(?:tenders?|offers?|bids?)\s+(?:must|shall|should)\s+be\s+(?:submitted|received|uploaded)|"
    r"closing date",
    re.I,
)
_WINDOW = 4  # lines read after a label for its date and time


def find_dates(text: str) -> list[tuple[int, datetime]]:
    """Every date of ``text`` with its position, in order."""
    found: list[tuple[int, datetime]] = []
    for pattern, order in (
        (_DAY_MONTH, "dmy"),
        (_MONTH_DAY, "mdy"),
        (_NUMERIC, "dmy#"),
        (_ISO, "ymd"),
    ):
        for m in pattern.finditer(text):
            try:
                found.append((m.start(), _date(m.groups(), order)))
            except ValueError:
                continue  # "31/02/2025" or a version number: not a date
    return sorted(found, key=lambda pair: pair[0])


def _date(groups: tuple[str | None, ...], order: str) -> datetime:
    a, b, c = (g or "" for g in groups)
    if order == "dmy":
        return datetime(int(c), _MONTHS[b.lower()], int(a))
    if order == "mdy":
        return datetime(int(c), _MONTHS[a.lower()], int(b))
    if order == "dmy#":
        return datetime(int(c), int(b), int(a))
    return datetime(int(a), int(b), int(c))


def _time(text: str) -> tuple[int, int] | None:
    for m in _TIME.finditer(text):
        hour = int(m.group(1) or m.group(3))
        minute = int(m.group(2) or m.group(4) or 0)
        if hour < 24 and minute < 60:
            return hour, minute
    return None


def read_deadline(lines: list[Line]) -> tuple[Deadline, int] | None:
    """The due date of offers and the index of the line it was read on, if the file says."""
    for index, line in enumerate(lines):
        label = _DUE.search(line.text)
        if label is None or (line.is_heading and not find_dates(line.text)):
            continue
        texts = [
            line.text[label.start() :],
            *(w.text for w in lines[index + 1 : index + _WINDOW + 1]),
        ]
        for end in range(1, len(texts) + 1):
            text = " ".join(texts[:end])
            dates = find_dates(text)
            if not dates:
                continue
            where, day = dates[0]
            clock = _time(text[where:])
            if clock is None and end < len(texts) and _time(texts[end]):
                text, clock = f"{text} {texts[end]}", _time(texts[end])
            at = day.replace(hour=clock[0], minute=clock[1]) if clock else day
            shown = " ".join(text.replace("…", " ").split())[:200]
            return Deadline(at=at, timed=clock is not None, text=shown), index
    return None
