"""The ``coaching`` workflow: a speaking coach that reads a talk's transcript.

It measures pace (overall and over time), pauses, filler words, repetitions, sentence
length and speaker balance in plain code, draws the pace chart, and asks the model only
for the feedback prose (three strengths, three things to work on, one exercise). On the
offline model the feedback comes from rules over the figures, and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict, Field, model_validator

from equipage.envelope import Envelope
from equipage.errors import InputRejected, MissingExtraError, OffLimits
from equipage.inputs import OwnerOnly, check_size
from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import report_language
from workflows.coaching.chart import draw_pace_chart
from workflows.coaching.feedback import Feedback, write_feedback
from workflows.coaching.measures import Measures, measure
from workflows.coaching.refusals import refused_text
from workflows.coaching.report import render_report
from workflows.coaching.templates import PROGRESS
from workflows.coaching.transcript import (
    MAX_BYTES,
    TOO_LARGE,
    Transcript,
    load_text,
    read_transcript,
)

__all__ = ["WORKFLOW", "CoachingInput", "CoachingOutput"]


class CoachingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(
        None,
        description="transcript file to read: .srt, .vtt, word-timestamp .json (Whisper, "
        "Deepgram, a list of {word, start, end}) or plain .txt: the name of a file sent with "
        "the request, or a path under the crew's files folder (any path on the owner's "
        "command line)",
    )
    text: str | None = Field(
        None,
        max_length=5_000_000,
        description="the transcript itself, pasted in the chat (any of the same formats)",
    )
    format: Literal["auto", "srt", "vtt", "json", "text"] = Field(
        "auto", description="transcript format; 'auto' sniffs it from the content"
    )
    language: Literal["auto", "fr", "en"] = Field(
        "auto", description="language of the talk; 'auto' detects French or English"
    )
    speaker: str | None = Field(
        None, description="measure only this speaker, as labelled in the transcript"
    )
    window_seconds: float = Field(
        30.0, ge=5, le=600, description="width in seconds of the windows of the pace chart"
    )
    max_bytes: Annotated[int, OwnerOnly()] = Field(
        MAX_BYTES,
        ge=1,
        description="largest transcript read, in bytes (file or pasted text); a larger one "
        "is refused before it is read",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CoachingInput:
        if self.path is not None and self.text is not None:
            raise ValueError(
                "give either 'path' (a transcript file) or 'text' (the transcript pasted), "
                "not both; with neither, the file sent with the request is read"
            )
        return self


class CoachingOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    measures: Measures | None = None
    feedback: Feedback | None = None
    chart: str | None = None  # path of the pace chart PNG
    chart_note: str | None = None  # why there is no chart
    report: str | None = None  # path of report.md
    refused: str | None = None  # why the transcript could not be used (English, as logged)
    language: Literal["fr", "en"] = "en"  # of a refusal's summary; a report is the talk's

    def summary(self) -> str:
        """The Markdown report (or why there is none)."""
        if self.refused or self.measures is None or self.feedback is None:
            why = refused_text(self.refused or "nothing was measured", self.language)
            if self.language == "fr":
                return f"**Transcription refusée** ({self.source}) : {why}"
            return f"**Transcript refused** ({self.source}): {why}"
        text = render_report(
            source=self.source,
            measures=self.measures,
            feedback=self.feedback.text,
            feedback_by=self.feedback.by,
            chart=self.chart,
            chart_note=self.chart_note,
        )
        if self.report:
            saved = "Rapport enregistré :" if self.measures.language == "fr" else "Report saved:"
            text += f"\n{saved} `{self.report}`\n"
        return text


class _State(WorkflowState, total=False):
    pass


_NO_TIMINGS = {
    "en": "the transcript has no timings (plain text), so there is no pace to draw.",
    "fr": "la transcription n'a pas de minutage (texte brut) : pas de débit à tracer.",
}


def _analyse(
    params: CoachingInput, files: Path, name: str | None = None
) -> tuple[CoachingOutput, str]:
    """Read, measure and draw: plain blocking code, run off the event loop.

    Returns the output without feedback, and an excerpt of the talk for the model.
    ``name`` is the file the text came from when it was sent in chat.
    """
    source = Path(params.path).name if params.path else (name or "inline text")
    if params.path:
        content = load_text(Path(params.path), params.max_bytes)
    else:
        content = params.text or ""
        check_size("coaching", "transcript", content, params.max_bytes, instead=TOO_LARGE)
    transcript: Transcript = read_transcript(
        content, fmt=params.format, language=params.language, hint=params.path or name or ""
    )
    measures = measure(transcript, window_seconds=params.window_seconds, speaker=params.speaker)
    key = "\n".join([content, params.language, params.speaker or "", f"{params.window_seconds:g}"])
    # Same transcript and options, same folder: a rerun overwrites instead of piling up.
    folder = files / f"coaching-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    chart: str | None = None
    note: str | None = None
    if not measures.timed or not measures.windows:
        note = _NO_TIMINGS[measures.language]
    else:
        try:
            chart = str(draw_pace_chart(measures, folder / "pace.png"))
        except MissingExtraError as err:
            note = f"{err}."
    output = CoachingOutput(
        source=source,
        measures=measures,
        chart=chart,
        chart_note=note,
        report=str(folder / "report.md"),
    )
    return output, transcript.text[:3000]


def _chosen(
    params: CoachingInput, ctx: WorkflowContext, request: Envelope | None
) -> tuple[CoachingInput, str | None] | CoachingOutput:
    """The transcript to read, and the name of the file sent with it; or why there is none.

    A path is checked first: one the crew gave names the crew's files or a file sent with
    the request, never anything else the process could read (``ctx.given_file``).
    """
    if params.path is not None:
        try:
            given = ctx.given_file(params.path, request)
        except OffLimits as err:
            return CoachingOutput(source=Path(params.path).name or "?", refused=str(err))
        if isinstance(given, Path):
            return params.model_copy(update={"path": str(given)}), None
        if not given.text:
            refused = given.error or f"{given.name} could not be read as text"
            return CoachingOutput(source=given.name, refused=refused)
        return params.model_copy(update={"path": None, "text": given.text}), given.name
    if params.text is not None:
        return params, None
    # Asked in chat with the transcript attached: read the file that came along.
    sent = [a for a in (request.attachments if request else ()) if a.text]
    if not sent:
        refused = (
            "no transcript was given: send the file (SRT, WebVTT, word-timestamp "
            "JSON or text) with your request, or give 'path' or 'text'"
        )
        return CoachingOutput(source="nothing", refused=refused)
    return params.model_copy(update={"text": sent[0].text}), sent[0].name


def _save(output: CoachingOutput) -> None:
    if output.report:
        report = Path(output.report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(output.summary(), encoding="utf-8")


class Coaching:
    name = "coaching"
    description = (
        "Speaking coach: reads a talk transcript (SRT, WebVTT, word-timestamp JSON or "
        "text, French or English) and reports pace over time with a chart, pauses, "
        "filler words, repetitions, sentence length and speaker balance, then three "
        "strengths, three things to work on and an exercise (input: path or text, "
        "optional speaker)"
    )
    # Phrases, not bare words: requests are routed on whole-word matches, and "talk",
    # "pitch" or "oral" alone ("let's talk pricing", "the launch pitch") are not coaching.
    handles = (
        "coaching", "coach me", "speaking coach", "public speaking", "my talk", "my pitch",
        "my speech", "transcript", "filler words", "prise de parole", "transcription",
        "débit de parole", "mon discours", "mon oral", "mots parasites", "tics de langage",
    )  # fmt: skip
    read_only = True  # it reads a transcript and writes files in its own folder only
    untrusted_output = True  # the report quotes words from a transcript sent from outside
    Input = CoachingInput
    Output = CoachingOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        async def coach(state: _State) -> dict[str, Any]:
            # A refusal, and each step, is said in the talk's language if given, else the
            # founder's.
            reader = report_language(state["input"].language, ctx.profile, state.get("origin"))
            chosen = _chosen(state["input"], ctx, state.get("request"))
            if isinstance(chosen, CoachingOutput):
                return {"output": chosen.model_copy(update={"language": reader})}
            params, name = chosen
            measuring, writing = PROGRESS[reader]
            await ctx.progress(f"coaching: {measuring}")
            try:
                output, excerpt = await asyncio.to_thread(_analyse, params, ctx.files, name)
            except InputRejected as err:
                source = Path(params.path).name if params.path else (name or "inline text")
                refused = CoachingOutput(source=source, refused=str(err), language=reader)
                return {"output": refused}
            assert output.measures is not None  # _analyse measures or raises
            await ctx.progress(f"coaching: {writing}")
            feedback = await write_feedback(ctx, output.measures, excerpt)
            output = output.model_copy(update={"feedback": feedback})
            await asyncio.to_thread(_save, output)
            return {"output": output}

        graph: StateGraph[Any] = StateGraph(_State)
        graph.add_node("coach", coach)
        graph.add_edge(START, "coach")
        graph.add_edge("coach", END)
        return graph


WORKFLOW = Coaching()
