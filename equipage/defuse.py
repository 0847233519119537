"""Outside text made safe to fence: no spelling of the fence's tag survives inside it.

``policy.fence`` puts outside content between ``<untrusted>`` tags. Content that
writes the closing tag itself could speak outside the fence, and content that writes an
opening tag could fake a region of its own; a model reads a tag through many spellings:
any case, spaces (``< / untrusted``), full-width and look-alike brackets and slashes
(``＜ ‹ 〈 ⁄ ∕``), HTML entities (``&lt;``, ``&#60;``, ``&#x3c;``, even encoded twice), code
escapes (``\\u003c``, ``%3C``), invisible characters inside the word (zero-width joiners,
soft hyphens), compatibility forms (``ｕｎｔｒｕｓｔｅｄ``) and look-alike letters.

``defuse`` reads a shadow of the text where all of these are folded to plain lower-case
ASCII, each shadow character keeping the span of the original it came from, and replaces
in the original every span that reads as ``<untrusted`` or ``</untrusted`` (to the end of
its tag) with a visible mark. ``label`` makes a fence's ``source`` safe to quote.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

__all__ = ["MARK", "defuse", "label"]

#: What replaces a tag found in outside text; it reads as no tag in any spelling.
MARK = "[fence tag removed]"

# Look-alikes that Unicode normalisation leaves apart from the ASCII they imitate.
_LOOK_ALIKES = {
    **dict.fromkeys("‹〈⟨˂ᐸ«≺❮⧼《", "<"),
    **dict.fromkeys("›〉⟩˃ᐳ»≻❯⧽》", ">"),
    **dict.fromkeys("⁄∕⧸╱", "/"),
    **dict.fromkeys("∖⑊", "\\"),
    # Letters of "untrusted" in other scripts or small capitals.
    **dict.fromkeys("υսᴜ", "u"),
    **dict.fromkeys("ոɴ", "n"),
    **dict.fromkeys("тτᴛ", "t"),
    **dict.fromkeys("гʀ", "r"),
    **dict.fromkeys("ѕꜱ", "s"),
    **dict.fromkeys("еεᴇ", "e"),
    **dict.fromkeys("ԁ", "d"),
}
# Invisible letters that no category marks as such.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE = frozenset({"Cf", "Mn", "Me"})
_WHITESPACE = frozenset(" \t\n\r\v\f")

# Escapes a model may read through: HTML entities (with or without ';'), \u003c, \x3c,
# \u{3c} and %3c. Matched on the folded shadow, so already lower-case.
_ESCAPE = re.compile(
    r"&(?:#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});?"
    r"|\\u\{(?P<braced>[0-9a-f]{1,6})\}|\\u(?P<u>[0-9a-f]{4})|\\x(?P<x>[0-9a-f]{2})"
    r"|%(?P<pct>[0-9a-f]{2})"
)
# Runs of printable ASCII (and newlines), else one character at a time.
_PLAIN = re.compile(r"[\x20-\x7e\n]+|.", re.S)
_PRINTABLE = frozenset(map(chr, range(0x20, 0x7F))) | {"\n"}
_TAG = re.compile(r"<[\s/\\]*untrusted(?:[^<>\n]{0,200}>)?")


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """What one character reads as: plain lower-case ASCII where it imitates it, else itself."""
    if char in _WHITESPACE:
        return "\n" if char == "\n" else " "  # a tag's end is looked for on its own line
    if char in _FILLERS:
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", char):
        category = unicodedata.category(part)
        if category in _INVISIBLE or (category == "Cc" and part not in _WHITESPACE):
            continue
        for folded in part.casefold():
            out.append(_LOOK_ALIKES.get(folded, folded))
    return "".join(out)


def _shadow(text: str) -> tuple[str, list[int], list[int]]:
    """The folded text, and for each of its characters the span of the original it reads."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for run in _PLAIN.finditer(text):
        start, end = run.span()
        if end - start > 1 or run[0] in _PRINTABLE:  # plain ASCII folds one for one
            chars.append(run[0].lower())
            starts += range(start, end)
            ends += range(start + 1, end + 1)
            continue
        for folded in _fold(run[0]):
            chars.append(folded)
            starts.append(start)
            ends.append(end)
    shadow = "".join(chars)
    # Decoding may reveal another escape ("&amp;lt;"): a few passes, each on the last one.
    for _ in range(4):
        decoded = _decode(shadow, starts, ends)
        if decoded is None:
            break
        shadow, starts, ends = decoded
    return shadow, starts, ends


def _decode(
    shadow: str, starts: list[int], ends: list[int]
) -> tuple[str, list[int], list[int]] | None:
    chars: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    at = 0
    changed = False
    for found in _ESCAPE.finditer(shadow):
        value = _unescape(found)
        if value is None:
            continue
        chars.append(shadow[at : found.start()])
        new_starts += starts[at : found.start()]
        new_ends += ends[at : found.start()]
        folded = "".join(_fold(c) for c in value)
        chars.append(folded)
        # Each character of the decoded value stands for the whole escape.
        new_starts += [starts[found.start()]] * len(folded)
        new_ends += [ends[found.end() - 1]] * len(folded)
        at = found.end()
        changed = True
    if not changed:
        return None
    chars.append(shadow[at:])
    new_starts += starts[at:]
    new_ends += ends[at:]
    return "".join(chars), new_starts, new_ends


def _unescape(found: re.Match[str]) -> str | None:
    number = found["braced"] or found["u"] or found["x"] or found["pct"]
    if number is not None:
        code = int(number, 16)
        return chr(code) if code <= 0x10FFFF else None
    value = html.unescape(found[0])
    return value if value != found[0] else None


def _spans(text: str) -> list[tuple[int, int]]:
    shadow, starts, ends = _shadow(text)
    spans: list[tuple[int, int]] = []
    for found in _TAG.finditer(shadow):
        start, end = starts[found.start()], ends[found.end() - 1]
        if spans and start <= spans[-1][1]:
            start = spans.pop()[0]
        spans.append((start, max(end, start + 1)))
    return spans


@lru_cache(maxsize=64)
def defuse(text: str) -> str:
    """``text`` with every spelling of an ``<untrusted`` or ``</untrusted`` tag marked out.

    Cached: a thread's history is fenced again for every model call.
    """
    for _ in range(3):  # the mark breaks what it replaces; a second pass finds nothing
        spans = _spans(text)
        if not spans:
            return text
        for start, end in reversed(spans):
            text = f"{text[:start]}{MARK}{text[end:]}"
    return text


def label(source: str) -> str:
    """A fence's ``source``, safe between double quotes: ASCII letters, digits, ``.:@/+_-``."""
    plain = unicodedata.normalize("NFKD", source)  # "résumé" keeps its letters: "resume"
    plain = "".join(c for c in plain if unicodedata.category(c) not in _INVISIBLE)
    return " ".join(re.sub(r"[^A-Za-z0-9.:@/+_-]+", " ", plain).split())[:80] or "outside"
