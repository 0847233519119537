"""How a live call's audio is heard: window, overlap, limits, who speaks; and its refusals.

Audio comes only from where the owner says (``equipage live --audio-file`` or
``--audio-port``, with these settings under ``workflows.live_assist.audio`` in
company.yaml): never from a run the crew starts. Each window is transcribed by the
company's ``speech`` provider, as voice notes are, and paid the same way.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from equipage.errors import ConfigError, InputRejected
from equipage.language import pick

__all__ = [
    "MAX_WINDOW",
    "AudioSettings",
    "no_speech",
    "over_budget",
    "too_long",
    "unreadable",
    "window_too_big",
]

#: Longest window sent to the transcriber: a request of a few hundred KB that answers fast.
MAX_WINDOW = 30.0


class AudioSettings(BaseModel):
    """Windows of a call's audio, as the transcriber hears them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: float = Field(
        8.0, ge=1.0, le=MAX_WINDOW, description="seconds of audio per transcription"
    )
    overlap: float = Field(
        1.0,
        ge=0.0,
        description="seconds each window repeats of the one before, so no word is cut in "
        "two; the words heard twice at the seam are dropped",
    )
    max_seconds: float = Field(
        4 * 3600.0, gt=0, le=24 * 3600, description="longest call heard, in seconds of audio"
    )
    speaker: str = Field(
        "them",
        max_length=80,
        description="the speaker of what is heard: the transcriber does not say who speaks, "
        "so by default the other party (set a founder label to hear your own voice only)",
    )
    quiet: float = Field(
        10.0, gt=0, le=3600, description="a growing file that stops growing this long is over"
    )
    sample_rate: int = Field(
        16_000, ge=8_000, le=48_000, description="raw PCM (16-bit mono) without a header: its rate"
    )

    @model_validator(mode="after")
    def _overlap_in_window(self) -> AudioSettings:
        if self.overlap >= self.window / 2:
            raise ValueError("audio.overlap must be under half of audio.window")
        return self


def _duration(seconds: float, language: str | None) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def too_long(limit: float, language: str | None) -> InputRejected:
    """The refusal of audio past ``max_seconds``: what was heard before is kept."""
    size = _duration(limit, language)
    return InputRejected(
        pick(
            language,
            f"the call's audio is over the {size} limit, so it is no longer heard (what came "
            "before is kept). The owner can raise it with workflows.live_assist.audio."
            "max_seconds in company.yaml.",
            f"l'audio de l'appel dépasse la limite de {size} : la suite n'est plus écoutée "
            "(ce qui précède est gardé). Le propriétaire peut la relever avec "
            "workflows.live_assist.audio.max_seconds dans company.yaml.",
        )
    )


def window_too_big(seconds: float, language: str | None) -> InputRejected:
    """The refusal of one message holding more audio than a window may."""
    size = _duration(MAX_WINDOW, language)
    return InputRejected(
        pick(
            language,
            f"one message held {seconds:.1f} s of audio, over the {size} a window may hold: "
            "send the audio in frames of a second or less.",
            f"un message contenait {seconds:.1f} s d'audio, plus que les {size} qu'une "
            "fenêtre peut contenir : envoyez l'audio par trames d'une seconde au plus.",
        )
    )


def unreadable(what: str, language: str | None) -> InputRejected:
    """Audio that is neither 16-bit mono PCM (raw or WAV) nor Ogg/Opus."""
    return InputRejected(
        pick(
            language,
            f"this audio cannot be heard ({what}): send 16-bit mono PCM (raw, or WAV), or "
            "Ogg/Opus.",
            f"cet audio ne peut pas être écouté ({what}) : envoyez du PCM 16 bits mono (brut "
            "ou WAV), ou de l'Ogg/Opus.",
        )
    )


def over_budget(reason: str, language: str | None) -> InputRejected:
    """The budget refused a window: the call is no longer heard."""
    return InputRejected(
        pick(
            language,
            f"the budget is spent, so the call is no longer heard: {reason}",
            f"le budget est épuisé : l'appel n'est plus écouté. {reason}",
        )
    )


def no_speech(language: str | None) -> ConfigError:
    """No transcriber: what to add to company.yaml."""
    return ConfigError(
        pick(
            language,
            "hearing a call's audio needs a speech-to-text provider: add a speech section to "
            "company.yaml (speech: {model: openai:whisper-1}, or base_url: "
            "http://localhost:8000/v1 for a faster-whisper or whisper.cpp server of your own).",
            "écouter l'audio d'un appel demande un service de transcription : ajoutez une "
            "section speech à company.yaml (speech: {model: openai:whisper-1}, ou base_url: "
            "http://localhost:8000/v1 pour votre propre serveur faster-whisper ou whisper.cpp).",
        ),
        field="speech",
    )
