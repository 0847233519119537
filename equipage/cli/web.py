"""``equipage web login``: the console's address and a one-time login link, for a member.

With ``--farm`` and ``--crew``: a link to the farm's one console, logging a member into
that crew alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import redis.asyncio as aioredis
import typer

from equipage.app import open_session
from equipage.cli.common import ConfigOption, fail, load, out, reported
from equipage.config import CompanyConfig, Settings
from equipage.keys import Keys

web_app = typer.Typer(help="The web console.", no_args_is_help=True)


@web_app.command("login")
def web_login(
    member: Annotated[
        str | None, typer.Option(help="the member the link logs in [default: the owner]")
    ] = None,
    config: ConfigOption = None,
    farm: Annotated[
        Path | None, typer.Option(help="the farm's folder: a link to the farm's console")
    ] = None,
    crew: Annotated[
        str | None, typer.Option(help="with --farm: the crew the member belongs to")
    ] = None,
) -> None:
    """Print the console's address and a login link that works once, for 15 minutes."""
    from equipage.web.login import LINK_FOR

    with reported():
        if (farm is None) != (crew is None):
            raise typer.BadParameter("--farm and --crew go together")
        if farm is not None and crew is not None:
            found = asyncio.run(_farm_link(farm, crew, member, Settings.from_env()))
            off = "No console is served for this farm now; start it with 'equipage farm up'."
        else:
            settings, company = load(config)
            found = asyncio.run(_link(settings, company, member))
            off = "No console is served for this crew now; start it with 'equipage up'."
    if found is None:
        fail(off)
    address, link = found
    out.print(f"console: {address}", markup=False, highlight=False)
    out.print(
        f"login link (works once, {LINK_FOR // 60} min): {link}", markup=False, highlight=False
    )


async def _link(
    settings: Settings, company: CompanyConfig, member: str | None
) -> tuple[str, str] | None:
    from equipage.web.login import member_of

    who = member_of(company, member)  # an unknown member: ConfigError, said by ``reported``
    async with open_session(company, settings) as session:
        return await _made(session.redis, session.keys, who)


async def _farm_link(
    root: Path, crew: str, member: str | None, settings: Settings
) -> tuple[str, str] | None:
    from equipage.config import load_config
    from equipage.farm import crew_config, open_farm
    from equipage.web.login import member_of

    async with open_farm(root, settings) as farm:
        await farm.registry.get(crew)  # an unknown crew: CrewRefused, said by ``reported``
        who = member_of(load_config(crew_config(root, crew)), member)
        return await _made(farm.redis, farm.keys(crew), who)


async def _made(redis: aioredis.Redis, keys: Keys, member: str) -> tuple[str, str] | None:
    from equipage.web.login import address, login_link

    base = await address(redis, keys)
    link = await login_link(redis, keys, member)
    return None if base is None or link is None else (base, link)
