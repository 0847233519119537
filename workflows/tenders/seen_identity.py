"""How notices of one procedure are recognised: the fingerprint and the register's refs.

A French procedure above the EU thresholds is published on BOAMP and on TED: both copies
get one fingerprint (normalized buyer, normalized title, deadline day). A notice's own
ids, its procedure id and the notice it amends are ``ref:`` fields of the register that
lead changes and cancellations back to the ``fp:`` field of what was reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from equipage.text import words
from workflows.tenders.model import Tender

__all__ = ["fingerprint", "lookup_refs", "normal_words", "notice_ids", "own_refs"]

_STOPWORDS = frozenset(
    "a au aux d de des du en et l la le les pour par sur un une the of and for to in".split()
)
# The same buyer is "Commune de Lyon" on one platform and "Ville de Lyon" on the other:
# the kind of body is left out of the fingerprint, its name is kept.
_BUYER_KINDS = frozenset(
    "commune ville mairie city town municipality council conseil departemental "
    "departement region".split()
)


def fingerprint(tender: Tender) -> str:
    """Same procedure on TED and BOAMP -> same fingerprint: buyer, title, deadline day."""
    day = tender.deadline.date().isoformat() if tender.deadline else ""
    buyer = " ".join(w for w in normal_words(tender.buyer).split() if w not in _BUYER_KINDS)
    text = "\n".join([buyer, normal_words(tender.title), day])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def normal_words(text: str) -> str:
    """``text``'s words without stopwords: equal for titles that say the same."""
    return " ".join(w for w in words(text) if w not in _STOPWORDS)


def own_refs(tender: Tender) -> list[str]:
    """The register fields that name this notice: its id and its procedure's id."""
    refs = [f"ref:{tender.id}"]
    if tender.procedure_id:
        refs.append(f"ref:proc:{tender.source}:{tender.procedure_id}")
    return refs


def lookup_refs(tender: Tender) -> list[str]:
    """Register fields that may lead to a notice reported before, the surest first."""
    refs = [f"ref:{tender.source}:{tender.amends}"] if tender.amends else []
    return [*refs, *reversed(own_refs(tender)), f"fp:{fingerprint(tender)}"]


def notice_ids(refs: Iterable[str]) -> tuple[str, ...]:
    """The notice ids among ``refs`` (procedure refs left out)."""
    return tuple(r.removeprefix("ref:") for r in refs if not r.startswith("ref:proc:"))
