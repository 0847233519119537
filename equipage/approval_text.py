"""What the owner reads when a call waits for approval: the whole call, nothing hidden.

Every argument stands on its own line (``name: value``; nested ones as ``input.to``). A
value's further lines, its own line breaks included (marked ``⏎``), hang under a gutter
(``│``), so no value can pass for a line of the question ("Approved by owner").
Control, bidirectional and invisible characters show as ``⟨U+202E⟩``. A value too long
to read in a chat shows its first and last parts, says how many characters lie between
and which links they hold, and names the command that shows the whole call: ``/show ID``
in chat, ``equipage approvals show ID`` in a terminal. English or French, after the
founder's language.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from equipage.llm.messages import ToolCall

__all__ = ["CallText", "call_text", "reveal", "still_waiting", "waiting_first"]

WIDTH = 100  # characters of a value per line before it folds
WHOLE = 1_500  # values up to this many characters are shown whole
HEAD, TAIL = 700, 300  # what a longer value shows of its start and of its end
GUTTER = "    │ "  # before a value's further lines
NOTE = "    ⋮ "  # before what the question says about a value (what was left out)

# Categories that draw nothing or move text around: controls (C0, C1, DEL), formats
# (bidi marks and overrides, zero-width characters, tags), surrogates, private use,
# unassigned, and the line and paragraph separators that would start a new line.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters, marks and symbols that print as blanks or hide data: fillers, the combining
# grapheme joiner, variation selectors (not U+FE0F, which only asks for an emoji's
# colour), the braille blank; and the format characters named in the issue, explicitly.
_HIDDEN = frozenset(
    {0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x2800, 0x3164, 0xFEFF}
    | {0xFFA0, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070)}
    | {*range(0xFE00, 0xFE0F), *range(0xE0000, 0xE0080), *range(0xE0100, 0xE01F0)}
)
_LINE_BREAK = re.compile(r"\r\n|\n")
_LINK = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.|\bmailto:)[^\s<>\"'`]+")
_TOKEN = "⟨"  # a revealed character's mark starts with this; a fold never splits one


def _hidden(char: str) -> bool:
    return ord(char) in _HIDDEN or unicodedata.category(char) in _HIDDEN_CATEGORIES


def reveal(text: str) -> str:
    """``text`` with every control, bidi or invisible character written as ``⟨U+XXXX⟩``."""
    return "".join(f"⟨U+{ord(c):04X}⟩" if _hidden(c) else c for c in text)


@dataclass(frozen=True)
class _Words:
    asks: str  # {role} {tool} {sources}
    whole: str
    folded: str
    no_arguments: str
    allow: str
    outside: str
    more: str  # {count} {id}
    links: str  # {links}
    still: tuple[str, str]  # {role} {ids}: one question left, several
    first: tuple[str, str]  # {ids} {commands}: waiting on one question, on several
    either: str  # {id}


_EN = _Words(
    asks=(
        "{role} wants to run {tool} while its context holds content from {sources}, "
        "which may carry instructions that are not yours."
    ),
    whole="The call, in full:",
    folded="The call (long values shortened, nothing else):",
    no_arguments="(no arguments)",
    allow="Allow this call?",
    outside="outside the company",
    more="… {count} more characters here; the whole call: /show {id} (or equipage approvals "
    "show {id})",
    links="links in the part not shown: {links}",
    still=(
        "Noted. {role} still waits for your answer to question {ids} before it goes on.",
        "Noted. {role} still waits for your answers to questions {ids} before it goes on.",
    ),
    first=(
        "I am waiting for your answer to question {ids} first: {commands}. Your message is kept.",
        "I am waiting for your answers to questions {ids} first: {commands}. Your message is kept.",
    ),
    either="/approve {id} or /reject {id} [reason]",
)
_FR = _Words(
    asks=(
        "{role} veut exécuter {tool} alors que son contexte contient du contenu venant de "
        "{sources}, qui peut porter des instructions qui ne sont pas les vôtres."
    ),
    whole="L'appel, en entier :",
    folded="L'appel (valeurs longues raccourcies, rien d'autre) :",
    no_arguments="(aucun argument)",
    allow="Autoriser cet appel ?",
    outside="l'extérieur de l'entreprise",
    more="… {count} caractères de plus ici ; l'appel en entier : /show {id} (ou equipage "
    "approvals show {id})",
    links="liens dans la partie non affichée : {links}",
    still=(
        "C'est noté. {role} attend encore votre réponse à la question {ids} avant de continuer.",
        "C'est noté. {role} attend encore vos réponses aux questions {ids} avant de continuer.",
    ),
    first=(
        "J'attends d'abord votre réponse à la question {ids} : {commands}. "
        "Votre message est gardé.",
        "J'attends d'abord vos réponses aux questions {ids} : {commands}. Votre message est gardé.",
    ),
    either="/approve {id} ou /reject {id} [raison]",
)


def _words(language: str | None) -> _Words:
    return _FR if (language or "").lower() == "fr" else _EN


def _count(value: int, language: str | None) -> str:
    grouped = f"{value:,}"
    # French groups thousands with a narrow no-break space.
    return grouped.replace(",", "\u202f") if _words(language) is _FR else grouped


@dataclass(frozen=True)
class CallText:
    """The question as sent (``text``), and the whole call for ``/show`` (``full``)."""

    text: str
    full: str


def call_text(
    role: str,
    call: ToolCall,
    sources: Sequence[str],
    *,
    question_id: str,
    language: str | None = None,
) -> CallText:
    """The approval question for ``call``, in ``language`` (``fr``, else English)."""
    say = _words(language)
    origin = ", ".join(reveal(s) for s in sorted(set(sources))) or say.outside
    head = say.asks.format(role=role, tool=reveal(call.name), sources=origin)
    fields = list(_fields(call.arguments))
    whole = _arguments(fields, say, question_id, language, fold=False)
    shown = _arguments(fields, say, question_id, language, fold=True)
    full = "\n".join([head, say.whole, *whole, say.allow])
    if shown == whole:
        return CallText(text=full, full=full)
    return CallText(text="\n".join([head, say.folded, *shown, say.allow]), full=full)


def still_waiting(role: str, ids: Sequence[str], language: str | None) -> str:
    """Said when one question of a turn is answered and others still hold it."""
    one, several = _words(language).still
    return (one if len(ids) == 1 else several).format(role=role, ids=", ".join(ids))


def waiting_first(ids: Sequence[str], language: str | None) -> str:
    """Said to a founder who writes while their thread waits on their answer."""
    say = _words(language)
    commands = "; ".join(say.either.format(id=i) for i in ids)
    one, several = say.first
    return (one if len(ids) == 1 else several).format(ids=", ".join(ids), commands=commands)


def _fields(arguments: Mapping[str, JsonValue], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(name, value) of every argument, nested ones flattened: ``input.to``, ``cc[0]``."""
    for key, value in arguments.items():
        yield from _field(f"{prefix}{key}", value)


def _field(name: str, value: JsonValue) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict) and value:
        yield from _fields(value, f"{name}.")
    elif isinstance(value, list) and value:
        for n, item in enumerate(value):
            yield from _field(f"{name}[{n}]", item)
    elif isinstance(value, str):
        yield name, value
    else:
        yield name, json.dumps(value, ensure_ascii=False)


def _arguments(
    fields: list[tuple[str, str]],
    say: _Words,
    question_id: str,
    language: str | None,
    *,
    fold: bool,
) -> list[str]:
    if not fields:
        return [f"  {say.no_arguments}"]
    lines: list[str] = []
    for name, value in fields:
        first, *rest = _value(value, say, question_id, language, fold=fold)
        lines.append(f"  {reveal(name)}: {first}")
        lines.extend(rest)
    return lines


def _value(
    value: str, say: _Words, question_id: str, language: str | None, *, fold: bool
) -> list[str]:
    """Display lines of one value, the first bare, the others behind their gutter;
    folded to its two ends when ``fold`` and too long."""
    if not fold or len(value) <= WHOLE:
        first, *rest = _lines(value)
        return [first, *(GUTTER + line for line in rest)]
    start, end = value[:HEAD], value[-TAIL:]
    count = _count(len(value) - HEAD - TAIL, language)
    notes = [say.more.format(count=count, id=question_id)]
    inside = (HEAD, len(value) - TAIL)
    links = [
        reveal(m[0]) for m in _LINK.finditer(value) if m.end() > inside[0] and m.start() < inside[1]
    ]
    if links:
        notes.append(say.links.format(links=", ".join(dict.fromkeys(links))))
    first, *rest = _lines(start)
    return [
        first,
        *(GUTTER + line for line in rest),
        *(NOTE + note for note in notes),
        *(GUTTER + line for line in _lines(end)),
    ]


def _lines(value: str) -> list[str]:
    """The value's own lines, revealed and folded at WIDTH; ``⏎`` ends one it broke."""
    parts = _LINE_BREAK.split(value)
    out: list[str] = []
    for n, part in enumerate(parts):
        folded = _fold(reveal(part)) or [""]
        if n < len(parts) - 1:
            folded[-1] += "⏎"
        out.extend(folded)
    return out


def _fold(text: str) -> list[str]:
    """``text`` in pieces of about WIDTH, cut after a space when one is near, never inside
    a revealed character's mark nor a link (a link longer than a line keeps a line of its
    own, whole, to be read and copied as one); every character kept.

    Walks by index, in time linear in the text: a value may be megabytes long.
    """
    links = [(m.start(), m.end()) for m in _LINK.finditer(text)]
    starts = [a for a, _ in links]
    pieces: list[str] = []
    start = 0
    while len(text) - start > WIDTH:
        end = start + WIDTH
        cut = text.rfind(" ", start + WIDTH * 3 // 4, end) + 1 or end
        mark = text.rfind(_TOKEN, start, cut)
        if mark > start and text.find("⟩", mark, cut) < 0:
            cut = mark
        n = bisect_left(starts, cut) - 1  # the last link that starts before the cut
        if n >= 0 and links[n][1] > cut:
            cut = links[n][0] if links[n][0] > start else links[n][1]
        pieces.append(text[start:cut])
        start = cut
    if start < len(text):
        pieces.append(text[start:])
    return pieces
