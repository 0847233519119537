"""One normalized transcript, whatever it came as: SRT, WebVTT, word-timestamp JSON or text.

``read_transcript`` sniffs the format from the content (the file extension is only a
hint), calls the parser in ``parsers`` and detects the language. Every measure reads
``Transcript`` and nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from equipage.errors import InputRejected
from equipage.inputs import check_size
from equipage.language import Language, detect
from workflows.coaching import parsers
from workflows.coaching.shape import FORMATS_READ, Format, Segment, Transcript, Word

__all__ = [
    "FORMATS_READ",
    "MAX_BYTES",
    "TOO_LARGE",
    "Format",
    "Segment",
    "Transcript",
    "Word",
    "load_text",
    "read_transcript",
    "sniff_format",
]

#: Default largest transcript read (``workflows.coaching.max_bytes``): three hours of
#: speech are about 0.2 MB as text, 0.6 MB as SRT, 2 MB as word-timestamp JSON; parsing
#: takes some 60 times the file's size in memory, so a 15 MB file took a worker's 880 MB.
MAX_BYTES = 4 * 1024 * 1024
TOO_LARGE = "send a shorter extract, or the SRT/VTT export rather than raw ASR JSON"


# SRT puts a comma before the milliseconds; WebVTT a dot (and may omit the hours).
_SRT_TIME = re.compile(r"\d+:\d{2}:\d{2},\d{1,3}\s*-->")


def sniff_format(content: str, hint: str = "") -> Format:
    """The format the content is in; ``hint`` (a file name) only breaks ties."""
    head = content.lstrip("\ufeff \t\r\n")[:4000]
    if head.startswith("WEBVTT"):
        return "vtt"
    if head[:1] in "[{":
        try:
            json.loads(content)
        except ValueError:
            pass
        else:
            return "json"
    if "-->" in head:
        if _SRT_TIME.search(head):
            return "srt"
        return "srt" if hint.lower().endswith(".srt") else "vtt"
    return "text"


def load_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A transcript file's text (UTF-8, or Latin-1 as old subtitle tools write); one over
    ``max_bytes`` is refused before it is read."""
    try:
        path.stat()
    except OSError as err:
        raise InputRejected(
            f"cannot read the transcript {path}: {err.strerror or err}. "
            f"Check the path; I read {FORMATS_READ}."
        ) from err
    check_size("coaching", "transcript", path, max_bytes, instead=TOO_LARGE)
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputRejected(
            f"{path.name} is a binary file (audio, video or a document), not a transcript; "
            f"send {FORMATS_READ}."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_transcript(
    content: str,
    *,
    fmt: Format | Literal["auto"] = "auto",
    language: Language | Literal["auto"] = "auto",
    hint: str = "",
) -> Transcript:
    """Parse ``content`` into a Transcript, or raise InputRejected naming what is read."""
    content = content.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not content.strip():
        raise InputRejected(f"the transcript is empty; send {FORMATS_READ}.")
    found: Format = sniff_format(content, hint) if fmt == "auto" else fmt
    segments = parsers.PARSERS[found](content)
    if not any(s.text.strip() for s in segments):
        raise InputRejected(
            f"no speech found in this {found} transcript (no cue has any text); "
            f"I read {FORMATS_READ}."
        )
    text = " ".join(s.text for s in segments)
    lang: Language = detect(text, spoken=True) if language == "auto" else language
    return Transcript(format=found, language=lang, segments=tuple(segments))
