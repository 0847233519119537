"""What every command shares: the consoles, the --config option, loading, exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from equipage.chat import Outgoing
from equipage.config import CompanyConfig, Settings, load_config
from equipage.errors import ConfigError, EquipageError, Unrecoverable

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="company.yaml to use [default: $EQUIPAGE_CONFIG or ./company.yaml]"
    ),
]

#: Exit code of a process whose loop stayed down past runtime.recover_within: its process
#: supervisor (systemd, Docker) should start it again.
UNRECOVERABLE_EXIT = 3


def fail(message: str, code: int = 1) -> NoReturn:
    # One line, however long: a log collector or a grep keeps it whole.
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """User mistakes exit 2 with the message; runtime failures exit 1; a lost loop exits 3."""
    try:
        yield
    except ConfigError as error:
        fail(str(error), 2)
    except Unrecoverable as error:
        fail(str(error), UNRECOVERABLE_EXIT)
    except EquipageError as error:
        fail(str(error), 1)


def load(config: Path | None) -> tuple[Settings, CompanyConfig]:
    settings = Settings.from_env()
    return settings, load_config(config or settings.config_path)


def show(message: Outgoing) -> None:
    from channels.console import render

    out.print(render(message))
