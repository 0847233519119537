"""``equipage approvals``: the whole of a question waiting for the founder's answer."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from equipage.app import open_session
from equipage.approvals import Approval, Approvals
from equipage.cli.common import ConfigOption, fail, load, out, reported
from equipage.config import CompanyConfig, Settings

approvals_app = typer.Typer(help="Questions waiting for your answer.", no_args_is_help=True)


@approvals_app.command("show")
def approvals_show(
    question: Annotated[str, typer.Argument(help="the question's id, as in /approve ID")],
    config: ConfigOption = None,
) -> None:
    """The whole of what an open question asks: a call's every argument, unshortened."""
    with reported():
        settings, company = load(config)
        approval = asyncio.run(_approval(settings, company, question))
    if approval is None:
        fail(f"No open question {question}; 'equipage status' lists them.", 2)
    # As stored: hidden characters already shown by their code point; no markup read in it.
    out.print(approval.full or approval.text, markup=False, highlight=False, soft_wrap=True)
    out.print(f"/approve {approval.id}  or  /reject {approval.id} [reason]", markup=False)


async def _approval(settings: Settings, company: CompanyConfig, question: str) -> Approval | None:
    async with open_session(company, settings) as session:
        return await Approvals(session.redis, session.keys).get(question)
