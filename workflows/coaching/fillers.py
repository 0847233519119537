"""Filler words and repetitions, found in a stream of folded tokens.

A token knows its time (or None), its speaker, and where it sits in its "chunk" (the run
of words between two punctuation marks or cue edges): "So, ..." and "..., voilà." are
fillers because of where they stand, "so much" and "voilà le plan" are not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

from workflows.coaching.lexicon import FILLERS, LOOSE_FILLERS, STOPWORDS, Language

__all__ = ["FillerCount", "Repeat", "Token", "count_fillers", "repeated_phrases", "repeated_words"]


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # folded
    time: float | None
    speaker: str | None
    chunk: int  # index of the chunk (words between punctuation marks or cue edges)
    question: bool = False  # the chunk ends with "?"


class FillerCount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    filler: str
    count: int
    loose: bool  # counted by a context rule, so only approximately


class Repeat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    count: int
    first_at: float | None = None  # seconds from the start, when timed


_DETERMINERS = frozenset(
    "le un ce du quel quelle de d l mon ton son des les cette ces leur notre votre meme "
    "autre tout".split()
)
_LIKE_BEFORE = frozenset(
    "i you we they would d to don didn doesn not ll really also t feel feels felt look "
    "looks looked seem seems sound sounds something anything nothing more most much "
    "people things".split()
)
_LIKE_AFTER = frozenset(
    "a an the this that these those my your his her its our their it him them me us to "
    "what how when where who someone something anyone anything everyone everything".split()
)
_KIND_BEFORE = frozenset(
    "what this that the a any some every which one same different these those other "
    "another all no my your his her our their".split()
)
_SO_AFTER = frozenset("that much many far long as".split())
_WELL_AFTER = frozenset("i you we they so um uh yeah no it that there".split())
_BON_AFTER = frozenset("alors ben bah euh donc voila ecoutez bref eh et".split())
_VOILA_AFTER = frozenset("euh donc quoi alors ben bon".split())
_QUOI_BEFORE = frozenset("de a sur pour en par avec sans ou".split())
# Doubled words that are grammar, not stumbles: "vous vous souvenez", "that that".
_LEGIT_DOUBLES = frozenset("vous nous that had".split())


def _is_filler(name: str, tokens: list[Token], at: int, size: int) -> bool:
    """The context rule of a loose filler starting at ``at`` and ``size`` tokens long."""
    if name not in LOOSE_FILLERS:
        return True
    chunk = tokens[at].chunk
    prev = tokens[at - 1].text if at > 0 and tokens[at - 1].chunk == chunk else None
    end = at + size
    nxt = tokens[end].text if end < len(tokens) and tokens[end].chunk == chunk else None
    alone = prev is None and nxt is None
    if name == "like":
        return alone or (prev not in _LIKE_BEFORE and nxt not in _LIKE_AFTER)
    if name in ("kind of", "sort of"):
        return prev not in _KIND_BEFORE
    if name == "so":
        return prev is None and nxt not in _SO_AFTER
    if name == "actually":
        return prev is None
    if name == "well":
        return prev is None and (nxt is None or nxt in _WELL_AFTER)
    if name == "bon":
        return prev is None and (nxt is None or nxt in _BON_AFTER)
    if name == "voila":
        return nxt is None or prev == "et" or nxt in _VOILA_AFTER
    if name == "genre":
        return prev not in _DETERMINERS
    if name == "quoi":
        last_of_long_chunk = nxt is None and at >= 2 and tokens[at - 2].chunk == chunk
        return last_of_long_chunk and not tokens[at].question and prev not in _QUOI_BEFORE
    return True


def count_fillers(tokens: list[Token], language: Language) -> list[FillerCount]:
    """Filler counts, most frequent first; multi-word fillers match before single words."""
    fillers = sorted(FILLERS[language], key=lambda f: -len(f.split()))
    split = [(f, f.split()) for f in fillers]
    counts: Counter[str] = Counter()
    at = 0
    while at < len(tokens):
        for name, parts in split:
            size = len(parts)
            window = [t.text for t in tokens[at : at + size]]
            same_speaker = len({t.speaker for t in tokens[at : at + size]}) == 1
            if window == parts and same_speaker and _is_filler(name, tokens, at, size):
                counts[name] += 1
                at += size
                break
        else:
            at += 1
    return [
        FillerCount(filler=name, count=n, loose=name in LOOSE_FILLERS)
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def repeated_words(tokens: list[Token], language: Language) -> list[Repeat]:
    """Immediate repetitions ("le le", "I I"), most frequent first."""
    fillers = {f for f in FILLERS[language] if " " not in f}
    counts: Counter[str] = Counter()
    first: dict[str, float | None] = {}
    for before, token in pairwise(tokens):
        word = token.text
        if (
            word == before.text
            and token.speaker == before.speaker
            and not word.isdigit()
            and word not in fillers
            and word not in _LEGIT_DOUBLES
        ):
            counts[word] += 1
            first.setdefault(word, before.time)
    return [
        Repeat(text=f"{w} {w}", count=n, first_at=first[w])
        for w, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _periodic(gram: tuple[str, ...]) -> bool:
    """True for "a b a" or "a b a b": the n-gram repeats its own beginning."""
    n = len(gram)
    return any(all(gram[i] == gram[i + p] for i in range(n - p)) for p in range(1, n))


def _inside(small: tuple[str, ...], big: tuple[str, ...]) -> bool:
    """``small`` is a run of ``big`` read cyclically (so rotations count as inside)."""
    doubled = big + big
    return any(doubled[i : i + len(small)] == small for i in range(len(big)))


def repeated_phrases(
    tokens: list[Token], language: Language, *, min_count: int = 3, limit: int = 10
) -> list[Repeat]:
    """Phrases of 3 to 5 words said ``min_count`` times or more, not stopwords only."""
    skip = STOPWORDS[language] | {t for f in FILLERS[language] for t in f.split()}
    words = [t.text for t in tokens]
    candidates: list[tuple[tuple[str, ...], int, float | None]] = []
    for n in (5, 4, 3):
        seen: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(words) - n + 1):
            seen.setdefault(tuple(words[i : i + n]), []).append(i)
        for gram, starts in seen.items():
            if all(w in skip for w in gram) or _periodic(gram):
                continue
            count, last = 0, -n
            for start in starts:  # non-overlapping occurrences
                if start >= last + n:
                    count, last = count + 1, start
            if count >= min_count:
                candidates.append((gram, count, tokens[starts[0]].time))
    candidates.sort(key=lambda c: (-c[1], -len(c[0]), c[0]))
    kept: list[tuple[tuple[str, ...], int, float | None]] = []
    for gram, count, at in candidates:
        if not any(_inside(gram, other) for other, _, _ in kept):
            kept.append((gram, count, at))
    return [Repeat(text=" ".join(g), count=c, first_at=at) for g, c, at in kept[:limit]]
