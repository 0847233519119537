"""French or English: which one a text is written in, and which one to answer in.

The crew writes to founders in French or English only. ``language_of`` reads a text's
language off its function words (the little words every sentence has, folded, see
``equipage.text.fold``), an accent counting for French, greetings too in speech (a call,
a transcript); the gateway, the live assistant and the coach all ask it. ``said`` turns
a language code (``fr``, ``fr-CA``, ``en``, None...) into the one of the two to write
in; ``choose`` is the usual order of preference (asked, else told by the person, else
the company's). Modules that speak both languages pick their table with ``pick``, so
"French" means one thing everywhere.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from equipage.text import words

__all__ = ["Language", "choose", "detect", "is_french", "language_of", "number", "pick", "said"]

Language = Literal["fr", "en"]

T = TypeVar("T")

# Folded, as ``words`` yields them. A word of both lists ("on", "me") tells nothing.
_FRENCH = frozenset(
    """
    le la les l un une des du de d et ou mais donc or ni car au aux en dans par pour sur
    sous avec sans chez que qu qui quoi dont ce c cet cette ces se s sa son ses mon ma mes
    ton ta tes notre nos votre vos leur leurs je j tu il elle on nous vous ils elles me m te
    t lui y ne n pas plus est sont etait ete etre ai as avons avez ont avoir fait faire fais
    tres bien tout tous toute toutes comme si aussi alors ca cela ici va vais vont peu peut
    peux faut deja oui non merci bonjour prepare redige semaine
    """.split()
)
_ENGLISH = frozenset(
    """
    the a an and or but so of to in on at by for with from as is are was were be been being
    am it its this that these those there here i you he she we they me him her us them my
    your his our their not no yes do does did have has had will would can could should just
    what which who whom when where how if then than too very also already all any some s t
    ll re ve d m about into up out over please make prepare write week thanks
    """.split()
)
# Greetings that tell a speaker's language, not a writer's: French founders open a chat
# with "hello" too, while "Hello?" said on a call is English.
_SPOKEN_ENGLISH = frozenset({"hello", "hi", "hey"})
_ACCENTED = frozenset("éèêàâçùûîôœ")
_READ = 200_000  # characters read at the most: a long transcript tells by then


def language_of(text: str, *, spoken: bool = False) -> Language | None:
    """``fr`` or ``en`` when the text's words say so, None when they tell neither;
    ``spoken``: a line said aloud, whose greetings count too."""
    text = text[:_READ]
    tokens = words(text)
    english_words = (_ENGLISH | _SPOKEN_ENGLISH) if spoken else _ENGLISH
    french = sum(t in _FRENCH for t in tokens) + any(c in _ACCENTED for c in text.casefold())
    english = sum(t in english_words for t in tokens)
    if french == english:
        return None
    return "fr" if french > english else "en"


def detect(text: str, default: Language = "en", *, spoken: bool = False) -> Language:
    """The text's language, ``default`` when its words tell neither."""
    return language_of(text, spoken=spoken) or default


def is_french(text: str) -> bool:
    """True when the text reads as French (a text that tells nothing reads as English)."""
    return language_of(text) == "fr"


def said(code: str | None) -> Language:
    """The language to write in for a language code: ``fr`` for any French, else ``en``."""
    return "fr" if (code or "").strip().lower().startswith("fr") else "en"


def pick(code: str | None, en: T, fr: T) -> T:
    """``fr`` for a French reader, ``en`` for anyone else: the table or text to use."""
    return fr if said(code) == "fr" else en


def choose(*codes: str | None) -> Language:
    """The first of ``codes`` that is French or English (asked, told, the company's...),
    English when none is."""
    for code in codes:
        if code in ("fr", "en"):
            return "fr" if code == "fr" else "en"
    return "en"


def number(value: float, spec: str, language: str | None = "en") -> str:
    """``format(value, spec)`` the reader's way: in French, thousands grouped with a
    no-break space and a decimal comma (a comma there would read as decimals)."""
    text = format(value, spec)
    return text.replace(",", "\u00a0").replace(".", ",") if said(language) == "fr" else text
