"""A call's audio cut into overlapping windows, each a file a transcriber takes as it is.

Audio arrives in chunks of any size: raw 16-bit mono PCM at the declared rate, a WAV file
(its header says the rate) or Ogg/Opus pages. What it is, the first bytes say. A window
of ``window`` seconds is ready as soon as its last sample arrives; the next one starts
``overlap`` seconds before the end of this one, so a word cut at the edge is heard whole
in one of the two. The total heard is capped (``max_seconds``), and one chunk may not
hold more than a window: both are refused in the listener's language.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal

from workflows.live_assist.audio_settings import (
    MAX_WINDOW,
    AudioSettings,
    too_long,
    unreadable,
    window_too_big,
)
from workflows.live_assist.ogg import OPUS_RATE, Page, split_pages, standalone

__all__ = ["Window", "Windower", "wav_file"]

Format = Literal["pcm", "ogg"]


@dataclass(frozen=True)
class Window:
    """Audio to transcribe, and where it sits in the call, in seconds."""

    index: int
    audio: bytes
    filename: str
    mime: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def wav_file(pcm: bytes, rate: int) -> bytes:
    """16-bit mono ``pcm`` at ``rate`` as a WAV file."""
    head = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", len(pcm),
    )  # fmt: skip
    return head + pcm


@dataclass
class Windower:
    """Takes chunks of one audio stream; hands back the windows each completes."""

    settings: AudioSettings
    language: str | None = None
    format: Format | None = None
    rate: int = 0
    heard: float = 0.0  # seconds of audio taken so far
    _buffer: bytearray = field(default_factory=bytearray)
    _start: float = 0.0  # where the buffer's first sample sits in the call
    _headers: list[Page] = field(default_factory=list)
    _pages: list[Page] = field(default_factory=list)
    _base: int = 0  # granule before the first page kept
    _count: int = 0

    def take(self, chunk: bytes) -> list[Window]:
        """Add ``chunk``; the windows it completes (InputRejected past a limit)."""
        if self.format is None:
            self._buffer += chunk
            if not self._sniff():
                return []
            chunk, self._buffer = bytes(self._buffer), bytearray()
        if self.format == "ogg":
            return self._take_ogg(chunk)
        seconds = len(chunk) / (2 * self.rate)
        if seconds > MAX_WINDOW:
            raise window_too_big(seconds, self.language)
        self._count_heard(seconds)
        self._buffer += chunk
        size = int(self.settings.window * self.rate) * 2
        step = int((self.settings.window - self.settings.overlap) * self.rate) * 2
        ready = []
        while len(self._buffer) >= size:
            ready.append(self._pcm_window(bytes(self._buffer[:size])))
            del self._buffer[:step]
            self._start += step / (2 * self.rate)
        return ready

    def flush(self) -> list[Window]:
        """The last, shorter window, when the stream ends with audio not heard yet."""
        if self.format == "ogg":
            fresh = [p for p in self._pages if p.granule - self._base > 0]
            if self._pages and self._end_granule() - self._base > self._overlap_samples():
                return [self._ogg_window()] if fresh else []
            return []
        overlap = int(self.settings.overlap * self.rate) * 2 if self._count else 0
        if self.format == "pcm" and len(self._buffer) > overlap:
            return [self._pcm_window(bytes(self._buffer))]
        return []

    def _sniff(self) -> bool:
        """Decide the format once the first bytes are in; False while too few are."""
        head = bytes(self._buffer[:44])
        if head.startswith(b"OggS"):
            self.format = "ogg"
            return True
        if not head.startswith(b"RIFF"):
            self.format, self.rate = "pcm", self.settings.sample_rate
            return True
        if len(head) < 44:
            return False
        data = self._buffer.find(b"data", 12)
        if data < 0:
            return len(self._buffer) < 4096 or self._refuse("a WAV without a data chunk")
        channels, rate = struct.unpack_from("<HI", self._buffer, 22)
        bits = struct.unpack_from("<H", self._buffer, 34)[0]
        if channels != 1 or bits != 16 or not 8_000 <= rate <= 48_000:
            self._refuse(f"WAV of {channels} channel(s), {bits} bits, {rate} Hz")
        self.format, self.rate = "pcm", rate
        del self._buffer[: data + 8]
        return True

    def _refuse(self, what: str) -> bool:
        raise unreadable(what, self.language)

    def _count_heard(self, seconds: float) -> None:
        self.heard += seconds
        if self.heard > self.settings.max_seconds:
            raise too_long(self.settings.max_seconds, self.language)

    def _pcm_window(self, pcm: bytes) -> Window:
        self._count += 1
        end = self._start + len(pcm) / (2 * self.rate)
        audio = wav_file(pcm, self.rate)
        return Window(self._count - 1, audio, f"call-{self._count}.wav", "audio/wav",
                      self._start, end)  # fmt: skip

    def _take_ogg(self, chunk: bytes) -> list[Window]:
        self._buffer += chunk
        pages, rest, problem = split_pages(bytes(self._buffer))
        if problem is not None:
            self._refuse(problem)
        if len(rest) > 256 * 1024:  # no Ogg page is that large: not a stream of pages
            self._refuse("an Ogg page over 256 KB")
        self._buffer = bytearray(rest)
        ready = []
        for page in pages:
            if page.is_header and not self._pages:
                self._headers.append(page)
                continue
            before = self._end_granule()
            self._pages.append(page)
            if page.granule > before:
                seconds = (page.granule - before) / OPUS_RATE
                if seconds > MAX_WINDOW:
                    raise window_too_big(seconds, self.language)
                self._count_heard(seconds)
            if self._end_granule() - self._base >= self.settings.window * OPUS_RATE:
                ready.append(self._ogg_window())
                self._slide()
        return ready

    def _end_granule(self) -> int:
        return max((p.granule for p in self._pages), default=self._base)

    def _overlap_samples(self) -> int:
        return int(self.settings.overlap * OPUS_RATE) if self._count else 0

    def _ogg_window(self) -> Window:
        self._count += 1
        audio = standalone(self._headers, self._pages, self._base)
        start, end = self._base / OPUS_RATE, self._end_granule() / OPUS_RATE
        return Window(self._count - 1, audio, f"call-{self._count}.ogg", "audio/ogg", start, end)

    def _slide(self) -> None:
        """Keep the pages of the last ``overlap`` seconds, starting on a whole packet."""
        keep_from = self._end_granule() - int(self.settings.overlap * OPUS_RATE)
        cut = len(self._pages)
        while cut > 0 and self._granule_before(cut) > keep_from:
            cut -= 1
        while 0 < cut < len(self._pages) and self._pages[cut].continued:
            cut -= 1
        if cut == 0 and self._pages:
            cut = len(self._pages)  # one page holds all the overlap: start afresh after it
        self._base = self._granule_before(cut)
        self._pages = self._pages[cut:]

    def _granule_before(self, index: int) -> int:
        granules = [p.granule for p in self._pages[:index] if p.granule > 0]
        return granules[-1] if granules else self._base
