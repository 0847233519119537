"""An eForms notice sent as a consultation file, turned into text the extraction reads.

A notice's XML holds its title, deadline and award criteria as fields, not sentences: the
tender watch's parser (``workflows.tenders.eforms``) reads them, and this module writes
them back as the lines a règlement de la consultation would have ("Date limite de
réception des offres : 2019-06-24 16:00", a criteria section per lot, "Prix : 60 %"), in
the notice's language (French or English).
"""

from __future__ import annotations

from workflows.tenders.eforms import parse_eforms
from workflows.tenders.model import Criterion

__all__ = ["is_notice", "notice_text"]

_KINDS = {
    "fr": {"price": "Prix", "quality": "Valeur technique", "cost": "Coût"},
    "en": {"price": "Price", "quality": "Quality", "cost": "Cost"},
}
_WORDS = {
    "fr": ("Avis de marché", "Acheteur", "Date limite de réception des offres",
           "Critères d'attribution"),
    "en": ("Contract notice", "Buyer", "Time limit for receipt of tenders", "Award criteria"),
}  # fmt: skip


def is_notice(text: str) -> bool:
    """True when the text is an eForms notice's XML."""
    head = text[:2000]
    return head.lstrip().startswith("<") and "urn:oasis:names:specification:ubl" in head


def notice_text(text: str) -> str:
    """The notice as lines; InputRejected when it is XML but no eForms notice."""
    tender = parse_eforms(text)
    language = "fr" if tender.language == "fr" else "en"
    notice, buyer, due, criteria = _WORDS[language]
    lines = [f"{notice} : {tender.title}", f"{buyer} : {tender.buyer or '—'}"]
    if tender.deadline is not None:
        lines += ["1. " + due, f"{due} : {tender.deadline:%Y-%m-%d %H:%M} ({tender.deadline:%Z})"]
    sets = [(lot.id, lot.criteria) for lot in tender.lots if lot.criteria]
    sets = sets or [("", tender.criteria)]
    for number, (lot, found) in enumerate(sets, start=2):
        lines.append(f"{number}. {criteria}" + (f" — lot {lot}" if lot else ""))
        lines += [_line(c, found, language) for c in found]
    return "\n".join(lines)


def _line(criterion: Criterion, found: tuple[Criterion, ...], language: str) -> str:
    name = _KINDS[language].get(criterion.kind, criterion.kind.capitalize() or "—")
    if criterion.weight is None:
        return name
    # eForms gives a number: a percentage when the set adds up to 100, else points.
    total = sum(c.weight or 0 for c in found)
    unit = "%" if abs(total - 100) < 0.01 else "points"
    return f"{name} : {criterion.weight:g} {unit}"
