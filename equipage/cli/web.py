"""``equipage web login``: the console's address and a one-time login link, for a member."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from equipage.app import open_session
from equipage.cli.common import ConfigOption, fail, load, out, reported
from equipage.config import CompanyConfig, Settings

web_app = typer.Typer(help="The web console.", no_args_is_help=True)


@web_app.command("login")
def web_login(
    member: Annotated[
        str | None, typer.Option(help="the member the link logs in [default: the owner]")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the console's address and a login link that works once, for 15 minutes."""
    from equipage.web.login import LINK_FOR

    with reported():
        settings, company = load(config)
        found = asyncio.run(_link(settings, company, member))
    if found is None:
        fail("No console is served for this crew now; start it with 'equipage up'.")
    address, link = found
    out.print(f"console: {address}", markup=False, highlight=False)
    out.print(
        f"login link (works once, {LINK_FOR // 60} min): {link}", markup=False, highlight=False
    )


async def _link(
    settings: Settings, company: CompanyConfig, member: str | None
) -> tuple[str, str] | None:
    from equipage.web.login import address, login_link, member_of

    who = member_of(company, member)  # an unknown member: ConfigError, said by ``reported``
    async with open_session(company, settings) as session:
        base = await address(session.redis, session.keys)
        link = await login_link(session.redis, session.keys, who)
    return None if base is None or link is None else (base, link)
