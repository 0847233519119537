"""``equipage live``: suggestions while the founder talks, from a piped transcript."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated

import typer
from pydantic import JsonValue

from equipage.app import open_session, run_workflow
from equipage.chat import Outgoing
from equipage.cli.common import ConfigOption, err, load, reported, show
from equipage.config import CompanyConfig, Settings


def live(
    session_id: Annotated[
        str, typer.Option("--session", help="name of the session [default: a new one]")
    ] = "",
    interval: Annotated[
        float, typer.Option(help="at most one suggestion per this many seconds")
    ] = 20.0,
    language: Annotated[str, typer.Option(help="auto, fr or en")] = "auto",
    config: ConfigOption = None,
) -> None:
    """Suggestions while you talk: pipe the conversation's transcript in, one
    'speaker: text' line per segment ('/suggest' asks for one now, '/end' stops)."""
    with reported():
        settings, company = load(config)
        name = session_id or f"live-{uuid.uuid4().hex[:8]}"
        data: dict[str, JsonValue] = {
            "session": name,
            "source": "redis",
            "interval": interval,
            "language": language,
        }
        asyncio.run(run_live(settings, company, name, data))


async def run_live(
    settings: Settings, company: CompanyConfig, name: str, data: dict[str, JsonValue]
) -> None:
    """Feed this terminal's lines to live session ``name`` while its assistant runs."""
    # The transcript goes on the session's stream from here; the assistant runs wherever
    # the crew's workers are (in this process when none is running).
    from workflows.live_assist import feed_stdin

    async def display(message: Outgoing) -> None:
        show(message)

    async with open_session(company, settings) as session:
        err.print(f"[dim]live session {name}: type or pipe 'speaker: text' lines.[/]")
        feeding = asyncio.create_task(feed_stdin(session.redis, session.keys, name))
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
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
