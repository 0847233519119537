"""What in a segment calls for a suggestion: plain code, microseconds per segment.

Only the other speakers' lines count (``founder_speakers`` says who the founder is). An
objection from the other party calls for an argument, and the same objection raised again
for a question back; a concern no stored argument answers ("ce qui m'inquiète, c'est la
sécurité") calls for a question to ask about it, or for the remembered fact that answers
it; a question they ask calls for a fact from company memory when one matches, else for a
question to ask back; a topic that matches a remembered fact calls for that fact; a
mention of what the company sells calls for an argument. Each topic is raised once a
session, unless the founder asks.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

from equipage.config import Profile
from equipage.memory import Fact
from equipage.text import fold, matches_any
from workflows.live_assist.models import LiveInput, SuggestionKind
from workflows.live_assist.rolling import Line
from workflows.live_assist.vocabulary import OBJECTIONS, concern_in, content_words, is_question

__all__ = ["Detector", "Trigger"]

#: Words too common in business talk for a single shared one to mean "same topic".
_WEAK = frozenset(
    "client projet equipe solution produit service entreprise societe besoin probleme "
    "question temps offre company customer project product team business people problem "
    "solution service time offer".split()
)
_ASK_LOOKBACK = 6


class Trigger(BaseModel):
    """A reason to speak up, and what to build the suggestion from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SuggestionKind
    topic: str  # 'objection:price', 'concern:<topic or hash>', 'fact:<id>', 'question:<hash>',
    # 'profile:<word>', 'ask'
    said: str  # the words that triggered it
    fact: str = ""  # a remembered fact to lean on
    detail: str = ""  # competitor named, keyword mentioned, focus of an ask
    asked: bool = False


class Detector:
    """Finds triggers in segments, against the company's memory and profile."""

    def __init__(self, params: LiveInput, profile: Profile | None) -> None:
        self.founder = {fold(s).strip() for s in params.founder_speakers}
        self.competitors = params.competitors
        sells = profile.sells if profile else ""
        self.keywords = tuple(w for w in content_words(sells) if w not in _WEAK)
        self._facts: list[tuple[Fact, frozenset[str]]] = []

    def use_facts(self, facts: list[Fact]) -> None:
        self._facts = [(f, frozenset(content_words(f.text))) for f in facts]

    def is_founder(self, speaker: str) -> bool:
        return fold(speaker).strip() in self.founder

    def detect(self, line: Line, given: set[str]) -> Trigger | None:
        """The trigger in one line, skipping topics already raised (``given``).

        Only the other speakers' lines trigger anything: the founder's own words are
        context (an objection the founder quotes is not one, nor is their own question).
        """
        if self.is_founder(line.speaker):
            return None
        text = line.text
        fact = self.best_fact(text, given)
        named = matches_any(text, self.competitors)
        for topic, phrases in OBJECTIONS.items():
            if (topic == "competitor" and named) or matches_any(text, phrases):
                key = f"objection:{topic}"
                if key not in given:
                    detail = named[0] if named else ""
                    lean = fact.text if fact else ""
                    return Trigger(kind="argument", topic=key, said=text, fact=lean, detail=detail)
                # Raised again after its argument: ask back, rather than repeat or say nothing.
                if f"concern:{topic}" not in given:
                    return Trigger(kind="question", topic=f"concern:{topic}", said=text)
        subject = concern_in(text)
        if subject is not None:
            if fact is not None:  # the company's memory holds an answer: that is the argument
                return Trigger(kind="fact", topic=f"fact:{fact.id}", said=text, fact=fact.text)
            # No stored argument answers this concern: a question back to ask about it.
            digest = hashlib.sha256(fold(subject or text).encode()).hexdigest()[:8]
            key = f"concern:{digest}"
            if key not in given:
                return Trigger(kind="question", topic=key, said=text, detail=subject)
        if is_question(text):
            if fact is not None:
                return Trigger(kind="fact", topic=f"fact:{fact.id}", said=text, fact=fact.text)
            digest = hashlib.sha256(fold(text).encode()).hexdigest()[:8]
            return Trigger(kind="question", topic=f"question:{digest}", said=text)
        if fact is not None:
            return Trigger(kind="fact", topic=f"fact:{fact.id}", said=text, fact=fact.text)
        for word in self.keywords:
            key = f"profile:{word}"
            if key not in given and word in content_words(text):
                return Trigger(kind="argument", topic=key, said=text, detail=word)
        return None

    def on_ask(self, focus: str, recent: list[Line]) -> Trigger:
        """What to say when the founder asks: about ``focus``, else the latest trigger."""
        if focus:
            found = self.detect(Line(speaker="", text=focus), set())
            if found is not None:
                return found.model_copy(update={"asked": True, "detail": found.detail or focus})
        for line in reversed(recent[-_ASK_LOOKBACK:]):
            found = self.detect(line, set())
            if found is not None:
                return found.model_copy(update={"asked": True})
        said = recent[-1].text if recent else focus
        return Trigger(kind="question", topic="ask", said=said, detail=focus, asked=True)

    def best_fact(self, text: str, given: set[str]) -> Fact | None:
        """The remembered fact sharing the most topic words with ``text``, if enough."""
        said = set(content_words(text))
        best: tuple[int, float, Fact] | None = None
        for fact, wanted in self._facts:
            if f"fact:{fact.id}" in given:
                continue
            shared = said & wanted
            strong = len(shared) >= 2 or any(len(w) >= 5 and w not in _WEAK for w in shared)
            if strong and (best is None or (len(shared), fact.at) > best[:2]):
                best = (len(shared), fact.at, fact)
        return best[2] if best else None
