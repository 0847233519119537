"""``equipage audit``: check the signed log of who asked, what ran and who approved."""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape

from equipage.app import verify_audit
from equipage.audit import AuditReport
from equipage.cli.common import ConfigOption, err, load, out, reported

audit_app = typer.Typer(
    help="The audit log: who asked, which agent did what, who approved.", no_args_is_help=True
)


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Check the whole audit chain with its key and anchors; exit 1 and say where it breaks."""
    with reported():
        settings, company = load(config)
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
