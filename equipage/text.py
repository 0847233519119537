"""Language-neutral text helpers: accent folding, word tokens, keyword matching.

Which language a text is in is ``equipage.language``'s concern.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["fold", "matches_any", "words"]


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
