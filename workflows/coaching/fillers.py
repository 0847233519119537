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


# "genre" is a noun after a determiner, a preposition that takes a bare noun ("en genre et
# en nombre", "par genre") or an adjective set before the noun ("un nouveau genre").
_GENRE_NOUN_AFTER = frozenset(
    "le un ce cet du au aux quel quelle de d l mon ton son des les cette ces leur leurs notre "
    "votre nos vos quelque chaque aucun tel meme autre tout en par nouveau seul premier dernier "
    "bon mauvais drole".split()
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
# Mid-chunk, "like" is a filler after "was", "it's", "and"... ("it was like, huge"), and a
# preposition after a noun ("lattice like shadows"); opening a chunk, a comparison only
# before what it compares ("Like a rolling stone").
_LIKE_FILLER_BEFORE = frozenset("was is s were are m re be and but just um uh so or".split())
_LIKE_FILLER_AFTER = frozenset("um uh really totally literally super so very just".split())
_LIKE_OPENS_COMPARISON = frozenset(
    "a an the this that my your his her its our their him them me us it".split()
)
_KIND_BEFORE = frozenset(
    "what this that the a any some every which one same different these those other "
    "another all no my your his her our their".split()
)
_SO_AFTER = frozenset("that much many far long as".split())
# "well" opening a chunk is a filler unless the next word makes it a noun or an adverb.
_WELL_NOT_AFTER = frozenset("as was is be been being known done made said off site head".split())
_WELL_BEFORE = frozenset("oh yeah um uh ok okay".split())
# Words that may stand before a filler "bon" in the same chunk: "Mais bon, ...", "Ah bon".
_BON_BEFORE = frozenset("mais et enfin ah oh eh bah ben alors donc ouais oui non allez bon".split())
_BON_AFTER = frozenset(
    "alors ben bah euh donc voila ecoutez bref eh et je j on il elle ils elles nous vous tu "
    "c ce ca cela moi la puis mais enfin".split()
)
# "voilà" presents what follows it ("voilà le plan", "voilà comment", "nous y voilà") and is
# a filler when it closes a phrase or opens one before a clause ("voilà, c'est fait").
_VOILA_OBJECT = frozenset("me m te t le la les nous vous lui en y".split())
_VOILA_SKIP = frozenset("euh heu donc quoi alors ben bah bon bref enfin voila".split())
_SUBJECTS = frozenset("je j tu il elle on nous vous ils elles c ca cela".split())
_ADDRESS = frozenset(
    "monsieur madame mesdames messieurs mademoiselle cher chere chers cheres".split()
)
_NOUN_PHRASE_START = frozenset(
    "le la les l un une des du de d ce cet cette ces mon ma mes ton ta tes son sa ses notre "
    "nos votre vos leur leurs quelques plusieurs tous toutes deux trois quatre cinq dix cent "
    "mille".split()
)
# Common finite verbs: a chunk that has one is a clause, not the noun phrase "voilà" presents.
_FINITE = frozenset(
    "est sont etait etaient sera seront ont avons avez ai va vont doit doivent peut peuvent "
    "faut sommes etes fait font veut veulent".split()
)
_WH = frozenset("comment pourquoi ou combien".split())
# "quoi" is a pronoun after a preposition ("de quoi", "après quoi"), after the verbs that
# take it as object ("qui fait quoi", "je ne sais quoi") and in "n'importe quoi".
_QUOI_BEFORE = frozenset(
    "de a sur pour en par avec sans ou comme apres avant contre vers envers malgre moyennant "
    "selon chez entre dans sous importe fait faire fais font dit dire dis disent sait sais "
    "savoir savent veut veux voulez veulent vouloir".split()
)
# "je veux dire" is the verb with an object ("je veux dire deux choses", "... que", "à
# tous") and in a relative ("ce que je veux dire"); else it reformulates, a filler.
_MEAN_FR_OBJECT = frozenset(
    "le la les l un une des du ce cet cette ces mon ma mes ton ta tes son sa ses notre nos "
    "votre vos leur leurs que qu a au aux tout toute tous toutes quelque quelques combien "
    "merci bravo bonjour oui non deux trois quatre cinq six sept huit neuf dix".split()
)
_MEAN_FR_CLAUSE_BEFORE = frozenset("que quand lorsque si".split())
_MEAN_FR_ADVERBS = (
    ("tout", "d", "abord"), ("d", "abord"), ("d", "ailleurs"), ("par", "la"), ("aussi",),
    ("egalement",),
    ("ici",), ("simplement",), ("encore",), ("surtout",), ("clairement",), ("ensuite",),
    ("solennellement",), ("franchement",),
)  # fmt: skip
# "bref" opens a chunk as a filler ("Bref, tout ça"); "un bref moment" is an adjective.
_BREF_BEFORE = frozenset("et mais enfin donc bon ben bah en".split())
# "il en fait partie", "on en fait", "ça en fait deux": "faire" with a subject before it.
_EN_FAIT_SUBJECT = frozenset("il elle on qui ca cela ce c n s m t j l y lui tout".split())
_EN_FAIT_NOT_AFTER = frozenset("partie trop autant".split())
# "you know him", "do you know what", "I mean it": the verb with its object or its asker.
_KNOW_BEFORE = frozenset("do did don didn t if as would could will whether what now".split())
_KNOW_AFTER = frozenset(
    "what how that something anything nothing him her it this the a an them me us why where "
    "when who which about more better each everyone everything".split()
)
_MEAN_BEFORE = frozenset("what if do did don didn t as".split())
_MEAN_AFTER = frozenset("it to that what you him her them this business no".split())
# Doubled words that are grammar, not stumbles: "vous vous souvenez", "that that".
_LEGIT_DOUBLES = frozenset("vous nous that had".split())


def _neighbours(tokens: list[Token], at: int, size: int) -> tuple[str | None, str | None]:
    """The words just before and after, inside the same chunk (None at a chunk's edge)."""
    chunk = tokens[at].chunk
    prev = tokens[at - 1].text if at > 0 and tokens[at - 1].chunk == chunk else None
    end = at + size
    nxt = tokens[end].text if end < len(tokens) and tokens[end].chunk == chunk else None
    return prev, nxt


def _chunks_after(tokens: list[Token], at: int) -> list[list[str]]:
    """The words of each chunk after the one at ``at``, while the same speaker talks."""
    chunks: list[list[str]] = []
    speaker, current = tokens[at].speaker, tokens[at].chunk
    for token in tokens[at + 1 :]:
        if token.speaker != speaker:
            break
        if token.chunk != current:
            chunks.append([])
            current = token.chunk
        if chunks:
            chunks[-1].append(token.text)
    return chunks


def _rest_of_chunk(tokens: list[Token], at: int, start: int) -> list[str]:
    """The words from ``start`` on that are still in the chunk of the token at ``at``."""
    out: list[str] = []
    for token in tokens[start:]:
        if token.chunk != tokens[at].chunk:
            break
        out.append(token.text)
    return out


def _presents(words: list[str]) -> bool:
    """``words`` (a chunk) is what a presentative "voilà" shows: a noun phrase or a
    "comment"/"pourquoi"/"ce que" phrase, rather than a clause of its own."""
    if not words:
        return False
    if words[0] in _WH or (words[0] == "ce" and words[1:2] in (["que"], ["qu"], ["qui"])):
        return True
    clause = any(w in _SUBJECTS or w in _FINITE for w in words)
    return words[0] in _NOUN_PHRASE_START and not clause


def _is_address(words: list[str]) -> bool:
    """``words`` (a chunk) calls someone: "monsieur Le Ray", "mes chers collègues"."""
    opener = words[1:2] if words[:1] in (["mes"], ["mon"], ["ma"]) else words[:1]
    return bool(opener) and opener[0] in _ADDRESS


def _voila_is_filler(tokens: list[Token], at: int, prev: str | None) -> bool:
    if prev in _VOILA_OBJECT:
        return False  # "nous y voilà", "le voilà"
    rest = _rest_of_chunk(tokens, at, at + 1)
    while rest and rest[0] in _VOILA_SKIP:
        rest = rest[1:]
    if rest:
        return rest[0] in _SUBJECTS  # "voilà donc la réalité" presents, "voilà on y va" not
    # "voilà" ends its chunk: it still presents what follows an address ("Voilà, monsieur
    # Le Ray, des réponses"); otherwise it closes a phrase or opens a clause.
    following = _chunks_after(tokens, at)
    addressed = False
    while following and _is_address(following[0]):
        addressed, following = True, following[1:]
    return not (addressed and following and _presents(following[0]))


def _mean_fr_is_filler(tokens: list[Token], at: int) -> bool:
    """After "je veux dire" (at ``at``): an object, maybe past an adverb, makes it the verb."""
    rest = _rest_of_chunk(tokens, at, at + 3)
    skipped = False
    for adverb in _MEAN_FR_ADVERBS:
        if tuple(rest[: len(adverb)]) == adverb:
            rest, skipped = rest[len(adverb) :], True
            break
    if not rest:
        return not skipped  # "..., je veux dire, ..." and not "je veux dire aussi, madame, que"
    return rest[0] not in _MEAN_FR_OBJECT and not rest[0].isdigit()


def _french_rule(
    name: str, tokens: list[Token], at: int, prev: str | None, nxt: str | None
) -> bool:
    if name == "bon":
        if prev == "ah" and tokens[at].question:
            return False  # "Ah bon ?" asks: a reply, not a filler
        opens = prev is None or prev in _BON_BEFORE
        return opens and (nxt is None or nxt in _BON_AFTER or prev is not None)
    if name == "bref":
        return prev is None or prev in _BREF_BEFORE
    if name == "voila":
        return _voila_is_filler(tokens, at, prev)
    if name == "genre":
        return prev not in _GENRE_NOUN_AFTER
    if name == "je veux dire":
        return prev not in _MEAN_FR_CLAUSE_BEFORE and _mean_fr_is_filler(tokens, at)
    if name == "quoi":
        chunk = tokens[at].chunk
        last_of_long_chunk = nxt is None and at >= 2 and tokens[at - 2].chunk == chunk
        return last_of_long_chunk and not tokens[at].question and prev not in _QUOI_BEFORE
    if name == "en fait":
        return prev not in _EN_FAIT_SUBJECT and nxt not in _EN_FAIT_NOT_AFTER
    if name == "du coup":
        return nxt not in ("de", "d")  # "du coup de fil", "du coup d'envoi"
    return True


def _english_rule(name: str, prev: str | None, nxt: str | None) -> bool:
    alone = prev is None and nxt is None
    if name == "like":
        if prev is None:
            return nxt not in _LIKE_OPENS_COMPARISON
        if prev in _LIKE_BEFORE:
            return False
        if nxt in _LIKE_FILLER_AFTER or (nxt or "").isdigit():
            return True
        return prev in _LIKE_FILLER_BEFORE and nxt not in _LIKE_AFTER
    if name in ("kind of", "sort of"):
        return prev not in _KIND_BEFORE
    if name == "so":
        return prev is None and nxt not in _SO_AFTER
    if name == "actually":
        return prev is None
    if name == "well":
        return (prev is None or prev in _WELL_BEFORE) and nxt not in _WELL_NOT_AFTER
    if name == "you know":
        return alone or (prev not in _KNOW_BEFORE and nxt not in _KNOW_AFTER)
    if name == "i mean":
        return alone or (prev not in _MEAN_BEFORE and nxt not in _MEAN_AFTER)
    return True


def _is_filler(name: str, tokens: list[Token], at: int, size: int) -> bool:
    """The context rule of a loose filler starting at ``at`` and ``size`` tokens long."""
    if name not in LOOSE_FILLERS:
        return True
    prev, nxt = _neighbours(tokens, at, size)
    if name in _FRENCH_LOOSE:
        return _french_rule(name, tokens, at, prev, nxt)
    return _english_rule(name, prev, nxt)


_FRENCH_LOOSE = frozenset(
    {"bon", "bref", "voila", "genre", "quoi", "en fait", "du coup", "je veux dire"}
)


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
