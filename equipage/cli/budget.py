"""``equipage budget``: spend against the limits, and raising a limit at run time."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from equipage.app import Session, open_session, raise_budget
from equipage.cli.common import ConfigOption, fail, load, out, reported
from equipage.cli.status_words import EN, StatusWords
from equipage.config import CompanyConfig, Settings
from equipage.errors import ConfigError
from equipage.llm.pricing import CURRENCY


def budget(
    config: ConfigOption = None,
    role: Annotated[str | None, typer.Option(help="the role whose daily limit to set")] = None,
    daily: Annotated[float | None, typer.Option(help="new daily limit of --role")] = None,
    monthly: Annotated[float | None, typer.Option(help="new monthly limit of the company")] = None,
) -> None:
    """Show spend against the limits, or raise a limit; paused threads then resume."""
    if (daily is None) != (role is None):
        fail("--daily and --role go together: equipage budget --role cto --daily 10", 2)
    with reported():
        settings, company = load(config)
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
        await render_spend(session)


async def render_spend(session: Session, words: StatusWords = EN) -> None:
    """Each role's spend today and this month against its limits, and the costliest threads."""
    spend = await session.crew.budget.spend()
    table = Table(title=words.spend.format(currency=CURRENCY))
    for n, column in enumerate(words.spend_columns):
        table.add_column(column, justify="right" if n else "left")
    for role, limit in spend.daily_limits.items():
        table.add_row(
            role, f"{spend.day.get(role, 0):.4f}", f"{limit:g}", f"{spend.month.get(role, 0):.4f}"
        )
    out.print(table)
    total = words.month_total.format(
        spent=f"{spend.month_total:.4f}", limit=f"{spend.monthly_limit:g}", currency=CURRENCY
    )
    out.print(total)
    for thread, spent in await session.crew.budget.top_threads():
        out.print(f"  {escape(thread)}: {spent:.4f}")
