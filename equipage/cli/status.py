"""``equipage status``: the crew's streams, loops, dead letters, questions and spend.

In a farm's folder (``templates/`` and ``crews/``, as ``equipage farm init`` made it) it
shows each crew instead: state, owner, template, queued work and open questions.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from equipage.app import open_session
from equipage.cli.budget import render_spend
from equipage.cli.common import ConfigOption, load, out, reported
from equipage.cli.status_words import EN as EN_WORDS
from equipage.cli.status_words import StatusWords, status_words
from equipage.config import CompanyConfig, Settings, load_config
from equipage.errors import ConfigError
from equipage.status import (
    CrewStatus,
    StatusReport,
    loop_health,
    read_farm_status,
    read_status,
)
from equipage.supervise import LoopHealth, State


def status(config: ConfigOption = None) -> None:
    """Streams, pending work, dead letters and the threads waiting on you (in a farm: its crews)."""
    with reported():
        root = Path(".")
        if config is None and (root / "templates").is_dir() and (root / "crews").is_dir():
            crews, loops = asyncio.run(_farm_status(root, Settings.from_env()))
            _render_farm(crews)
            if crews:
                _render_loop_health(loops)
            return
        settings, company = load(config)
        asyncio.run(_status(settings, company))


async def _farm_status(root: Path, settings: Settings) -> tuple[list[CrewStatus], list[LoopHealth]]:
    from equipage.farm import crew_config, open_farm

    def roles_of(name: str) -> list[str]:
        try:
            return list(load_config(crew_config(root, name)).roles)
        except ConfigError:
            return []  # its folder is gone or broken: its inboxes are not counted

    async with open_farm(root, settings) as farm:
        crews = await read_farm_status(farm.registry, roles_of)
        return crews, await loop_health(farm.redis, farm.registry.keys)


def _render_farm(crews: list[CrewStatus]) -> None:
    if not crews:
        out.print("The farm has no crew yet; 'equipage crew new NAME --owner PLATFORM:ID'.")
        return
    table = Table(title=f"Farm of {len(crews)} crew(s)")
    for column in ("crew", "state", "owner", "template", "queued", "questions"):
        table.add_column(column, justify="right" if column in ("queued", "questions") else "left")
    for c in crews:
        state = {"active": "green", "paused": "yellow"}.get(c.state, "red")
        table.add_row(
            c.name,
            f"[{state}]{c.state}[/]",
            escape(c.owner),
            escape(c.template),
            str(c.queued),
            str(c.questions),
        )
    out.print(table)


async def _status(settings: Settings, company: CompanyConfig) -> StatusReport:
    async with open_session(company, settings) as session:
        report = await read_status(session.redis, session.keys, session.roles)
        words = status_words(company.company.profile.language)
        _render_status(report, words)
        await render_spend(session, words)
        return report


def _render_status(report: StatusReport, words: StatusWords) -> None:
    table = Table(title=words.crew_of.format(company=report.company))
    for n, column in enumerate(words.columns):
        table.add_column(column, justify="right" if n else "left")
    for s in report.streams:
        table.add_row(s.role, str(s.length), str(s.pending), str(s.undelivered))
    out.print(table)
    out.print(words.workers.format(count=len(report.workers), names=", ".join(report.workers)))
    _render_loop_health(list(report.loops), words)
    out.print(words.sent.format(count=report.outbox_length))
    out.print(words.dead.format(count=report.dead_total))
    for d in report.dead:
        said = words.dead_line.format(attempts=d.attempts, error=escape(d.error))
        out.print(f"  [red]{d.entry}[/] {escape(d.summary)} {said}")
    if report.progress:
        out.print(words.workflows)
    for p in report.progress:
        out.print(f"  [cyan]{escape(p.workflow)}[/] {escape(p.detail)}")
    out.print(words.waiting.format(count=len(report.waiting)))
    for a in report.waiting:
        # The last line is the question itself; a blank question still gets listed.
        question = (a.text.strip().splitlines() or [""])[-1][:100]
        out.print(f"  [yellow]{a.id}[/] ({a.role}) {escape(question)}  -> /approve {a.id}")
    if report.events:
        steps = sorted(report.events.items())
        out.print(words.recent + ", ".join(f"{words.steps.get(k, k)} {v}" for k, v in steps))


def _render_loop_health(loops: list[LoopHealth], words: StatusWords = EN_WORDS) -> None:
    """The supervised loops that are down, or were restarted; one line when all are well."""
    troubled = [h for h in loops if h.state is State.DOWN or h.restarts]
    if not troubled:
        processes = len({h.process for h in loops})
        out.print(words.loops_up.format(count=len(loops), processes=processes))
        return
    out.print(words.loops_down)
    for h in troubled:
        since = datetime.fromtimestamp(h.since).strftime("%Y-%m-%d %H:%M:%S")
        style = "red" if h.state is State.DOWN else "yellow"
        said = words.loop_line.format(
            state=words.states.get(h.state, h.state),
            since=since,
            restarts=h.restarts,
            error=escape(h.error or "-"),
        )
        out.print(f"  [{style}]{escape(h.process)} {escape(h.name)}[/] {said}")
