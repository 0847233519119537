"""``equipage farm up``: serve every crew of the farm from this process."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from equipage.cli.common import out, reported
from equipage.config import Settings
from equipage.registry import channel_factory


def farm_up(
    farm: Annotated[
        Path, typer.Option("--farm", "-f", help="the farm's folder (where 'farm init' ran)")
    ] = Path("."),
    console_as: Annotated[
        str | None,
        typer.Option(
            help="chat in this terminal as this console id (a crew's owner or a farm admin)"
        ),
    ] = None,
    offline: Annotated[bool, typer.Option(help="every crew on the offline model")] = False,
    workers: Annotated[
        bool, typer.Option(help="run the crews' work in this process (the pool of workers)")
    ] = True,
    gateway: Annotated[
        bool,
        typer.Option(help="serve the bots, webhooks and outboxes in this process (needs tokens)"),
    ] = True,
) -> None:
    """Serve every crew: farm.yaml's shared bots, one pool of workers, crews loaded on demand."""
    with reported():
        if not (workers or gateway):
            raise typer.BadParameter("--no-workers and --no-gateway leave nothing to run")
        if console_as is not None and not gateway:
            raise typer.BadParameter("--console-as needs the gateway (drop --no-gateway)")
        if console_as is None and gateway and sys.stdin.isatty():
            out.print("[dim]tip: --console-as ID chats here as that console identity[/]")
        settings = Settings.from_env()
        asyncio.run(_farm_up(farm, settings, console_as, offline, workers, gateway))


async def _farm_up(
    root: Path,
    settings: Settings,
    console_as: str | None,
    offline: bool,
    workers: bool = True,
    gateway: bool = True,
) -> None:
    from equipage.app.farming import open_farm_service, serve_farm

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = {"console": channel_factory("console")()} if console_as else {}
    async with open_farm_service(
        root, settings, channels=console, force_offline=offline, gateway=gateway, workers=workers
    ) as service:
        crews = await service.farm.registry.crews()
        bots = ", ".join(name for name in service.adapters if name != "console") or "none"
        parts = [f"farm up: {len(crews)} crews"]
        parts += [f"shared bots: {bots}"] if gateway else ["no gateway (bots run elsewhere)"]
        parts += [f"pool of {service.config.pool.concurrency}"] if workers else ["no workers"]
        out.print(", ".join(parts))
        # The console is served where the gateway is; its links come from /web in a crew's
        # chat or 'equipage web login --farm'.
        await serve_farm(
            service,
            stop,
            console_user=console_as,
            web_ready=lambda url: out.print(f"web console: {url}", markup=False, highlight=False),
        )
    out.print("stopped.")
