"""The ``equipage`` command: parse, call the library, render with rich. No logic of its own.

One module per command or command group; this one wires them into the ``equipage`` app
(in the order ``--help`` lists them) and is the console script's entry point.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from equipage import __version__, logs, tracing
from equipage.cli import (
    approvals,
    audit,
    budget,
    chat,
    demo,
    farm,
    farmup,
    init,
    live,
    pair,
    status,
    web,
    workflow,
)
from equipage.cli.common import UNRECOVERABLE_EXIT, fail, out, reported
from equipage.config import Settings

__all__ = ["UNRECOVERABLE_EXIT", "app", "main"]

app = typer.Typer(
    help="Run a clone of your company as a crew of role agents on one Redis bus.",
    no_args_is_help=True,
    add_completion=False,
)
for command in (
    init.init,
    chat.up,
    chat.send,
    status.status,
    budget.budget,
    live.live,
    demo.demo,
):
    app.command()(command)
app.add_typer(pair.pair_app, name="pair")
app.add_typer(approvals.approvals_app, name="approvals")
app.add_typer(workflow.workflow_app, name="workflow")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(web.web_app, name="web")
farm.farm_app.command("up")(farmup.farm_up)
app.add_typer(farm.farm_app, name="farm")
app.add_typer(farm.crew_app, name="crew")


def _version(value: bool) -> None:
    if value:
        out.print(f"equipage {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="show the version")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log what happens")] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar="[text|json]",
            # No square brackets: rich would take them for markup and drop them.
            help="json: one JSON object a line, for a log collector "
            "(default: $EQUIPAGE_LOG_FORMAT, else text)",
        ),
    ] = None,
) -> None:
    with reported():
        settings = Settings.from_env()
    chosen = settings.log_format if log_format is None else _format(log_format)
    logs.configure(chosen, logging.INFO if verbose else logging.WARNING)
    # Spans are exported only when an OTLP endpoint is configured (the ``otel`` extra).
    tracing.setup(settings)


def _format(value: str) -> logs.LogFormat:
    # Checked here, not by click: its usage error spans several lines.
    for known in logs.FORMATS:
        if value == known:
            return known
    fail(f"--log-format {value!r} must be 'text' or 'json'", 2)


def main() -> None:
    app()
