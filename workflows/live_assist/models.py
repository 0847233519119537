"""The live_assist workflow's typed input, output and suggestion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from equipage.inputs import OwnerOnly
from workflows.live_assist.audio_settings import AudioSettings
from workflows.live_assist.reading import MAX_TRANSCRIPT

__all__ = ["LiveInput", "LiveOutput", "Suggestion", "SuggestionKind"]

SuggestionKind = Literal["argument", "question", "fact"]
Ended = Literal["end", "idle", "duration", "stopped", "no_origin"]


class LiveInput(BaseModel):
    """How to listen to one live conversation and how often to speak up."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(
        "",
        max_length=80,
        description="id of the live session whose transcript segments to read; empty: one is "
        "made up from the request and sent to the founder with how to feed it",
    )
    # What the process listens on or reads is the owner's choice (company.yaml,
    # workflows.live_assist, or their command line): a run the crew starts may pick
    # 'redis', which opens nothing, or the source company.yaml configures.
    source: Annotated[Literal["redis", "stdin", "websocket"], OwnerOnly(crew_may=("redis",))] = (
        Field(
            "redis",
            description="where segments come from: 'redis' (anything XADDs to the session's "
            "stream), 'stdin' (this process reads 'speaker: text' lines) or 'websocket' (a "
            "server on host:port for the session's duration)",
        )
    )
    host: Annotated[str, OwnerOnly()] = Field(
        "127.0.0.1", description="websocket source: address to listen on"
    )
    port: Annotated[int, OwnerOnly()] = Field(
        8765, ge=0, le=65535, description="websocket source: port (0: any)"
    )
    interval: float = Field(
        20.0,
        ge=0,
        le=3600,
        description="at most one suggestion per this many seconds, unless "
        "the founder asks with /suggest",
    )
    language: Literal["auto", "fr", "en"] = Field(
        "auto", description="language of the suggestions; auto follows the conversation"
    )
    idle_timeout: float = Field(
        300.0,
        gt=0,
        le=24 * 3600,
        description="end the session after this many seconds without a segment",
    )
    max_duration: float = Field(
        4 * 3600.0, gt=0, le=24 * 3600, description="end the session after this many seconds"
    )
    max_lag: float = Field(
        30.0,
        gt=0,
        description="segments older than this many seconds when read (a restart "
        "catching up) feed the context but trigger nothing: the moment has passed",
    )
    founder_speakers: tuple[str, ...] = Field(
        ("me", "moi", "founder", "fondateur", "fondatrice"),
        description="speaker labels that are the founder (case and accents ignored), set "
        "under workflows.live_assist in company.yaml or with `equipage live "
        "--founder-speakers`; objections and questions are looked for only in what the "
        "other speakers say, and the suggestions are for the founder",
    )
    # Only the owner's 'stdin' source reads a transcript here, so no OwnerOnly is needed.
    max_bytes: int = Field(
        MAX_TRANSCRIPT,
        gt=0,
        description="stdin source: largest transcript read; a bigger one is refused, "
        "naming the limit",
    )
    # Heard only where the owner says (`equipage live --audio-file/--audio-port`).
    audio: Annotated[AudioSettings, OwnerOnly()] = Field(
        default_factory=AudioSettings,
        description="how a call's audio is heard: window, overlap, max_seconds, speaker, "
        "quiet, sample_rate (see workflows.live_assist.audio_settings)",
    )
    competitors: tuple[str, ...] = Field(
        (), description="competitor names whose mention calls for an argument"
    )
    context_segments: int = Field(
        20, ge=1, le=200, description="recent segments kept verbatim in the rolling context"
    )


class Suggestion(BaseModel):
    """One suggestion for the founder, and the segment that called for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SuggestionKind
    text: str
    why: str  # the segment that triggered it, as said
    topic: str  # what was detected: 'objection:price', 'fact:<id>', 'question', 'ask'...
    by: str = "template"  # the model that wrote it, or 'template'


class LiveOutput(BaseModel):
    """What happened during a live session."""

    model_config = ConfigDict(extra="forbid")

    session: str
    language: str
    segments: int = 0
    suggestions: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    asked: int = 0  # suggestions the founder asked for (not rate limited)
    dropped: int = 0  # triggers left unsaid because of the rate limit
    duplicates: int = 0  # segments received twice (same producer id)
    stale: int = 0  # segments read too late to act on
    written_by_model: int = 0
    ended: Ended = "end"

    def summary(self) -> str:
        """Markdown for the founder, in the conversation's language."""
        kinds = ", ".join(_kind(k, n, self.language) for k, n in sorted(self.by_kind.items()) if n)
        if self.language == "fr":
            why = {
                "end": "fin signalée",
                "idle": "plus rien reçu",
                "duration": "durée maximale atteinte",
                "stopped": "arrêtée",
                "no_origin": "personne à qui envoyer les suggestions",
            }[self.ended]
            lines = [
                f"**Assistance en direct, session {self.session}** ({why})",
                "",
                f"- segments lus : {self.segments}",
                f"- suggestions envoyées : {self.suggestions}" + (f" ({kinds})" if kinds else ""),
                f"- demandées par vous : {self.asked}",
                f"- retenues par la limite de fréquence : {self.dropped}",
            ]
            if self.stale:
                lines.append(f"- segments lus trop tard pour agir : {self.stale}")
            if self.suggestions and not self.written_by_model:
                lines.append("- rédigées à partir de gabarits (modèle hors ligne)")
            return "\n".join(lines)
        why = {
            "end": "end signalled",
            "idle": "nothing more received",
            "duration": "maximum duration reached",
            "stopped": "stopped",
            "no_origin": "nobody to send suggestions to",
        }[self.ended]
        lines = [
            f"**Live assist, session {self.session}** ({why})",
            "",
            f"- segments read: {self.segments}",
            f"- suggestions sent: {self.suggestions}" + (f" ({kinds})" if kinds else ""),
            f"- asked by you: {self.asked}",
            f"- held back by the rate limit: {self.dropped}",
        ]
        if self.stale:
            lines.append(f"- segments read too late to act on: {self.stale}")
        if self.suggestions and not self.written_by_model:
            lines.append("- written from templates (offline model)")
        return "\n".join(lines)


# A kind of suggestion as the summary counts it: (one, several), in French and English.
_KINDS = {
    "fr": {"argument": ("argument", "arguments"), "question": ("question", "questions"),
           "fact": ("fait", "faits")},
    "en": {"argument": ("argument", "arguments"), "question": ("question", "questions"),
           "fact": ("fact", "facts")},
}  # fmt: skip


def _kind(kind: str, count: int, language: str) -> str:
    one, several = _KINDS["fr" if language == "fr" else "en"].get(kind, (kind, kind))
    return f"{count} {one if count == 1 else several}"
