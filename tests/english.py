"""A simple detector of English in text meant for a French reader.

It reads each line, cut into sentences, after taking out what may stay in its own
language: the source text the caller names (a notice's own title, a transcript's words,
the founder's own profile), code spans, URLs, paths and file names, identifiers, and
text in quotes. What is left is English when ``language_of`` says so, or when one of the
common English words below stands in it as a word: those are never French.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from equipage.language import language_of

__all__ = ["ENGLISH_LABELS", "ENGLISH_WORDS", "english_in"]

# Words with no French homograph (accents are kept when reading: "thé" is not "the").
ENGLISH_WORDS = frozenset(
    """
    the and of to is are was were with from this that these those will would your you
    have has been which what when where should could must shall there than then about
    into only each every not please here its it's they them their our we been being
    without does doesn't don't isn't can't cannot for by at yes none
    """.split()
)
# Status words and units of our own reports that have a French form (Gio, non transposé...).
ENGLISH_LABELS = frozenset(
    """
    mapped unmapped self-managed managed unknown approved rejected pending failed skipped
    step steps cost costs gib mib tib kib error warning done see countries country deadline
    buyer value price files file summary report status requirement requirements answer
    draft notice notices saved refused resource resources memory month today everything
    priced per more new matches ruled out best coming soon prior reported after attempt
    attempts added renamed watch tender tenders rollback sign-off kind why read found left
    compliance evidence certificates signed answered approve reject
    """.split()
)

_HIDDEN = [
    re.compile(r"`[^`\n]*`"),  # code spans
    re.compile(r"\{\w+(?::[^}]*)?\}"),  # a template's placeholders
    re.compile(r"https?://\S+"),  # URLs
    re.compile(r"\bequipage(?: [a-z-]+)+"),  # the CLI's commands
    re.compile(r"«[^»\n]*»|“[^”\n]*”|\"[^\"\n]*\"|‘[^’\n]*’"),  # quoted text
    re.compile(r"\S*[/\\]\S*"),  # paths
    re.compile(r"\b[A-Z]{2,}\b"),  # acronyms and codes: CPV, TED, FR, BE
    re.compile(r"\b(?:go\s*/\s*)?no-go\b|\bgo\b", re.I),  # French business usage too
    re.compile(r"\b[\w.-]*[\d_.][\w.-]*\b"),  # identifiers, file names, numbers, units
]
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+| — | \| ")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def english_in(texts: Iterable[str], sources: Iterable[str] = ()) -> list[str]:
    """The sentences of ``texts`` that read as English, once ``sources`` (text quoted from
    outside, which keeps its own language) and code-like tokens are taken out."""
    quoted = sorted({s.strip() for s in sources if len(s.strip()) > 2}, key=len, reverse=True)
    found: list[str] = []
    for text in texts:
        for line in text.splitlines():
            if line.lstrip().startswith(">"):  # a quote of what someone said or wrote
                continue
            for sentence in _SENTENCES.split(_bare(line, quoted)):
                if _is_english(sentence):
                    found.append(f"{sentence.strip()}   [in: {line.strip()[:160]}]")
    return found


def _bare(line: str, quoted: list[str]) -> str:
    for source in quoted:
        if source in line:
            line = line.replace(source, " ")
    for pattern in _HIDDEN:
        line = pattern.sub(" ", line)
    return line


def _is_english(sentence: str) -> bool:
    tokens = [t.lower() for t in _WORD.findall(sentence)]
    if any(t in ENGLISH_WORDS or t in ENGLISH_LABELS for t in tokens):
        return True
    return len(tokens) >= 3 and language_of(sentence) == "en"
