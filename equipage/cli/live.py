"""``equipage live``: suggestions while the founder talks, from a piped transcript."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import JsonValue

from equipage.app import Session, open_session, run_workflow
from equipage.chat import Outgoing
from equipage.cli.common import ConfigOption, err, load, reported, show
from equipage.config import CompanyConfig, Settings
from equipage.inputs import with_settings

if TYPE_CHECKING:
    from workflows.live_assist import LiveInput
    from workflows.live_assist.audio_feeders import AudioFeed


def live(
    session_id: Annotated[
        str, typer.Option("--session", help="name of the session [default: a new one]")
    ] = "",
    interval: Annotated[
        float, typer.Option(help="at most one suggestion per this many seconds")
    ] = 20.0,
    language: Annotated[str, typer.Option(help="auto, fr or en")] = "auto",
    founder_speakers: Annotated[
        list[str] | None,
        typer.Option(
            "--founder-speakers",
            help="speaker label(s) that are you, comma-separated or repeated (e.g. 'Alice' "
            "or 'me,Alice'); only the others' objections and questions get suggestions "
            "[default: workflows.live_assist.founder_speakers in company.yaml, else me/moi]",
        ),
    ] = None,
    audio_file: Annotated[
        Path | None,
        typer.Option(
            "--audio-file",
            exists=True,
            dir_okay=False,
            help="hear this audio file as it is recorded (WAV 16-bit mono, or Ogg/Opus), "
            "transcribed in windows by company.yaml's speech provider, instead of stdin",
        ),
    ] = None,
    audio_port: Annotated[
        int | None,
        typer.Option(
            "--audio-port",
            help="hear audio frames on a WebSocket at --audio-host:PORT (0: any port): raw "
            "16-bit mono PCM at workflows.live_assist.audio.sample_rate, WAV or Ogg/Opus",
        ),
    ] = None,
    audio_host: Annotated[
        str, typer.Option("--audio-host", help="address the audio WebSocket listens on")
    ] = "127.0.0.1",
    speaker: Annotated[
        str | None,
        typer.Option(
            help="who the audio heard is [default: workflows.live_assist.audio.speaker, "
            "else 'them']"
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Suggestions while you talk: pipe the conversation's transcript in, one
    'speaker: text' line per segment ('/suggest' asks for one now, '/end' stops), or let
    it hear the call's audio (--audio-file, --audio-port)."""
    with reported():
        settings, company = load(config)
        name = session_id or f"live-{uuid.uuid4().hex[:8]}"
        data: dict[str, JsonValue] = {
            "session": name,
            "source": "redis",
            "interval": interval,
            "language": language,
        }
        founders = speaker_labels(founder_speakers or [])
        if founders:
            data["founder_speakers"] = list(founders)
        if audio_file is not None and audio_port is not None:
            raise typer.BadParameter("give --audio-file or --audio-port, not both")
        audio = Audio(path=audio_file, host=audio_host, port=audio_port, speaker=speaker)
        asyncio.run(run_live(settings, company, name, data, audio))


@dataclass(frozen=True)
class Audio:
    """Where this command hears the call's audio, if it does: the owner's command line."""

    path: Path | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    speaker: str | None = None

    @property
    def heard(self) -> bool:
        return self.path is not None or self.port is not None


def speaker_labels(values: list[str]) -> tuple[str, ...]:
    """``--founder-speakers`` values, each maybe comma-separated, as distinct labels."""
    labels = (label.strip() for value in values for label in value.split(","))
    return tuple(dict.fromkeys(label for label in labels if label))


async def run_live(
    settings: Settings,
    company: CompanyConfig,
    name: str,
    data: dict[str, JsonValue],
    audio: Audio | None = None,
) -> None:
    """Feed this terminal's lines to live session ``name`` while its assistant runs."""
    # The transcript goes on the session's stream from here; the assistant runs wherever
    # the crew's workers are (in this process when none is running).
    from workflows.live_assist import feed_stdin

    async def display(message: Outgoing) -> None:
        show(message)

    from workflows.live_assist import LiveInput

    # company.yaml's settings under this command line's values, as the workflow will see them.
    params = LiveInput.model_validate(with_settings(company.workflows.get("live_assist", {}), data))
    language = params.language if params.language != "auto" else company.company.profile.language
    async with open_session(company, settings) as session:
        feeding: asyncio.Task[object]
        if audio is not None and audio.heard:
            # Built before the call starts: without a transcriber it is refused at once.
            feed = _audio_feed(session, company, name, params, audio, language)
            feeding = asyncio.create_task(_hear(feed, name, audio))
        else:
            err.print(f"[dim]live session {name}: type or pipe 'speaker: text' lines.[/]")
            feeding = asyncio.create_task(
                feed_stdin(
                    session.redis,
                    session.keys,
                    name,
                    max_bytes=params.max_bytes,
                    language=language,
                )
            )
        try:
            await run_workflow(
                session,
                "live_assist",
                data,
                member=company.owner,
                on_message=display,
                timeout=24 * 3600.0,
            )
        finally:
            feeding.cancel()
            # A transcript refused past its size limit ended the session: say why here.
            with contextlib.suppress(asyncio.CancelledError):
                await feeding


def _audio_feed(
    session: Session,
    company: CompanyConfig,
    name: str,
    params: LiveInput,
    audio: Audio,
    language: str | None,
) -> AudioFeed:
    """What hears the call's audio onto session ``name``'s stream, paid like voice notes."""
    from workflows.live_assist.audio_feeders import AudioFeed
    from workflows.live_assist.listening import ears_for

    settings = params.audio
    if audio.speaker:
        settings = settings.model_copy(update={"speaker": audio.speaker})
    ears = ears_for(
        company.speech,
        session.settings.provider_options(),
        redis=session.redis,
        keys=session.keys,
        session=name,
        settings=settings,
        budget=session.crew.budget,
        role=company.runtime.entry_role,
        language=language,
    )
    return AudioFeed(ears)


async def _hear(feed: AudioFeed, name: str, audio: Audio) -> None:
    from workflows.live_assist.audio_feeders import hear_audio

    def listening(where: str) -> None:
        err.print(f"[dim]live session {name}: hearing the call's audio from {where}.[/]")

    await hear_audio(feed, path=audio.path, host=audio.host, port=audio.port,
                     on_listening=listening)  # fmt: skip
