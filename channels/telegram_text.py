"""Telegram's text limits: messages of at most 4096 UTF-16 code units, sent as plain text.

``split`` cuts a long reply into messages; ``with_line`` puts a line (who answered a
question) under a message's text, cutting the text short when both would not fit.
"""

from __future__ import annotations

from channels import delivery
from channels.delivery import Break, fit

__all__ = ["MAX_TEXT", "split", "units", "with_line"]

MAX_TEXT = 4096  # Bot API limit per message, in UTF-16 code units


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into non-blank pieces that fit a message, at paragraphs, lines or spaces."""
    breaks = (Break(("\n\n",), limit // 4), Break(("\n",), limit // 4), Break((" ",), 1))
    return delivery.split(text, limit, breaks, size=_unit)


def with_line(text: str, line: str) -> str:
    """``text`` with ``line`` below it, the text cut short if both pass the 4096 limit."""
    tail = "\n\n" + line
    room = MAX_TEXT - units(tail) - 1  # and the ellipsis, if cut
    if units(text) <= room + 1:
        return text + tail
    head = text[: fit(text, room, _unit)]
    space = max(head.rfind("\n"), head.rfind(" "))
    if space >= len(head) * 3 // 4:  # between words when one ends near the cut
        head = head[:space]
    return head.rstrip() + "…" + tail


def units(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP count twice (UTF-16)."""
    return sum(map(_unit, text))


def _unit(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1
