"""``equipage pair``: let people who asked to join reach the crew."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape

from equipage.app import open_session
from equipage.cli.common import ConfigOption, load, out, reported
from equipage.config import CompanyConfig, Settings
from equipage.members import Members, Pairing

pair_app = typer.Typer(help="Let people who asked to join reach the crew.", no_args_is_help=True)


@pair_app.command("list")
def pair_list(config: ConfigOption = None) -> None:
    """Pairing codes waiting for your approval."""
    with reported():
        settings, company = load(config)
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
    with reported():
        settings, company = load(config)
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
