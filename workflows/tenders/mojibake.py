"""Repair the text damage real notices carry: cp1252 punctuation left as C1 control codes.

DILA's BOAMP exports keep Windows-1252 bytes read as Latin-1: the apostrophe of
``l’entité`` arrives as U+0092, ``œ`` as U+009C, a bullet as U+0095, and a UTF-8
combining accent as ``Ì`` + U+0081. Those characters are invisible, so ``d’eau`` never
matches a keyword and a draft quotes garbage. C1 codes never belong in notice text, so
every one is either decoded back or dropped.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["repair"]

_C1 = re.compile("[\u0080-\u009f]")
# A two-byte UTF-8 sequence whose second byte became a C1 code (e.g. "Ì\x81" = U+0301).
_SPLIT_UTF8 = re.compile("[\u00c2-\u00df][\u0080-\u009f]")


def repair(text: str) -> str:
    """``text`` with its C1 control codes decoded as cp1252 (or UTF-8), the rest dropped."""
    if not _C1.search(text):
        return text
    text = _SPLIT_UTF8.sub(_utf8, text)
    text = _C1.sub(_cp1252, text)
    return unicodedata.normalize("NFC", text)


def _utf8(found: re.Match[str]) -> str:
    try:
        return found.group().encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return found.group()  # not a split sequence: leave it for the cp1252 pass


def _cp1252(found: re.Match[str]) -> str:
    try:
        return found.group().encode("latin-1").decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: no character at all
        return ""
