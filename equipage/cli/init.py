"""``equipage init``: the starter files of a new company."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from equipage.cli.common import out, reported
from equipage.config import Settings


def init(
    directory: Annotated[Path, typer.Argument(help="where to write company.yaml")] = Path("."),
    name: Annotated[str, typer.Option(help="your company's name")] = "My Company",
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
) -> None:
    """Write a commented company.yaml, the role prompts to edit and the audit key."""
    from equipage.audit import create_key_file
    from equipage.scaffold import write_starter

    with reported():
        settings = Settings.from_env()
        written = write_starter(
            directory, company_name=name, owner_console_id=getpass.getuser(), force=force
        )
        # Never replaced, even with --force: a new key leaves the signed log unverifiable.
        key = None if settings.audit_key else create_key_file(directory / settings.home)
    for path in written:
        out.print(f"[green]wrote[/] {path}")
    if key is not None:
        out.print(
            f"[green]wrote[/] {key}: it signs the audit log; keep a copy apart from the "
            "Redis data (or set EQUIPAGE_AUDIT_KEY to its content)"
        )
    out.print("Next: edit company.yaml, then [bold]equipage up[/] to talk to your crew.")
