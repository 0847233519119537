"""The ``speech`` section of company.yaml: which transcriber turns voice notes into words.

Without it, voice notes are refused with one line that says to add it. With it, every
voice note a member sends is transcribed before the crew sees it (``channels.hearing``),
and the minutes are charged to the entry role's budget.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from equipage.company.fields import ConfigModel
from equipage.llm.speech import speech_problem

__all__ = ["SpeechConfig"]


def _spec(spec: str) -> str:
    problem = speech_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    return spec


class SpeechConfig(ConfigModel):
    """Speech-to-text for voice notes: any OpenAI-compatible transcription endpoint."""

    model: Annotated[str, AfterValidator(_spec)] = Field(
        description="the transcriber, e.g. openai:whisper-1, or the model name your own "
        "server serves (openai:Systran/faster-whisper-small)"
    )
    base_url: str | None = Field(
        None,
        description="its /v1 address, e.g. http://localhost:8000/v1 for a faster-whisper or "
        "whisper.cpp server (no key needed there); unset: OPENAI_BASE_URL, else OpenAI's",
    )
    price_per_minute: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="USD per minute of audio, charged to the budget; unset: the price table "
        "(equipage.llm.speech), 0 for a model it does not know (a server of your own)",
    )
    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2}$",
        description="a hint when everyone speaks one language (fr); unset: detected",
    )
    max_seconds: float = Field(
        600.0, gt=0, description="longest voice note transcribed, in seconds"
    )
