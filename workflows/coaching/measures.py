"""The figures of a talk: pace over time, pauses, fillers, repetitions, sentences, speakers.

Plain counting over a ``Transcript``. A word is a whitespace-separated run holding a
letter or digit ("l'idée" is one word, "—" none), so counts can be checked by hand.
Pace needs times: a plain-text transcript gets ``wpm=None`` and the report says so.
Without word timestamps a cue's words are spread evenly over the cue, and pauses are
only seen between cues.
"""

from __future__ import annotations

import re
import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict

from equipage.errors import InputRejected
from equipage.text import words as tokens  # folded, as the lexicon stores them
from workflows.coaching.fillers import (
    FillerCount,
    Repeat,
    Token,
    count_fillers,
    repeated_phrases,
    repeated_words,
)
from workflows.coaching.lexicon import COMFORTABLE_WPM, Language
from workflows.coaching.transcript import Format, Segment, Transcript

__all__ = ["Measures", "Monologue", "Pause", "SpeakerShare", "Window", "measure", "spoken_words"]

PAUSE_SECONDS = 1.5
LONG_SENTENCE = 30  # words
UNMARKED = "(unmarked)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Model):
    start: float  # seconds from the start of the recording
    end: float
    words: int
    wpm: float


class Pause(_Model):
    start: float
    seconds: float
    before: str  # the last words said before the silence


class SpeakerShare(_Model):
    speaker: str
    words: int
    word_share: float  # 0..1
    seconds: float | None
    time_share: float | None
    turns: int


class Monologue(_Model):
    speaker: str
    start: float | None
    seconds: float | None
    words: int


class Measures(_Model):
    language: Language
    format: Format
    focus: str | None  # the one speaker measured, when asked
    words: int
    distinct_words: int
    timed: bool
    word_timed: bool
    start: float | None
    duration_seconds: float | None
    wpm: float | None
    comfortable_wpm: tuple[int, int]
    window_seconds: float
    windows: tuple[Window, ...]
    pause_threshold: float = PAUSE_SECONDS
    pauses_between: Literal["words", "cues", "none"]
    pauses: tuple[Pause, ...]
    fillers: tuple[FillerCount, ...]
    filler_total: int
    fillers_per_100_words: float
    repeated_words: tuple[Repeat, ...]
    repeated_phrases: tuple[Repeat, ...]
    punctuated: bool
    sentences: int | None
    sentence_mean: float | None
    sentence_median: float | None
    sentence_max: int | None
    long_sentences: int | None
    speakers: tuple[SpeakerShare, ...]
    longest_monologue: Monologue | None


def spoken_words(text: str) -> list[str]:
    """The words of ``text`` as counted everywhere: whitespace runs with a letter or digit."""
    return [w for w in text.split() if any(c.isalnum() for c in w)]


# French typography sets "?", "!", ":" and ";" apart ("Ah bon ?"): glued back to the word,
# they still end its chunk.
_FRENCH_SPACED = re.compile(r"\s+([?!:;»]+)(?=\s|$)")


def _timeline(segments: list[Segment]) -> list[tuple[str, float | None, str | None]]:
    """Every word with its time: its own timestamps, else spread over its cue."""
    out: list[tuple[str, float | None, str | None]] = []
    for seg in segments:
        if seg.words:
            for word in seg.words:
                for w in spoken_words(word.text):
                    out.append((w, (word.start + word.end) / 2, word.speaker or seg.speaker))
            continue
        words = spoken_words(_FRENCH_SPACED.sub(r"\1", seg.text))
        for i, w in enumerate(words):
            at = None
            if seg.start is not None and seg.end is not None:
                at = seg.start + (i + 0.5) / len(words) * max(seg.end - seg.start, 0.0)
            out.append((w, at, seg.speaker))
    return out


_CHUNK_END = re.compile(r"[,.;:!?…]$")


def _tokens(
    timeline: list[tuple[str, float | None, str | None]], cue_ends: set[int]
) -> list[Token]:
    out: list[Token] = []
    chunk = 0
    pending: list[Token] = []
    for index, (word, at, speaker) in enumerate(timeline):
        pending.extend(Token(t, at, speaker, chunk) for t in tokens(word))
        if _CHUNK_END.search(word) or index in cue_ends:
            question = word.endswith("?")
            out.extend(Token(t.text, t.time, t.speaker, t.chunk, question) for t in pending)
            pending = []
            chunk += 1
    out.extend(pending)
    return out


def _windows(times: list[float], start: float, end: float, size: float) -> list[Window]:
    edges: list[float] = []
    at = start
    while at < end:
        edges.append(at)
        at += size
    if len(edges) > 1 and end - edges[-1] < size / 2:
        edges.pop()  # a short last window joins the one before: no 30-wpm spike at the end
    windows = []
    for i, left in enumerate(edges):
        right = edges[i + 1] if i + 1 < len(edges) else end
        count = sum(left <= t < right or (right == end and t == end) for t in times)
        span = max(right - left, 1e-9)
        windows.append(Window(start=left, end=right, words=count, wpm=count * 60 / span))
    return windows


def _pauses(segments: list[Segment]) -> tuple[Literal["words", "cues", "none"], list[Pause]]:
    timed = [s for s in segments if s.start is not None and s.end is not None]
    if not timed:
        return "none", []
    if all(s.words for s in timed):
        items = [(w.start, w.end, w.text) for s in timed for w in s.words]
        kind: Literal["words", "cues"] = "words"
    else:
        items = [(s.start or 0.0, s.end or 0.0, s.text) for s in timed]
        kind = "cues"
    items.sort(key=lambda item: item[0])
    pauses: list[Pause] = []
    said: list[str] = []
    reached = items[0][1]
    for start, end, text in items:
        if start - reached > PAUSE_SECONDS:
            before = " ".join(said[-6:])
            pauses.append(Pause(start=reached, seconds=start - reached, before=before))
        said.extend(text.split())
        reached = max(reached, end)
    return kind, pauses


def _sentences(text: str) -> tuple[bool, list[int]]:
    ends = len(re.findall(r"[.!?…]+(?=\s|$)", text))
    total = len(spoken_words(text))
    # ASR output without punctuation reads as one endless sentence: do not measure it.
    if ends == 0 or total / ends > 80:
        return False, []
    parts = re.split(r"(?<=[.!?…])\s+", text)
    return True, [n for n in (len(spoken_words(p)) for p in parts) if n]


def _speakers(segments: list[Segment]) -> tuple[list[SpeakerShare], Monologue | None]:
    if not any(s.speaker for s in segments):
        return [], None
    words: dict[str, int] = {}
    seconds: dict[str, float] = {}
    turns: dict[str, int] = {}
    timed = all(s.start is not None and s.end is not None for s in segments)
    runs: list[Monologue] = []
    for seg in segments:
        who = seg.speaker or UNMARKED
        count = len(spoken_words(seg.text))
        words[who] = words.get(who, 0) + count
        span = (seg.end or 0.0) - (seg.start or 0.0) if timed else 0.0
        seconds[who] = seconds.get(who, 0.0) + max(span, 0.0)
        if runs and runs[-1].speaker == who:
            last = runs[-1]
            length = (seg.end or 0.0) - (last.start or 0.0) if timed else None
            runs[-1] = last.model_copy(update={"seconds": length, "words": last.words + count})
        else:
            turns[who] = turns.get(who, 0) + 1
            runs.append(
                Monologue(
                    speaker=who,
                    start=seg.start if timed else None,
                    seconds=max(span, 0.0) if timed else None,
                    words=count,
                )
            )
    total_words = sum(words.values()) or 1
    total_time = sum(seconds.values()) or 1.0
    shares = [
        SpeakerShare(
            speaker=who,
            words=words[who],
            word_share=words[who] / total_words,
            seconds=seconds[who] if timed else None,
            time_share=seconds[who] / total_time if timed else None,
            turns=turns[who],
        )
        for who in sorted(words, key=lambda w: -words[w])
    ]
    longest = max(runs, key=lambda r: (r.seconds or 0.0, r.words))
    return shares, longest


def measure(
    transcript: Transcript, *, window_seconds: float = 30.0, speaker: str | None = None
) -> Measures:
    """Every figure of the report; ``speaker`` narrows all but the speaker balance to one."""
    everyone = list(transcript.segments)
    segments = everyone
    if speaker:
        wanted = speaker.casefold().strip()
        segments = [s for s in everyone if (s.speaker or "").casefold() == wanted]
        if not segments:
            known = ", ".join(transcript.speakers) or "none are marked"
            raise InputRejected(
                f"no speaker {speaker!r} in this transcript (speakers: {known}); "
                "leave 'speaker' empty to measure everyone."
            )
    language = transcript.language
    timeline = _timeline(segments)
    cue_ends: set[int] = set()
    count = 0
    for seg in segments:
        if seg.words:
            count += sum(len(spoken_words(w.text)) for w in seg.words)
        else:
            count += len(spoken_words(seg.text))
        cue_ends.add(count - 1)
    stream = _tokens(timeline, cue_ends)
    times = [t for _, t, _ in timeline if t is not None]
    timed = all(s.start is not None and s.end is not None for s in segments)
    start = min(s.start for s in segments if s.start is not None) if timed else None
    end = max(s.end for s in segments if s.end is not None) if timed else None
    duration = (end - start) if start is not None and end is not None else None
    total = len(timeline)
    wpm = total * 60 / duration if duration else None
    windows = _windows(times, start, end, window_seconds) if start is not None and end else []
    kind, pauses = _pauses(segments)
    fillers = count_fillers(stream, language)
    filler_total = sum(f.count for f in fillers)
    punctuated, lengths = _sentences(" ".join(s.text for s in segments))
    shares, longest = _speakers(everyone)
    return Measures(
        language=language,
        format=transcript.format,
        focus=segments[0].speaker if speaker else None,
        words=total,
        distinct_words=len({t.text for t in stream}),
        timed=timed,
        word_timed=all(s.words for s in segments),
        start=start,
        duration_seconds=duration,
        wpm=wpm,
        comfortable_wpm=COMFORTABLE_WPM[language],
        window_seconds=window_seconds,
        windows=tuple(windows),
        pauses_between=kind,
        pauses=tuple(pauses),
        fillers=tuple(fillers),
        filler_total=filler_total,
        fillers_per_100_words=filler_total * 100 / total if total else 0.0,
        repeated_words=tuple(repeated_words(stream, language)),
        repeated_phrases=tuple(repeated_phrases(stream, language)),
        punctuated=punctuated,
        sentences=len(lengths) if punctuated else None,
        sentence_mean=statistics.fmean(lengths) if lengths else None,
        sentence_median=float(statistics.median(lengths)) if lengths else None,
        sentence_max=max(lengths) if lengths else None,
        long_sentences=sum(n > LONG_SENTENCE for n in lengths) if punctuated else None,
        speakers=tuple(shares),
        longest_monologue=longest,
    )
