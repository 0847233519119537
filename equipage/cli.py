"""The ``equipage`` command: parse, call the library, render with rich. No logic of its own."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from equipage import __version__
from equipage.app import (
    Session,
    converse,
    open_session,
    raise_budget,
    run_workflow,
    serve,
    verify_audit,
)
from equipage.approvals import Approval, Approvals
from equipage.audit import AuditReport
from equipage.chat import Outgoing
from equipage.config import CompanyConfig, Settings, load_config
from equipage.connection import watch_folder
from equipage.console_hold import hold_console
from equipage.errors import BusError, ConfigError, EquipageError, Unrecoverable
from equipage.inputs import with_settings
from equipage.llm.pricing import CURRENCY
from equipage.members import Members, Pairing
from equipage.status import StatusReport, read_status
from equipage.supervise import State
from equipage.workflow import available_workflows, load_workflow, owner_only_fields, read_input

app = typer.Typer(
    help="Run a clone of your company as a crew of role agents on one Redis bus.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="company.yaml to use [default: $EQUIPAGE_CONFIG or ./company.yaml]"
    ),
]


def _fail(message: str, code: int = 1) -> NoReturn:
    # One line, however long: a log collector or a grep keeps it whole.
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


#: Exit code of a process whose loop stayed down past runtime.recover_within: its process
#: supervisor (systemd, Docker) should start it again.
UNRECOVERABLE_EXIT = 3


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """User mistakes exit 2 with the message; runtime failures exit 1; a lost loop exits 3."""
    try:
        yield
    except ConfigError as error:
        _fail(str(error), 2)
    except Unrecoverable as error:
        _fail(str(error), UNRECOVERABLE_EXIT)
    except EquipageError as error:
        _fail(str(error), 1)


def _load(config: Path | None) -> tuple[Settings, CompanyConfig]:
    settings = Settings.from_env()
    return settings, load_config(config or settings.config_path)


def _show(message: Outgoing) -> None:
    from channels.console import render

    out.print(render(message))


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="where to write company.yaml")] = Path("."),
    name: Annotated[str, typer.Option(help="your company's name")] = "My Company",
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
) -> None:
    """Write a commented company.yaml, the role prompts to edit and the audit key."""
    from equipage.audit import create_key_file
    from equipage.scaffold import write_starter

    with _errors():
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


@app.command()
def up(
    config: ConfigOption = None,
    console: Annotated[
        bool, typer.Option(help="chat in this terminal [default: when attached to one]")
    ] = sys.stdin.isatty(),
    workers: Annotated[bool, typer.Option(help="run workers in this process")] = True,
) -> None:
    """Start the workers and channels; chat with the crew in this terminal."""
    with _errors():
        settings, company = _load(config)
        asyncio.run(_up(settings, company, console, workers))


async def _up(settings: Settings, company: CompanyConfig, console: bool, workers: bool) -> None:
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
                    session, stop, channels=["console"], workers=workers, console_input=console
                )
            finally:
                stop.set()
                lost = await watching
                out.print("stopped.")
    finally:
        await session_cm.__aexit__(None, None, None)
    if lost:
        raise BusError(lost)


@app.command()
def send(
    text: Annotated[str, typer.Argument(help="your message, or a command like '/approve ID'")],
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the crew")] = 300.0,
) -> None:
    """Send one message as the owner and print the crew's answers."""
    with _errors():
        settings, company = _load(config)
        asyncio.run(_send(settings, company, text, timeout))


async def _send(settings: Settings, company: CompanyConfig, text: str, timeout: float) -> None:
    async def show(message: Outgoing) -> None:
        _show(message)

    async with open_session(company, settings) as session:
        for note in session.notes:
            err.print(f"[yellow]note:[/] {note}")
        with out.status("The crew is working..."):
            try:
                shown = await converse(
                    session, text, member=company.owner, on_message=show, timeout=timeout
                )
            except TimeoutError as error:
                _fail(f"{error}; 'equipage status' shows where it stands")
    if not shown:
        out.print("[dim](no answer)[/]")


@app.command()
def status(config: ConfigOption = None) -> None:
    """Streams, pending work, dead letters and the threads waiting on you."""
    with _errors():
        settings, company = _load(config)
        asyncio.run(_status(settings, company))


async def _status(settings: Settings, company: CompanyConfig) -> StatusReport:
    async with open_session(company, settings) as session:
        report = await read_status(session.redis, session.keys, session.roles)
        _render_status(report)
        await _render_spend(session)
        return report


def _render_status(report: StatusReport) -> None:
    table = Table(title=f"Crew of {report.company}")
    for column in ("inbox", "entries", "pending", "not yet read"):
        table.add_column(column, justify="right" if column != "inbox" else "left")
    for s in report.streams:
        table.add_row(s.role, str(s.length), str(s.pending), str(s.undelivered))
    out.print(table)
    out.print(f"workers alive: {len(report.workers)} {', '.join(report.workers)}")
    _render_loops(report)
    out.print(f"messages sent to people: {report.outbox_length}")
    out.print(f"dead letters: {report.dead_total}")
    for d in report.dead:
        out.print(
            f"  [red]{d.entry}[/] {escape(d.summary)} after {d.attempts} attempts: "
            + escape(d.error)
        )
    if report.progress:
        out.print("workflows:")
    for p in report.progress:
        out.print(f"  [cyan]{escape(p.workflow)}[/] {escape(p.detail)}")
    out.print(f"waiting on you: {len(report.waiting)}")
    for a in report.waiting:
        # The last line is the question itself; a blank question still gets listed.
        question = (a.text.strip().splitlines() or [""])[-1][:100]
        out.print(f"  [yellow]{a.id}[/] ({a.role}) {escape(question)}  -> /approve {a.id}")
    if report.events:
        out.print(
            "recent steps: " + ", ".join(f"{k} {v}" for k, v in sorted(report.events.items()))
        )


def _render_loops(report: StatusReport) -> None:
    """The supervised loops that are down, or were restarted; one line when all are well."""
    troubled = [h for h in report.loops if h.state is State.DOWN or h.restarts]
    if not troubled:
        processes = len({h.process for h in report.loops})
        out.print(f"loops: {len(report.loops)} up in {processes} process(es)")
        return
    out.print("loops down or restarted:")
    for h in troubled:
        since = datetime.fromtimestamp(h.since).strftime("%Y-%m-%d %H:%M:%S")
        style = "red" if h.state is State.DOWN else "yellow"
        out.print(
            f"  [{style}]{escape(h.process)} {escape(h.name)}[/] {h.state} since {since}, "
            f"{h.restarts} restart(s); last error: {escape(h.error or '-')}"
        )


@app.command()
def budget(
    config: ConfigOption = None,
    role: Annotated[str | None, typer.Option(help="the role whose daily limit to set")] = None,
    daily: Annotated[float | None, typer.Option(help="new daily limit of --role")] = None,
    monthly: Annotated[float | None, typer.Option(help="new monthly limit of the company")] = None,
) -> None:
    """Show spend against the limits, or raise a limit; paused threads then resume."""
    if (daily is None) != (role is None):
        _fail("--daily and --role go together: equipage budget --role cto --daily 10", 2)
    with _errors():
        settings, company = _load(config)
        asyncio.run(_budget(settings, company, role, daily, monthly))


async def _budget(
    settings: Settings,
    company: CompanyConfig,
    role: str | None,
    daily: float | None,
    monthly: float | None,
) -> None:
    async with open_session(company, settings) as session:
        if role is not None and role not in company.roles:
            raise ConfigError(f"no role {role!r}; roles are {', '.join(company.roles)}")
        changes = [(role, daily)] if daily is not None else []
        changes += [(None, monthly)] if monthly is not None else []
        for who, amount in changes:
            assert amount is not None
            resumed = await raise_budget(session, role=who, amount=amount)
            what = f"{who}'s daily limit" if who else "the monthly limit"
            out.print(
                f"{what} is now {amount:g} {CURRENCY}; {len(resumed)} paused thread(s) resumed"
            )
        await _render_spend(session)


async def _render_spend(session: Session) -> None:
    spend = await session.crew.budget.spend()
    table = Table(title=f"Spend ({CURRENCY})")
    for column in ("role", "today", "daily limit", "this month"):
        table.add_column(column, justify="right" if column != "role" else "left")
    for role, limit in spend.daily_limits.items():
        table.add_row(
            role, f"{spend.day.get(role, 0):.4f}", f"{limit:g}", f"{spend.month.get(role, 0):.4f}"
        )
    out.print(table)
    out.print(f"company this month: {spend.month_total:.4f} of {spend.monthly_limit:g} {CURRENCY}")
    for thread, spent in await session.crew.budget.top_threads():
        out.print(f"  {escape(thread)}: {spent:.4f}")


pair_app = typer.Typer(help="Let people who asked to join reach the crew.", no_args_is_help=True)
app.add_typer(pair_app, name="pair")


@pair_app.command("list")
def pair_list(config: ConfigOption = None) -> None:
    """Pairing codes waiting for your approval."""
    with _errors():
        settings, company = _load(config)
        pending = asyncio.run(_pairings(settings, company))
    if not pending:
        out.print("No pairing code is waiting.")
    for p in pending:
        out.print(f"[bold]{p.code}[/]  {p.platform} user {escape(p.user)} (chat {escape(p.chat)})")


@pair_app.command("approve")
def pair_approve(
    code: Annotated[str, typer.Argument(help="the code the person received")],
    config: ConfigOption = None,
    as_member: Annotated[
        str | None, typer.Option("--as", help="link to this existing member instead of a new one")
    ] = None,
) -> None:
    """Let the person behind CODE reach the crew."""
    with _errors():
        settings, company = _load(config)
        pairing, member = asyncio.run(_approve_pairing(settings, company, code, as_member))
    out.print(f"{pairing.platform} user {escape(pairing.user)} is now member [bold]{member}[/].")


async def _pairings(settings: Settings, company: CompanyConfig) -> list[Pairing]:
    async with open_session(company, settings) as session:
        return await Members(company, session.redis, session.keys).pending()


async def _approve_pairing(
    settings: Settings, company: CompanyConfig, code: str, as_member: str | None
) -> tuple[Pairing, str]:
    async with open_session(company, settings) as session:
        return await Members(company, session.redis, session.keys).approve(
            code, as_member=as_member
        )


approvals_app = typer.Typer(help="Questions waiting for your answer.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")


@approvals_app.command("show")
def approvals_show(
    question: Annotated[str, typer.Argument(help="the question's id, as in /approve ID")],
    config: ConfigOption = None,
) -> None:
    """The whole of what an open question asks: a call's every argument, unshortened."""
    with _errors():
        settings, company = _load(config)
        approval = asyncio.run(_approval(settings, company, question))
    if approval is None:
        _fail(f"No open question {question}; 'equipage status' lists them.", 2)
    # As stored: hidden characters already shown by their code point; no markup read in it.
    out.print(approval.full or approval.text, markup=False, highlight=False, soft_wrap=True)
    out.print(f"/approve {approval.id}  or  /reject {approval.id} [reason]", markup=False)


async def _approval(settings: Settings, company: CompanyConfig, question: str) -> Approval | None:
    async with open_session(company, settings) as session:
        return await Approvals(session.redis, session.keys).get(question)


workflow_app = typer.Typer(help="The company's recurring jobs, run by hand.", no_args_is_help=True)
app.add_typer(workflow_app, name="workflow")


@workflow_app.command("list")
def workflow_list(config: ConfigOption = None) -> None:
    """Installed workflows, whether company.yaml enables them, and their input fields."""
    with _errors():
        _, company = _load(config)
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
        typer.Option("--set", help="KEY=VALUE on top of the input, e.g. sources.bundled=true"),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="approve every question it asks")] = False,
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for it")] = 600.0,
) -> None:
    """Run one workflow now, as the owner, and print what it reports."""
    with _errors():
        settings, company = _load(config)
        data = read_input(input_file, overrides or ())
        asyncio.run(_workflow_run(settings, company, name, data, yes, timeout))


async def _workflow_run(
    settings: Settings,
    company: CompanyConfig,
    name: str,
    data: dict[str, JsonValue],
    yes: bool,
    timeout: float,
) -> None:
    if (
        name == "live_assist"
        and with_settings(company.workflows.get(name, {}), data).get("source") == "stdin"
    ):
        # The transcript is typed here, but the run goes to whichever worker takes it (an
        # `equipage up` beside, whose stdin is its console): fed from this process, as
        # `equipage live` does.
        session_id = str(data.get("session") or f"live-{uuid.uuid4().hex[:8]}")
        await _live(
            settings, company, session_id, data | {"session": session_id, "source": "redis"}
        )
        return

    async def show(message: Outgoing) -> None:
        _show(message)

    async def decide(message: Outgoing) -> str | None:
        question = message.question
        assert question is not None
        if yes:
            return f"/approve {question.id}"
        if not sys.stdin.isatty():
            return None  # answered later: equipage send '/approve ID'
        agreed = await asyncio.to_thread(typer.confirm, "Approve?", default=False)
        return f"/{'approve' if agreed else 'reject'} {question.id}"

    async with open_session(company, settings) as session:
        for note in session.notes:
            err.print(f"[yellow]note:[/] {note}")
        try:
            await run_workflow(
                session,
                name,
                data,
                member=company.owner,
                on_message=show,
                on_question=decide,
                timeout=timeout,
            )
        except TimeoutError as error:
            _fail(f"{error}; 'equipage status' shows where it stands")


audit_app = typer.Typer(
    help="The audit log: who asked, which agent did what, who approved.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Check the whole audit chain with its key and anchors; exit 1 and say where it breaks."""
    with _errors():
        settings, company = _load(config)
        report = asyncio.run(verify_audit(company, settings))
    _render_audit(report)
    if not report.ok:
        raise typer.Exit(1)


def _render_audit(report: AuditReport) -> None:
    head = report.head
    at = f", head #{head.seq} (entry {head.id})" if head is not None else ""
    if report.ok:
        out.print(f"[green]audit chain whole:[/] {report.entries} entries{at}")
    else:
        count = len(report.breaks) + report.more
        err.print(
            f"[bold red]audit chain broken:[/] {count} problem(s) in {report.entries} entries"
        )
        for problem in report.breaks:
            err.print(f"  {escape(str(problem))}", soft_wrap=True)
        if report.more:
            err.print(f"  ... and {report.more} more")
    if report.anchor is not None:
        out.print(f"checked against {report.anchor.describe()}", soft_wrap=True)
    for note in report.notes():
        out.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


@app.command()
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
    with _errors():
        settings, company = _load(config)
        name = session_id or f"live-{uuid.uuid4().hex[:8]}"
        data: dict[str, JsonValue] = {
            "session": name,
            "source": "redis",
            "interval": interval,
            "language": language,
        }
        asyncio.run(_live(settings, company, name, data))


async def _live(
    settings: Settings, company: CompanyConfig, name: str, data: dict[str, JsonValue]
) -> None:
    # The transcript goes on the session's stream from here; the assistant runs wherever
    # the crew's workers are (in this process when none is running).
    from workflows.live_assist import feed_stdin

    async def show(message: Outgoing) -> None:
        _show(message)

    async with open_session(company, settings) as session:
        err.print(f"[dim]live session {name}: type or pipe 'speaker: text' lines.[/]")
        feeding = asyncio.create_task(feed_stdin(session.redis, session.keys, name))
        try:
            await run_workflow(
                session,
                "live_assist",
                data,
                member=company.owner,
                on_message=show,
                timeout=24 * 3600.0,
            )
        finally:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding


@app.command()
def demo(
    lang: Annotated[str, typer.Option(help="language of the founder: en or fr")] = "en",
    model: Annotated[
        str | None,
        typer.Option(
            help="model of every role [default: anthropic:claude-haiku-4-5 when "
            "ANTHROPIC_API_KEY is set, else offline]"
        ),
    ] = None,
) -> None:
    """Play a founder's conversation with the crew, from nothing."""
    from equipage.demo import REQUESTS, run_demo

    if lang not in REQUESTS:
        _fail(f"--lang must be one of {', '.join(REQUESTS)}", 2)

    def show(who: str, message: Outgoing) -> None:
        if who == "founder":
            out.print(f"\n[bold magenta]founder[/] > {message.text}")
        else:
            _show(message)

    with _errors():
        settings = Settings.from_env()
        chosen = model or (
            "anthropic:claude-haiku-4-5" if settings.anthropic_api_key else "offline"
        )
        out.rule(f"Equipage demo: an embedded Redis in a temporary folder, model {chosen}")
        result = asyncio.run(run_demo(show, lang=lang, model=chosen, settings=settings))
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
        raise typer.Exit(1)
    out.print(
        f"[green]Demo complete:[/] {len(result.crossed)} envelopes crossed the bus. Act one: "
        "the CEO delegated to two roles, both answered, the founder approved, the CEO "
        "confirmed. Act two: marketing ran the tender watch on real notices, the founder "
        f"approved the export ({', '.join(result.exports)}; the demo's folder is removed "
        "at the end), the CEO returned the ranked list."
    )


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


if __name__ == "__main__":
    main()
