"""``equipage demo``: a founder's conversation with a crew built from nothing."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from equipage.chat import Outgoing
from equipage.cli.common import err, fail, out, reported, show
from equipage.config import Settings
from equipage.llm.providers import default_help, default_spec

if TYPE_CHECKING:
    from equipage.demo import DemoResult


def demo(
    lang: Annotated[str, typer.Option(help="language of the founder: en or fr")] = "en",
    model: Annotated[
        str | None,
        typer.Option(help=f"model of every role [default: {default_help()}]"),
    ] = None,
) -> None:
    """Play a founder's conversation with the crew, from nothing; then open its web console."""
    from equipage.demo import REQUESTS, run_demo

    if lang not in REQUESTS:
        fail(f"--lang must be one of {', '.join(REQUESTS)}", 2)

    def narrate(who: str, message: Outgoing) -> None:
        if who == "founder":
            out.print(f"\n[bold magenta]founder[/] > {message.text}")
        else:
            show(message)

    with reported():
        settings = Settings.from_env()
        chosen = model or default_spec(settings.provider_options())
        out.rule(f"Equipage demo: an embedded Redis in a temporary folder, model {chosen}")
        result = asyncio.run(
            run_demo(narrate, lang=lang, model=chosen, settings=settings, hold=_hold)
        )
    if not result.ok:
        raise typer.Exit(1)


async def _hold(result: DemoResult, address: str, link: str) -> None:
    """Say what the demo saw, then the console's address and login link; in a terminal,
    keep them working until Ctrl-C (the demo's folder, and its crew, go at the end)."""
    _summary(result)
    out.rule("The web console")
    out.print(f"console: {address}", markup=False, highlight=False)
    out.print(f"login link (works once, 15 min): {link}", markup=False, highlight=False)
    if not sys.stdin.isatty():
        out.print(
            "[dim]Not in a terminal: the console closes with the demo now. Run 'make demo' "
            "in a terminal to keep it open, or 'equipage up' then 'equipage web login'.[/]"
        )
        return
    out.print("[bold]Open the link; Ctrl-C ends the demo and removes its folder.[/]")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _summary(result: DemoResult) -> None:
    for note in result.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    out.rule("What crossed the bus")
    table = Table()
    for column in ("#", "kind", "from", "to", "text"):
        table.add_column(column)
    for i, e in enumerate(result.crossed, 1):
        text = " ".join(e["detail"].split())[:60]
        table.add_row(str(i), e["kind"], e["sender"], e["to"], text)
    out.print(table)
    if not result.ok:
        for problem in result.problems:
            err.print(f"[bold red]demo failed:[/] {problem}")
        return
    out.print(
        f"[green]Demo complete:[/] {len(result.crossed)} envelopes crossed the bus. Act one: "
        "the CEO delegated to two roles, both answered, the founder approved, the CEO "
        "confirmed. Act two: marketing ran the tender watch on real notices, the founder "
        f"approved the export ({', '.join(result.exports)}; the demo's folder is removed "
        "at the end), the CEO returned the ranked list."
    )
