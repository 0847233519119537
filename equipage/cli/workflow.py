"""``equipage workflow``: the company's recurring jobs, listed and run by hand."""

from __future__ import annotations

import asyncio
import enum
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from pydantic import JsonValue
from rich.markup import escape
from rich.table import Table

from equipage.app import open_session, run_workflow
from equipage.chat import Outgoing
from equipage.cli.common import ConfigOption, err, fail, load, out, reported, show
from equipage.cli.live import run_live
from equipage.cli.runview import (
    Progress,
    refused,
    refused_output,
    run_output,
    stamps,
    written,
)
from equipage.cli.setvalues import apply_overrides
from equipage.config import CompanyConfig, Settings
from equipage.errors import EquipageError
from equipage.inputs import owner_only_fields, with_settings

workflow_app = typer.Typer(help="The company's recurring jobs, run by hand.", no_args_is_help=True)


@workflow_app.command("list")
def workflow_list(config: ConfigOption = None) -> None:
    """Installed workflows, whether company.yaml enables them, and their input fields."""
    # LangGraph comes with the workflows: imported by the commands that use them only.
    from equipage.workflow import available_workflows, load_workflow

    with reported():
        _, company = load(config)
        table = Table("workflow", "enabled", "what it does", "input")
        for name in available_workflows():
            try:
                workflow = load_workflow(name)
            except (EquipageError, ImportError) as error:
                table.add_row(name, "-", f"[red]cannot load: {escape(str(error))}[/]", "")
                continue
            fields = ", ".join(workflow.Input.model_fields)
            if kept := ", ".join(owner_only_fields(workflow.Input)):
                # Only company.yaml (workflows.<name>) and `workflow run --set` set these.
                fields += f" (set by you only: {kept})"
            enabled = "yes" if name in company.workflows else "no"
            table.add_row(name, enabled, escape(workflow.description), escape(fields))
    out.print(table)


@workflow_app.command("run")
def workflow_run(
    name: Annotated[str, typer.Argument(help="the workflow, e.g. tenders")],
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="JSON or YAML file with the input")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE on top of the input, read as the field's type: "
            "sources.bundled=true, today=2026-12-06, paths=a.pdf,b.pdf (or a JSON list)",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="approve every question it asks")] = False,
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for it")] = 600.0,
) -> None:
    """Run one workflow now, as the owner: its progress as it goes, what it reports,
    and where the files it wrote are.

    Exit codes: 0 it ran; 1 it failed (the crew could not run it, or
    --timeout passed); 2 its input was refused (a --set value not of its
    field's type, an unreadable --input, or a value the workflow refused).
    """
    from equipage.workflow import load_workflow, read_input

    with reported():
        settings, company = load(config)
        workflow = load_workflow(name)
        data = apply_overrides(read_input(input_file), overrides or (), workflow.Input)
        ran = asyncio.run(_workflow_run(settings, company, name, data, yes, timeout))
    if ran is _Ran.REFUSED:
        raise typer.Exit(2)


class _Ran(enum.Enum):
    DONE = "done"
    REFUSED = "refused"  # the workflow said no to its input: said above, exit 2


async def _workflow_run(
    settings: Settings,
    company: CompanyConfig,
    name: str,
    data: dict[str, JsonValue],
    yes: bool,
    timeout: float,
) -> _Ran:
    if (
        name == "live_assist"
        and with_settings(company.workflows.get(name, {}), data).get("source") == "stdin"
    ):
        # The transcript is typed here, but the run goes to whichever worker takes it (an
        # `equipage up` beside, whose stdin is its console): fed from this process, as
        # `equipage live` does.
        session_id = str(data.get("session") or f"live-{uuid.uuid4().hex[:8]}")
        await run_live(
            settings, company, session_id, data | {"session": session_id, "source": "redis"}
        )
        return _Ran.DONE

    sender = f"workflow.{name}"
    outcome = _Ran.DONE
    progress = Progress(out, name)

    async def display(message: Outgoing) -> None:
        nonlocal outcome
        if message.sender == sender and refused(name, message.text):
            outcome = _Ran.REFUSED
        show(message)

    async def decide(message: Outgoing) -> str | None:
        question = message.question
        assert question is not None
        if yes:
            return f"/approve {question.id}"
        if not sys.stdin.isatty():
            return None  # answered later: equipage send '/approve ID'
        with progress.paused():
            agreed = await asyncio.to_thread(typer.confirm, "Approve?", default=False)
        return f"/{'approve' if agreed else 'reject'} {question.id}"

    async with open_session(company, settings) as session:
        for note in session.notes:
            err.print(f"[yellow]note:[/] {note}")
        # Where open_session's crew keeps its files (``build_crew``'s ``crew_files``).
        folder = settings.home / "files" / session.keys.company / name
        before = stamps(folder)
        stop = asyncio.Event()
        with progress:
            by = f"member:{company.owner.id}"
            follow = asyncio.create_task(
                progress.follow(session.redis, session.keys, sender, by, stop)
            )
            try:
                await run_workflow(
                    session,
                    name,
                    data,
                    member=company.owner,
                    on_message=display,
                    on_question=decide,
                    timeout=timeout,
                )
            except TimeoutError as error:
                fail(f"{error}; 'equipage status' shows where it stands")
            finally:
                stop.set()
                await follow
            if refused_output(await run_output(session, sender, progress.thread)):
                outcome = _Ran.REFUSED
        _files(written(folder, before))
    return outcome


def _files(paths: list[Path]) -> None:
    """Where each file the run wrote is, absolute, one per line (easy to copy or to grep)."""
    if not paths:
        return
    out.print(f"[bold]Files written ({len(paths)}):[/]")
    for path in paths:
        out.print(str(path), markup=False, highlight=False, soft_wrap=True)
