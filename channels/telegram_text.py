"""Telegram's text limits: messages of at most 4096 UTF-16 code units, sent as plain text.

``split`` cuts a long reply into messages; ``with_line`` puts a line (who answered a
question) under a message's text, cutting the text short when both would not fit.
"""

from __future__ import annotations

__all__ = ["MAX_TEXT", "split", "units", "with_line"]

MAX_TEXT = 4096  # Bot API limit per message, in UTF-16 code units


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into non-blank pieces that fit a message, at paragraphs, lines or spaces."""
    pieces: list[str] = []
    rest = text
    while rest:
        cut, units = 0, 0
        for char in rest:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            cut += 1
        if cut < len(rest):
            head = rest[:cut]
            for sep, floor in (("\n\n", limit // 4), ("\n", limit // 4), (" ", 1)):
                at = head.rfind(sep)
                if at >= floor:
                    cut = at + len(sep)
                    break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in pieces if piece.strip()]


def with_line(text: str, line: str) -> str:
    """``text`` with ``line`` below it, the text cut short if both pass the 4096 limit."""
    tail = "\n\n" + line
    room = MAX_TEXT - units(tail) - 1  # and the ellipsis, if cut
    if units(text) <= room + 1:
        return text + tail
    cut, used = 0, 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            break
        cut += 1
    head = text[:cut]
    space = max(head.rfind("\n"), head.rfind(" "))
    if space >= len(head) * 3 // 4:  # between words when one ends near the cut
        head = head[:space]
    return head.rstrip() + "…" + tail


def units(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP count twice (UTF-16)."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)
