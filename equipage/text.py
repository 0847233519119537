"""Language-neutral text helpers: accent folding, keyword matching, French detection."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["fold", "is_french", "language_of", "matches_any", "words"]

_FRENCH_MARKERS = frozenset(
    "le la les un une des du de et est pour avec sur dans nous vous je tu il elle "
    "notre votre nos vos ce cette ces qui que quoi pas merci bonjour peux peut faire "
    "fais prépare prepare rédige redige semaine".split()
)
_ENGLISH_MARKERS = frozenset(
    "the a an and is for with on in we you i it our your this these that what not "
    "please can could make prepare write week".split()
)


def fold(text: str) -> str:
    """Lowercase without accents, so 'Hébergement' and 'hebergement' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded word tokens (letters and digits), apostrophes and hyphens split words."""
    return re.findall(r"[a-z0-9]+", fold(text))


def matches_any(text: str, keywords: Iterable[str]) -> list[str]:
    """Keywords that occur in ``text`` as whole words (a trailing plural 's' or 'x' allowed)."""
    folded = " ".join(words(text))
    found = []
    for keyword in keywords:
        phrase = " ".join(words(keyword))
        if phrase and re.search(rf"\b{re.escape(phrase)}[sx]?\b", folded):
            found.append(keyword)
    return found


def language_of(text: str) -> str | None:
    """``fr`` or ``en`` when the text's function words say so, None when it has none."""
    tokens = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", text.casefold())
    french = sum(t in _FRENCH_MARKERS for t in tokens)
    english = sum(t in _ENGLISH_MARKERS for t in tokens)
    if french == english == 0:
        return None
    return "fr" if french > english else "en"


def is_french(text: str) -> bool:
    """True when French function words outnumber English ones (ties go to English)."""
    tokens = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", text.casefold())
    french = sum(t in _FRENCH_MARKERS for t in tokens)
    english = sum(t in _ENGLISH_MARKERS for t in tokens)
    return french > english
