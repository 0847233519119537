"""The ``equipage`` command: parse, call the library, render with rich. No logic of its own.

One module per command or command group; this one wires them into the ``equipage`` app
(in the order ``--help`` lists them) and is the console script's entry point.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from equipage import __version__
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
    workflow,
)
from equipage.cli.common import UNRECOVERABLE_EXIT, out

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
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    app()
