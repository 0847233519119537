"""``equipage up`` and ``equipage send``: talk to the crew, at length or in one message."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Annotated

import typer

from equipage.app import converse, open_session, serve
from equipage.chat import Outgoing
from equipage.cli.common import ConfigOption, err, fail, load, out, reported, show
from equipage.config import CompanyConfig, Settings
from equipage.connection import watch_folder
from equipage.console_hold import hold_console
from equipage.errors import BusError


def up(
    config: ConfigOption = None,
    console: Annotated[
        bool, typer.Option(help="chat in this terminal [default: when attached to one]")
    ] = sys.stdin.isatty(),
    workers: Annotated[bool, typer.Option(help="run workers in this process")] = True,
    gateway: Annotated[
        bool, typer.Option(help="run the gateway and chat platforms in this process")
    ] = True,
) -> None:
    """Start the workers and channels; chat with the crew in this terminal."""
    with reported():
        settings, company = load(config)
        asyncio.run(_up(settings, company, console and gateway, workers, gateway))


async def _up(
    settings: Settings, company: CompanyConfig, console: bool, workers: bool, gateway: bool = True
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with out.status("Starting Redis and the crew..."):
        session_cm = open_session(company, settings)
        session = await session_cm.__aenter__()
    lost = ""
    try:
        # One console per crew (equipage.console_hold): a second one refuses here.
        held = hold_console(session.redis, session.keys) if console else contextlib.nullcontext()
        async with held:
            out.print(f"[bold]{company.company.name}[/] crew up on {session.target.describe()}")
            out.print(
                f"roles: {', '.join(session.roles)}; models: "
                + ", ".join(f"{r}={company.roles[r].model}" for r in company.roles)
            )
            for note in session.notes:
                out.print(f"[yellow]note:[/] {note}")
            watching = asyncio.create_task(watch_folder(session.target, stop))
            try:
                await serve(
                    session,
                    stop,
                    channels=["console"],
                    workers=workers,
                    gateway=gateway,
                    console_input=console,
                    web_ready=_web_ready,
                )
            finally:
                stop.set()
                lost = await watching
                out.print("stopped.")
    finally:
        await session_cm.__aexit__(None, None, None)
    if lost:
        raise BusError(lost)


def _web_ready(url: str) -> None:
    out.print(f"web console at {url}; 'equipage web login' prints a login link", markup=False)


def send(
    text: Annotated[str, typer.Argument(help="your message, or a command like '/approve ID'")],
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the crew")] = 300.0,
) -> None:
    """Send one message as the owner and print the crew's answers."""
    with reported():
        settings, company = load(config)
        asyncio.run(_send(settings, company, text, timeout))


async def _send(settings: Settings, company: CompanyConfig, text: str, timeout: float) -> None:
    async def display(message: Outgoing) -> None:
        show(message)

    async with open_session(company, settings) as session:
        for note in session.notes:
            err.print(f"[yellow]note:[/] {note}")
        with out.status("The crew is working..."):
            try:
                shown = await converse(
                    session, text, member=company.owner, on_message=display, timeout=timeout
                )
            except TimeoutError as error:
                fail(f"{error}; 'equipage status' shows where it stands")
    if not shown:
        out.print("[dim](no answer)[/]")
