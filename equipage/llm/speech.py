"""Speech to text: the interface voice notes go through, its providers by name, their prices.

A transcriber is chosen in company.yaml like a role's model, by a spec
(``speech.model: openai:whisper-1``). ``openai`` is any OpenAI-compatible
``/v1/audio/transcriptions`` endpoint: OpenAI, Mistral's Voxtral API, Scaleway, or a
self-hosted faster-whisper or whisper.cpp server, the sovereign option, which needs no key
on this machine or its network. Providers are imported only when a company asks for one
(``load_speech``); adding one is a ``SpeechProvider`` row here and its module.

Transcription is billed per minute of audio: ``minute_price`` is the configured price,
else the row of ``SPEECH_PRICES`` the spec starts with, else 0 (a self-hosted server).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from equipage.errors import ConfigError
from equipage.llm.options import ProviderOptions

__all__ = [
    "SPEECH_PRICES",
    "SPEECH_PROVIDERS",
    "SpeechProvider",
    "SpeechToText",
    "Transcript",
    "close_speech",
    "load_speech",
    "minute_price",
    "speech_problem",
]


class Transcript(BaseModel):
    """What a transcriber heard: the words, their language when it says, the audio's length."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    language: str | None = None  # ISO 639-1 ("fr"), as far as the provider tells
    seconds: float = 0.0  # the audio's duration, what a minute price is charged on
    model: str = ""  # the spec that heard it, for the cost ledger


@runtime_checkable
class SpeechToText(Protocol):
    """A transcriber: audio bytes in, a Transcript out."""

    name: str  # its spec, e.g. ``openai:whisper-1``

    async def transcribe(
        self, audio: bytes, *, filename: str, mime: str, language: str | None = None
    ) -> Transcript:
        """The words of ``audio``; ``language`` is a hint, the detected one comes back.

        Raises ``errors.ModelError`` when the provider fails; its message quotes no key.
        """
        ...


@dataclass(frozen=True)
class SpeechProvider:
    """One speech-to-text provider; ``factory`` is called as ``factory(model_id, options,
    base_url)``."""

    name: str
    factory: str  # "module:callable", imported on first use
    hint: str  # how to write its spec, in the error that lists them


SPEECH_PROVIDERS: dict[str, SpeechProvider] = {
    p.name: p
    for p in (
        SpeechProvider(
            "openai",
            "equipage.llm.speech_openai:OpenAISpeech",
            "'openai:<model>' (any OpenAI-compatible /v1/audio/transcriptions endpoint, "
            "e.g. openai:whisper-1, or a self-hosted faster-whisper or whisper.cpp server)",
        ),
    )
}

_OPENAI = "https://openai.com/api/pricing/"
_MISTRAL = "https://mistral.ai/pricing#api-pricing"
#: ``provider:model`` -> USD per minute of audio, as published (checked 2025-10).
SPEECH_PRICES: dict[str, tuple[float, str]] = {
    "openai:whisper-1": (0.006, _OPENAI),
    "openai:gpt-4o-transcribe": (0.006, _OPENAI),
    "openai:gpt-4o-mini-transcribe": (0.003, _OPENAI),
    "openai:voxtral-mini": (0.001, _MISTRAL),  # Mistral's API, through its /v1 endpoint
}


def speech_problem(spec: str) -> str | None:
    """Why ``spec`` names no transcriber, or None when it does."""
    name, colon, model = spec.partition(":")
    if name in SPEECH_PROVIDERS and colon and model.strip():
        return None
    hints = " or ".join(p.hint for p in SPEECH_PROVIDERS.values())
    return f"unknown speech model {spec!r}; write {hints}"


def minute_price(spec: str, configured: float | None = None) -> float:
    """USD per minute of audio for ``spec``: ``configured`` first, else the table, else 0."""
    if configured is not None:
        return configured
    matches = [key for key in SPEECH_PRICES if spec.startswith(key)]
    return SPEECH_PRICES[max(matches, key=len)][0] if matches else 0.0


async def close_speech(speech: SpeechToText | None) -> None:
    """Close a transcriber's connections if its provider holds any (``aclose``)."""
    closer = getattr(speech, "aclose", None)
    if closer is not None:
        await closer()


def load_speech(
    spec: str, options: ProviderOptions | None = None, *, base_url: str | None = None
) -> SpeechToText:
    """Build the transcriber of ``spec`` (``openai:whisper-1``), pointed at ``base_url``."""
    problem = speech_problem(spec)
    if problem is not None:
        raise ConfigError(problem, field="speech.model")
    name, _, model_id = spec.partition(":")
    module_name, _, factory_name = SPEECH_PROVIDERS[name].factory.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    transcriber: SpeechToText = factory(model_id, options or ProviderOptions(), base_url)
    return transcriber
