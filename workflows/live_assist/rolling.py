"""The rolling context of a live conversation: recent lines verbatim, older ones summed up.

Memory stays bounded however long the call: ``recent`` keeps the last N lines, and a
line that falls out only adds its words to ``topics`` (capped) and its objections to
``objections``. The whole thing is JSON, stored with the session's cursor, so a worker
that takes over a session resumes with the same context.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from equipage.language import language_of
from workflows.live_assist.vocabulary import content_words

__all__ = ["Line", "Rolling"]

_MAX_TOPICS = 40
_MAX_OBJECTIONS = 20


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: str
    text: str


class Rolling(BaseModel):
    """Recent lines, topics and objections of the conversation so far."""

    model_config = ConfigDict(extra="forbid")

    recent: list[Line] = Field(default_factory=list)
    topics: dict[str, int] = Field(default_factory=dict)
    objections: list[str] = Field(default_factory=list)
    lines: int = 0
    french: int = 0  # lines that read as French
    english: int = 0  # lines that read as English

    def add(self, line: Line, *, keep: int) -> None:
        self.recent.append(line)
        self.lines += 1
        lang = language_of(line.text, spoken=True)
        self.french += lang == "fr"
        self.english += lang == "en"
        while len(self.recent) > keep:
            self._fold(self.recent.pop(0))

    def objected(self, topic: str) -> None:
        if topic not in self.objections:
            self.objections = [*self.objections, topic][-_MAX_OBJECTIONS:]

    def language(self, default: str) -> str:
        """The language most lines so far were in; ``default`` until one leads."""
        if self.french == self.english:
            return default
        return "fr" if self.french > self.english else "en"

    def transcript(self) -> str:
        """The recent lines, one per line, for the model."""
        return "\n".join(f"{ln.speaker or '?'}: {ln.text}" for ln in self.recent)

    def summary(self) -> str:
        """One line on what was said before the recent lines."""
        parts = []
        if self.topics:
            top = sorted(self.topics, key=lambda w: (-self.topics[w], w))[:12]
            parts.append("earlier topics: " + ", ".join(top))
        if self.objections:
            parts.append("objections raised: " + ", ".join(self.objections))
        return "; ".join(parts)

    def _fold(self, line: Line) -> None:
        for word in content_words(line.text):
            self.topics[word] = self.topics.get(word, 0) + 1
        if len(self.topics) > _MAX_TOPICS:
            kept = sorted(self.topics.items(), key=lambda kv: -kv[1])[:_MAX_TOPICS]
            self.topics = dict(kept)
