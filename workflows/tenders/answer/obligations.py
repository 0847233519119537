"""What binds the candidate, read off sentences: obligations and limits on the answer's form.

A sentence is an obligation when a modal word makes it one (``doit``, ``doivent``,
``devra``, ``est tenu de``, ``obligatoire``, ``impérativement``, ``sous peine de``,
``must``, ``shall``, ``is required to``); "ne sont pas tenus de" frees rather than binds
and is left out. The buyer's own duties ("le pouvoir adjudicateur doit") are not the
candidate's: a sentence whose subject is the buyer is left out too. A form limit caps
pages, words or file size, or names the file formats or the font accepted.
"""

from __future__ import annotations

import re

__all__ = ["is_format_limit", "is_obligation"]

_MODAL = re.compile(
    r"\b(?:doit|doivent|devra|devront|est\s+tenue?s?|sont\s+tenue?s|obligatoire(?:s|ment)?|"
    r"impérativement|sous\s+peine|est\s+exigée?|sont\s+exigée?s|il\s+est\s+exigé|"
    r"s.engagen?t?\s+à|must|shall|is\s+required\s+to|are\s+required\s+to|mandatory)\b",
    re.I,
)
_FREED = re.compile(
    r"\bne\s+(?:sont|est)\s+pas\s+tenue?s?|\bne\s+(?:doit|doivent)\s+pas\s+"
    r"obligatoirement|\bneed\s+not\b",
    re.I,
)
_BUYER = re.compile(
    r"^(?:le|l.|the)\s*(?:pouvoir\s+adjudicateur|acheteur|maître\s+d.ouvrage|"
    r"administration|buyer|contracting\s+authority)\b",
    re.I,
)
_PAGES = re.compile(
    r"\b\d{1,3}\s*pages?\b.{0,40}\b(?:maximum|max|au plus)\b|"
    r"\b(?:exc[ée]der|d[ée]passer|limit[ée]e?s?\s+à|n.exc[ée]dant|maximum\s+de|at\s+most|"
    r"not\s+exceed|no\s+more\s+than|limited\s+to|maximum\s+of)\b.{0,30}\b\d{1,3}\s*(?:pages?|"
    r"feuillets?|caract[eè]res|mots|words)\b",
    re.I,
)
_FILES = re.compile(
    r"\bformats?\b.{0,60}(?:\.(?:pdf|docx?|xlsx?|odt|ods|rtf|zip|csv)\b|\b(?:pdf|excel|word|"
    r"bureautique|ouvert)\b)|\.(?:pdf|docx?|xlsx?|odt|rtf)\b.{0,40}\bformats?\b|"
    r"\b\d+\s*(?:mo|go|ko|mb|gb)\b|\bpolice\b.{0,30}\b\d{1,2}\b|\bfont\b.{0,30}\b\d{1,2}\b|"
    r"\bformat\s+a4\b|\bformats\s+suivants\b|\bfollowing\s+formats\b",
    re.I,
)


def is_obligation(text: str) -> bool:
    """True when the sentence binds the candidate (or the holder of the contract)."""
    return bool(_MODAL.search(text)) and not _FREED.search(text) and not _BUYER.match(text)


def is_format_limit(text: str) -> bool:
    """True when the sentence limits the answer's form: pages, file formats, sizes, fonts."""
    return bool(_PAGES.search(text) or _FILES.search(text))
