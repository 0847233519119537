"""Voice notes become words before the crew sees them: downloaded, transcribed, shown back.

The gateway hands ``Hearing.hear`` a member's message; every attachment an adapter marked
``spoken`` is downloaded through the adapter under the documents' limits and transcribed
by the company's transcriber (``speech`` in company.yaml, ``equipage.llm.speech``). What
was heard goes where its trust says:

- a voice note the person recorded is their own word: it joins their ``text``;
- a voice note they forwarded is someone else's: it becomes a ``Forwarded``, with who
  spoke when the platform said, fenced for the model as forwarded text is;
- a sound file is outside content, like a document: its transcript is the file's text.

The person sees what was heard first ("🎙 I heard: …", in the language heard), so a
mis-hearing is caught before the crew acts on it, and the language the transcriber heard
becomes the language the crew answers in. Without a transcriber a note is refused with
one line saying what to configure. Each minute heard is charged to the entry role's
budget (held before, settled after), at ``speech.price_per_minute`` or the price table's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from channels.voice_wording import VoiceWording, voice_wording
from equipage.budget import Budget, Refusal
from equipage.chat import Attachment, Downloader, Forwarded, Incoming, Outgoing
from equipage.company.speech import SpeechConfig
from equipage.config import CompanyConfig
from equipage.documents import Limits
from equipage.errors import ConfigError, DocumentRefused, EquipageError, SourceError
from equipage.llm.options import ProviderOptions
from equipage.llm.pricing import CURRENCY
from equipage.llm.speech import (
    SpeechToText,
    Transcript,
    close_speech,
    load_speech,
    minute_price,
)

__all__ = ["BYTES_PER_SECOND", "Heard", "Hearing"]

log = logging.getLogger(__name__)

#: Bytes of a compressed voice note per second, at the low end (Opus at 8 kbit/s): a
#: note's length is known once heard, so the hold before is sized long, never short.
BYTES_PER_SECOND = 1000
_SHOWN = 3000  # characters of a transcript shown back; the crew reads all of it


@dataclass(frozen=True)
class Heard:
    """A message with its voice notes turned into words, and what to tell the person first."""

    incoming: Incoming
    lines: tuple[str, ...] = ()
    language: str | None = None  # what the transcriber heard, when it said

    @property
    def said(self) -> list[Outgoing]:
        """``lines`` as messages to the person, sent before anything the crew answers."""
        message = self.incoming
        return [
            Outgoing(channel=message.channel, chat=message.chat, text=t, thread=message.thread)
            for t in self.lines
        ]

    @property
    def empty(self) -> bool:
        """True when nothing is left for the crew (a note alone, and not heard)."""
        message = self.incoming
        return not message.text.strip() and not message.attachments and not message.forwarded


@dataclass
class Hearing:
    """The company's transcriber, loaded on first use, and what hearing costs."""

    config: SpeechConfig | None
    options: ProviderOptions = field(default_factory=ProviderOptions)
    budget: Budget | None = None
    role: str = "ceo"  # whose budget pays for listening
    limits: Limits = field(default_factory=Limits)
    timeout: float = 120.0  # seconds for one note's transcription
    _speech: SpeechToText | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(
        cls,
        config: CompanyConfig,
        options: ProviderOptions | None,
        budget: Budget | None,
        limits: Limits,
    ) -> Hearing:
        """The hearing of a company: its ``speech`` section, paid by its entry role."""
        options = options or ProviderOptions()
        role = config.runtime.entry_role
        return cls(config.speech, options, budget=budget, role=role, limits=limits)

    def transcriber(self) -> SpeechToText:
        """The transcriber; ``ConfigError`` saying what to set when there is none."""
        if self._speech is None:
            if self.config is None:
                raise ConfigError("no speech section in company.yaml", field="speech")
            self._speech = load_speech(
                self.config.model, self.options, base_url=self.config.base_url
            )
        return self._speech

    async def aclose(self) -> None:
        """Close the transcriber's connections, if it holds any."""
        await close_speech(self._speech)

    async def hear(
        self,
        channel: object,
        incoming: Incoming,
        thread: str,
        language: str | None = None,
    ) -> Heard:
        """``incoming`` with its spoken attachments heard; ``language`` is the person's so far."""
        spoken = [a for a in incoming.attachments if a.spoken]
        if not spoken:
            return Heard(incoming)
        kept = [a for a in incoming.attachments if not a.spoken]
        say = voice_wording(language)
        try:
            speech = self.transcriber()
        except ConfigError as err:
            said = (
                say.no_speech
                if self.config is None
                else say.unheard.format(name=spoken[0].name, error=str(err))
            )
            return Heard(self._without(incoming, kept), (said,))
        if not isinstance(channel, Downloader):
            lines = [say.unheard.format(name=a.name, error=say.no_download) for a in spoken]
            return Heard(self._without(incoming, kept), (*lines, say.after))
        gate = asyncio.Semaphore(self.limits.concurrency)

        async def one(attachment: Attachment) -> Transcript | str:
            async with gate:
                return await self._one(channel, speech, attachment, thread, say)

        results = await asyncio.gather(*(one(a) for a in spoken[: self.limits.max_files]))
        return self._assemble(incoming, kept, list(zip(spoken, results, strict=False)), say)

    async def _one(
        self,
        channel: Downloader,
        speech: SpeechToText,
        attachment: Attachment,
        thread: str,
        say: VoiceWording,
    ) -> Transcript | str:
        """What one note said, or the line that tells the person why it was not heard."""
        name = attachment.name
        try:
            data = await channel.download(attachment, limit=self.limits.max_bytes)
        except DocumentRefused as refused:
            return say.unheard.format(name=name, error=str(refused).removeprefix(f"{name}: "))
        except SourceError as err:
            return say.unheard.format(name=name, error=err.reason)
        except Exception as err:  # the platform's outage must not cost the person their words
            log.warning("could not download %s: %s", name, type(err).__name__)
            return say.unheard.format(name=name, error=say.download_failed)
        price = minute_price(speech.name, self.config.price_per_minute if self.config else None)
        hold = await self._hold(price, len(data))
        if isinstance(hold, Refusal):
            return _over_budget(say, name, hold)
        try:
            hint = self.config.language if self.config else None
            heard = await asyncio.wait_for(
                speech.transcribe(data, filename=name, mime=attachment.mime, language=hint),
                self.timeout,
            )
        except (EquipageError, TimeoutError) as err:
            await self._settle(hold, 0.0, thread)
            log.warning("could not transcribe %s: %s", name, err)
            error = str(err) if isinstance(err, EquipageError) else say.too_slow
            return say.unheard.format(name=name, error=error)
        seconds = heard.seconds or len(data) / BYTES_PER_SECOND
        heard = heard.model_copy(update={"seconds": seconds})
        await self._settle(hold, price * seconds / 60, thread)
        return heard

    async def _hold(self, price: float, size: int) -> str | Refusal | None:
        """Hold what the note may cost; None when nothing is charged (unpriced, no budget)."""
        if self.budget is None or price <= 0:
            return None
        return await self.budget.reserve(self.role, price * size / BYTES_PER_SECOND / 60)

    async def _settle(self, hold: str | Refusal | None, cost: float, thread: str) -> None:
        if self.budget is not None and isinstance(hold, str):
            await self.budget.settle(hold, self.role, cost, thread)

    def _assemble(
        self,
        incoming: Incoming,
        kept: list[Attachment],
        results: Sequence[tuple[Attachment, Transcript | str]],
        say: VoiceWording,
    ) -> Heard:
        texts = [incoming.text] if incoming.text.strip() else []
        forwarded = [f for f in incoming.forwarded if f.text.strip()]
        who = incoming.forwarded[0] if incoming.forwarded else None
        heard = [t for _, t in results if isinstance(t, Transcript) and t.text]
        language = next((t.language for t in heard if t.language), None)
        shown = voice_wording(language) if language else say
        said: list[str] = []
        failed = False
        for attachment, result in results:
            if isinstance(result, str):
                said.append(result)
                failed = True
            elif not result.text:
                said.append(say.silent.format(name=attachment.name))
                failed = True
            elif attachment.spoken == "voice" and who is None:
                texts.append(result.text)  # recorded by the person: their own word
                said.append(shown.heard.format(text=_short(result.text)))
            elif attachment.spoken == "voice" and who is not None:
                forwarded.append(_forwarded(who, result.text))
                said.append(shown.heard_forwarded.format(text=_short(result.text)))
            else:  # a sound file: outside content, read like a document's text
                kept.append(attachment.model_copy(update={"text": result.text}))
                said.append(shown.heard_forwarded.format(text=_short(result.text)))
        for attachment in [a for a in incoming.attachments if a.spoken][len(results) :]:
            error = say.too_many.format(count=self.limits.max_files)
            said.append(say.unheard.format(name=attachment.name, error=error))
            failed = True
        message = incoming.model_copy(
            update={
                "text": "\n\n".join(texts),
                "attachments": tuple(kept),
                "forwarded": tuple(forwarded),
            }
        )
        if failed and not Heard(message).empty:
            said.append(say.after)
        return Heard(message, tuple(said), language)

    @staticmethod
    def _without(incoming: Incoming, kept: list[Attachment]) -> Incoming:
        forwarded = tuple(f for f in incoming.forwarded if f.text.strip())
        return incoming.model_copy(update={"attachments": tuple(kept), "forwarded": forwarded})


def _forwarded(who: Forwarded, text: str) -> Forwarded:
    """What a forwarded voice note said, as someone else's words: who spoke, if told."""
    return Forwarded(
        text=f"(voice note) {text}",
        kind="message",
        platform=who.platform,
        author=who.author,
        author_kind=who.author_kind,
    )


def _over_budget(say: VoiceWording, name: str, refused: Refusal) -> str:
    company = refused.scope != "role"
    fix = say.fix_month if company else say.fix_role.format(role=refused.role)
    return say.over_budget.format(
        name=name,
        who=say.company if company else refused.role,
        spent=f"{refused.spent:.4f}",
        limit=f"{refused.limit:.2f}",
        currency=CURRENCY,
        fix=fix,
    )


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN].rstrip()}…"
