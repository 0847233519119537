"""The shape of a transcript, whatever it came as: segments, their words, their times.

Apart from ``transcript`` (which reads one) so that the parsers, which build these, and
``read_transcript``, which calls the parsers, do not import each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.language import Language

__all__ = ["FORMATS_READ", "Format", "Segment", "Transcript", "Word"]

Format = Literal["srt", "vtt", "json", "text"]

FORMATS_READ = (
    "SubRip (.srt), WebVTT (.vtt), word-timestamp JSON (Whisper segments[].words[], "
    "a flat list of {word, start, end}, or Deepgram results) and plain text"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Word(_Model):
    """One spoken word with its own timestamps (from word-level ASR output)."""

    text: str
    start: float
    end: float
    speaker: str | None = None


class Segment(_Model):
    """A cue, an ASR segment or a paragraph; times are None when the source has none."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    words: tuple[Word, ...] = ()


class Transcript(_Model):
    format: Format
    language: Language
    segments: tuple[Segment, ...]

    @property
    def timed(self) -> bool:
        """True when segments carry start and end times, so pace can be measured."""
        return bool(self.segments) and all(
            s.start is not None and s.end is not None for s in self.segments
        )

    @property
    def word_timed(self) -> bool:
        """True when every segment carries its words with their own timestamps."""
        return bool(self.segments) and all(s.words for s in self.segments)

    @property
    def speakers(self) -> list[str]:
        """Speakers in order of first appearance."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            if segment.speaker:
                seen.setdefault(segment.speaker, None)
        return list(seen)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)
