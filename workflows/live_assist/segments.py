"""The segment stream: the contract between whatever transcribes a call and the assistant.

One Redis stream per live session, ``keys.live_segments(session)``. Any program may
XADD to it; every field is an optional UTF-8 string:

``kind``     ``speech`` (default), ``ask`` (the founder wants a suggestion now) or ``end``
``text``     what was said; for ``ask``, an optional focus ("prix", "pricing")
``speaker``  who said it ("Client", "me"...); the founder's labels are in the input
``start``    seconds from the start of the conversation (float), when known
``end``      idem, end of the segment
``id``       the producer's id for the segment: a segment sent twice with the same id
             counts once (a feeder that retries after a lost ack)
``lang``     ``fr`` or ``en`` when the transcriber knows it

Lines (stdin, WebSocket text) read ``speaker: text`` or plain text; ``/suggest [focus]``
asks for a suggestion and ``/end`` ends the session. SRT and WebVTT piped in as they are
work too: cue numbers, timings and the header are skipped, ``<v Name>`` tags name the
speaker.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.typing import EncodableT, FieldT

from equipage.errors import InputRejected
from equipage.keys import Keys

__all__ = ["MAXLEN", "Segment", "add_segment", "from_entry", "parse_line", "parse_message"]

#: Segments kept per session stream: an hour and more of speech at 5 segments a second.
MAXLEN = 20_000
_SPEAKER = re.compile(r"^\s*([^:\n]{1,40}?)\s*:\s+(\S.*)$", re.DOTALL)
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+([^>]{1,80})>(.*?)(?:</v>)?$", re.DOTALL)
_CUE_TIMING = re.compile(r"^(\d+:)?\d+:\d+[.,]\d+\s+-->\s+")
_MAX_TEXT = 4000


class Segment(BaseModel):
    """One piece of the conversation, as a producer sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["speech", "ask", "end"] = "speech"
    text: str = Field("", max_length=_MAX_TEXT)
    speaker: str = Field("", max_length=80)
    start: float | None = None
    end: float | None = None
    id: str = Field("", max_length=200)
    lang: Literal["", "fr", "en"] = ""

    def fields(self) -> dict[str, str]:
        """The stream entry's fields; unset ones are left out."""
        out = {"kind": self.kind, "text": self.text, "speaker": self.speaker, "id": self.id}
        out["lang"] = self.lang
        if self.start is not None:
            out["start"] = repr(self.start)
        if self.end is not None:
            out["end"] = repr(self.end)
        return {k: v for k, v in out.items() if v != "" or k == "kind"}


class Entry(BaseModel):
    """A segment read back from the stream, with the stream's entry id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_id: str
    segment: Segment

    @property
    def at_ms(self) -> int:
        """When the segment reached Redis (the entry id's clock), in unix milliseconds."""
        return int(self.entry_id.partition("-")[0])


async def add_segment(redis: aioredis.Redis, keys: Keys, session: str, segment: Segment) -> str:
    """XADD one segment to the session's stream; returns the entry id."""
    fields: dict[FieldT, EncodableT] = {k: v for k, v in segment.fields().items()}
    entry = await redis.xadd(
        keys.live_segments(session),
        fields,
        maxlen=MAXLEN,
        approximate=True,
    )
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def from_entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
    """A stream entry as a Segment; a malformed one becomes plain speech of its text."""
    text_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    data = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
    try:
        segment = Segment.model_validate(
            {k: v for k, v in data.items() if k in Segment.model_fields}
        )
    except ValidationError:
        # A producer's mistake must not end the session: keep what was said.
        segment = Segment(text=data.get("text", "")[:_MAX_TEXT])
    return Entry(entry_id=text_id, segment=segment)


def parse_line(line: str) -> Segment | None:
    """A typed or piped line as a segment; None for a blank line."""
    line = line.strip()
    if not line or line.isdigit() or line == "WEBVTT" or _CUE_TIMING.match(line):
        return None  # blank, or the numbering, header and timings of SRT/WebVTT cues
    if voice := _VOICE.match(line):
        text = voice.group(2).strip()
        return Segment(speaker=voice.group(1).strip(), text=text[:_MAX_TEXT]) if text else None
    command, _, rest = line.partition(" ")
    if command.lower() in ("/suggest", "/suggestion", "/aide"):
        return Segment(kind="ask", text=rest.strip()[:_MAX_TEXT])
    if command.lower() in ("/end", "/fin"):
        return Segment(kind="end")
    match = _SPEAKER.match(line)
    if match and "//" not in match.group(1):
        return Segment(speaker=match.group(1), text=match.group(2)[:_MAX_TEXT])
    return Segment(text=line[:_MAX_TEXT])


def parse_message(message: str | bytes) -> Segment | None:
    """A WebSocket message: a JSON object with the stream's fields, or a plain line."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    if not text.lstrip().startswith("{"):
        return parse_line(text)
    try:
        data = json.loads(text)
        return Segment.model_validate(data)
    except (json.JSONDecodeError, ValidationError) as err:
        raise InputRejected(
            "a segment must be a JSON object with 'text' and optional 'speaker', 'start', "
            "'end', 'id', 'kind' (speech, ask or end), or a plain line of text; "
            f"this one was not: {str(err).splitlines()[0]}"
        ) from err
