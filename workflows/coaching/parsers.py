"""Parsers from each transcript format to ``Segment`` lists: SRT, WebVTT, JSON, plain text.

Tolerant of what real files carry (BOM, CRLF, a missing last blank line, multi-line cues,
NOTE blocks, cue settings, voice tags, HTML entities, Teams' ``0:0:1.5`` times) and
strict about what cannot be used: a file with no readable cue raises InputRejected.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from equipage.errors import InputRejected
from workflows.coaching.shape import FORMATS_READ, Format, Segment, Word

__all__ = ["PARSERS", "parse_json", "parse_srt", "parse_text", "parse_vtt"]

_BLOCKS = re.compile(r"\n[ \t]*\n")
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
# "[SPEAKER_01]: text", "SPEAKER_00: text", "Alice Martin: text", "Dr. Who : texte"
_PREFIX = re.compile(
    r"^\s*(?:\[(?P<bracketed>[^\]\n]{1,40})\]|(?P<plain>[A-ZÀ-Ý][\w.'’ -]{0,38}?))\s*:\s+(?=\S)"
)
_NUMBERED = re.compile(r"(?i)speaker[ _]?\d+")
_CAPS_HEADER = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý' -]{2,40}$")


def _seconds(groups: Iterable[str | None]) -> float:
    hours, minutes, seconds, millis = groups
    fraction = int((millis or "0").ljust(3, "0")) / 1000
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0) + fraction


def _timing(line: str) -> tuple[float, float] | None:
    match = _TIMING.match(line)
    if not match:
        return None
    groups = match.groups()
    return _seconds(groups[:4]), _seconds(groups[4:])


def _clean(text: str) -> str:
    text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())


def _split_speaker(text: str) -> tuple[str | None, str]:
    """A "Name: text" prefix, when the line starts with one."""
    match = _PREFIX.match(text)
    if not match:
        return None, text
    name = (match["bracketed"] or match["plain"] or "").strip()
    if len(name.split()) > 4 or not name:
        return None, text
    return name, text[match.end() :]


def _keep_real_speakers(segments: list[Segment]) -> list[Segment]:
    """Keep "Name: ..." prefixes only in a dialogue, where some name comes back.

    In a monologue, a lone "Note: ..." or "Conclusion: ..." is text, not a speaker.
    """
    counts: dict[str, int] = {}
    for segment in segments:
        if segment.speaker:
            counts[segment.speaker] = counts.get(segment.speaker, 0) + 1
    if any(n >= 2 for n in counts.values()):
        return segments
    kept = []
    for segment in segments:
        name = segment.speaker
        if name and not _NUMBERED.fullmatch(name):
            text = f"{name}: {segment.text}"
            segment = segment.model_copy(update={"speaker": None, "text": text})
        kept.append(segment)
    return kept


def _refuse(fmt: str, why: str) -> InputRejected:
    return InputRejected(f"this is not a readable {fmt} transcript: {why}. I read {FORMATS_READ}.")


def parse_srt(content: str) -> list[Segment]:
    segments: list[Segment] = []
    for block in _BLOCKS.split(content.strip()):
        lines = [line for line in block.split("\n") if line.strip()]
        at = next((i for i, line in enumerate(lines[:3]) if "-->" in line), None)
        if at is None:
            continue
        times = _timing(lines[at])
        if times is None:
            continue
        speaker, text = _split_speaker(_clean(" ".join(lines[at + 1 :])))
        segments.append(Segment(text=text, start=times[0], end=times[1], speaker=speaker))
    if not segments:
        raise _refuse("SRT", "no cue with a '00:00:01,000 --> 00:00:02,000' timing line")
    return _keep_real_speakers(segments)


def parse_vtt(content: str) -> list[Segment]:
    segments: list[Segment] = []
    blocks = _BLOCKS.split(content.strip())
    if blocks and blocks[0].lstrip().startswith("WEBVTT") and "-->" not in blocks[0]:
        blocks = blocks[1:]  # the header and its metadata lines
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines or lines[0].startswith(("NOTE", "STYLE", "REGION", "WEBVTT")):
            continue
        at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if at is None:
            continue
        times = _timing(lines[at])
        if times is None:
            continue
        raw = " ".join(lines[at + 1 :])
        voice = _VOICE.search(raw)
        speaker = _clean(voice[1]) if voice else None
        text = _clean(raw)
        if speaker is None:
            speaker, text = _split_speaker(text)
        segments.append(Segment(text=text, start=times[0], end=times[1], speaker=speaker))
    if not segments:
        raise _refuse("WebVTT", "no cue with a '00:01.000 --> 00:02.000' timing line")
    return segments if any(_VOICE.search(b) for b in blocks) else _keep_real_speakers(segments)


def _number(item: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = item.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _speaker(value: object) -> str | None:
    if value is None or value == "":
        return None
    return f"Speaker {value}" if isinstance(value, int) else str(value)


def _words(items: list[Any]) -> list[Word]:
    """Words from ASR items; Whisper's sub-word pieces ("'esquelet") join their word."""
    raw: list[tuple[str, float, float, str | None]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = item.get("punctuated_word") or item.get("word") or item.get("text")
        start = _number(item, "start", "start_time", "startTime")
        end = _number(item, "end", "end_time", "endTime")
        if isinstance(text, str) and text.strip() and start is not None and end is not None:
            raw.append((text, start, end, _speaker(item.get("speaker"))))
    # Whisper marks a new word with a leading space; a piece without one continues it.
    spaced = sum(t.startswith(" ") for t, *_ in raw) >= len(raw) / 2
    words: list[Word] = []
    for text, start, end, speaker in raw:
        if spaced and words and not text.startswith(" "):
            last = words[-1]
            words[-1] = last.model_copy(update={"text": last.text + text.strip(), "end": end})
            continue
        words.append(Word(text=text.strip(), start=start, end=end, speaker=speaker))
    return words


def _utterances(words: list[Word]) -> list[Segment]:
    """Segments from a flat word list: a new one at each speaker change or 1.5 s gap."""
    segments: list[Segment] = []
    run: list[Word] = []
    for word in words:
        if run and (word.speaker != run[-1].speaker or word.start - run[-1].end > 1.5):
            segments.append(_segment_of(run))
            run = []
        run.append(word)
    if run:
        segments.append(_segment_of(run))
    return segments


def _segment_of(run: list[Word]) -> Segment:
    return Segment(
        text=" ".join(w.text for w in run),
        start=run[0].start,
        end=run[-1].end,
        speaker=run[0].speaker,
        words=tuple(run),
    )


def _whisper_segments(items: list[Any]) -> list[Segment]:
    segments = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            continue
        words = _words(item["words"]) if isinstance(item.get("words"), list) else []
        speaker = _speaker(item.get("speaker")) or (words[0].speaker if words else None)
        text = _clean(item.get("text") or " ".join(w.text for w in words))
        segments.append(
            Segment(
                text=text,
                start=_number(item, "start", "start_time", "startTime"),
                end=_number(item, "end", "end_time", "endTime"),
                speaker=speaker,
                words=tuple(words),
            )
        )
    return segments


def parse_json(content: str) -> list[Segment]:
    try:
        data = json.loads(content)
    except ValueError as err:
        raise _refuse("JSON", f"it does not parse ({err})") from err
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        segments = _whisper_segments(data["segments"])
    elif isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
        is_words = any("word" in i for i in data[:5])
        segments = _utterances(_words(data)) if is_words else _whisper_segments(data)
    elif isinstance(data, dict) and isinstance(data.get("words"), list):
        segments = _utterances(_words(data["words"]))
    elif isinstance(data, dict) and isinstance(data.get("results"), dict):
        try:  # Deepgram: results.channels[0].alternatives[0].words
            best = data["results"]["channels"][0]["alternatives"][0]
        except (KeyError, IndexError, TypeError) as err:
            raise _refuse("JSON", "its 'results' hold no channels[].alternatives[]") from err
        segments = _utterances(_words(best.get("words") or []))
    else:
        segments = []
    if not segments:
        raise _refuse(
            "JSON", "found no segments[] with start/end/text and no list of {word, start, end}"
        )
    return segments


def parse_text(content: str) -> list[Segment]:
    """Lines of text; "Name: text" or an upper-case name line marks a speaker.

    A speaker holds the floor until the next name. Names count only in a dialogue, where
    some name prefixes two lines or more: a lone "Note: ..." in a monologue stays text.
    """
    lines = [" ".join(line.split()) for line in content.split("\n")]
    lines = [line for line in lines if line]
    prefixes: dict[str, int] = {}
    for line in lines:
        named, _ = _split_speaker(line)
        if named:
            prefixes[named] = prefixes.get(named, 0) + 1
    dialogue = any(n >= 2 for n in prefixes.values())
    segments: list[Segment] = []
    speaker: str | None = None
    for line in lines:
        if _CAPS_HEADER.match(line) and len(line.split()) <= 4:
            speaker = line.title()
            continue
        named, text = _split_speaker(line)
        if named and (dialogue or _NUMBERED.fullmatch(named)):
            speaker = named
        else:
            text = line
        segments.append(Segment(text=html.unescape(text), speaker=speaker))
    return segments


PARSERS: dict[Format, Callable[[str], list[Segment]]] = {
    "srt": parse_srt,
    "vtt": parse_vtt,
    "json": parse_json,
    "text": parse_text,
}
