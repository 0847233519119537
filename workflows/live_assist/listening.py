"""Windows of a call's audio heard by the company's transcriber and put on the stream.

Each window goes to the same speech-to-text provider as voice notes (``speech`` in
company.yaml), one at a time and in order, so the words a window repeats of the one
before (its overlap) are known and dropped. What is left is cut into sentences, each a
segment of the configured speaker ("them" unless set), timed by its window, with an id
the stream's dedupe knows. Each window's minutes are held on the budget before, and
settled after, at the price voice notes are charged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import redis.asyncio as aioredis

from equipage.budget import Budget, Refusal
from equipage.company.speech import SpeechConfig
from equipage.errors import EquipageError
from equipage.keys import Keys
from equipage.llm.options import ProviderOptions
from equipage.llm.speech import SpeechToText, load_speech, minute_price
from equipage.text import fold
from workflows.live_assist.audio_settings import AudioSettings, no_speech, over_budget
from workflows.live_assist.segments import Segment, add_segment
from workflows.live_assist.windows import Window

__all__ = ["Ears", "Heard", "drop_repeated", "ears_for", "sentences"]

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_SEAM_WORDS = 12  # the most words an overlap of a second or two can repeat
_MAX_SEGMENT = 4000


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence's end mark."""
    return [s.strip()[:_MAX_SEGMENT] for s in _SENTENCE.split(text) if s.strip()]


def _word(word: str) -> str:
    return fold(word).strip(".,;:!?…«»\"'()")


def drop_repeated(before: list[str], text: str) -> str:
    """``text`` less its first words when they repeat the last words of ``before``."""
    words = text.split()
    said, new = [_word(w) for w in before[-_SEAM_WORDS:]], [_word(w) for w in words]
    for count in range(min(len(said), len(new), _SEAM_WORDS), 0, -1):
        if said[-count:] == new[:count]:
            return " ".join(words[count:])
    return text


@dataclass(frozen=True)
class Heard:
    """One window's result: the entries added, and when its audio was complete."""

    window: Window
    entries: tuple[str, ...]
    ready_at: float  # perf_counter when the window's last audio arrived
    added_at: float  # perf_counter when its last segment was on the stream


@dataclass
class Ears:
    """Transcribes a call's windows in order and XADDs what they said."""

    redis: aioredis.Redis
    keys: Keys
    session: str
    speech: SpeechToText
    settings: AudioSettings
    price: float = 0.0  # USD a minute of audio
    budget: Budget | None = None
    role: str = "ceo"
    hint: str | None = None  # speech.language
    language: str | None = None  # the listener's, for refusals
    timeout: float = 60.0
    on_heard: Callable[[Heard], None] | None = None
    _feed: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _said: list[str] = field(default_factory=list)

    async def hear(self, window: Window, ready_at: float | None = None) -> list[str]:
        """Transcribe ``window`` and add its sentences; their stream entry ids.

        A transcriber failure loses this window only (logged); a spent budget raises
        InputRejected, which ends the hearing.
        """
        ready = time.perf_counter() if ready_at is None else ready_at
        hold = await self._hold(window)
        try:
            heard = await asyncio.wait_for(
                self.speech.transcribe(
                    window.audio, filename=window.filename, mime=window.mime, language=self.hint
                ),
                self.timeout,
            )
        except (EquipageError, TimeoutError) as err:
            await self._settle(hold, 0.0)
            log.warning("live_assist: window %d not heard: %s", window.index, err)
            return []
        await self._settle(hold, self.price * window.seconds / 60)
        text = drop_repeated(self._said, heard.text) if window.index else heard.text
        self._said = (self._said + heard.text.split())[-_SEAM_WORDS:]
        lang: Literal["", "fr", "en"] = "fr" if heard.language == "fr" else ""
        lang = "en" if heard.language == "en" else lang
        entries = []
        for k, sentence in enumerate(sentences(text)):
            segment = Segment(
                text=sentence,
                speaker=self.settings.speaker,
                start=round(window.start, 3),
                end=round(window.end, 3),
                id=f"audio-{self._feed}-{window.index}-{k}",
                lang=lang,
            )
            entries.append(await add_segment(self.redis, self.keys, self.session, segment))
        if self.on_heard is not None:
            self.on_heard(Heard(window, tuple(entries), ready, time.perf_counter()))
        return entries

    async def _hold(self, window: Window) -> str | None:
        if self.budget is None or self.price <= 0:
            return None
        hold = await self.budget.reserve(self.role, self.price * window.seconds / 60)
        if isinstance(hold, Refusal):
            raise over_budget(hold.message(), self.language)
        return hold

    async def _settle(self, hold: str | None, cost: float) -> None:
        if self.budget is not None and hold is not None:
            await self.budget.settle(hold, self.role, cost, f"live:{self.session}")


def ears_for(
    speech: SpeechConfig | None,
    options: ProviderOptions,
    *,
    redis: aioredis.Redis,
    keys: Keys,
    session: str,
    settings: AudioSettings,
    budget: Budget | None,
    role: str,
    language: str | None,
) -> Ears:
    """The ears of company.yaml's ``speech`` transcriber; ConfigError, saying what to add,
    without one."""
    if speech is None:
        raise no_speech(language)
    transcriber = load_speech(speech.model, options, base_url=speech.base_url)
    price = minute_price(transcriber.name, speech.price_per_minute)
    return Ears(redis, keys, session, transcriber, settings, price=price, budget=budget,
                role=role, hint=speech.language, language=language)  # fmt: skip
