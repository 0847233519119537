"""Serve a session: workers, the gateway, channels and schedules, each under supervision."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from equipage.app.session import Session, make_gateway
from equipage.channelsetup import platform_channels
from equipage.chat import Incoming, Outgoing
from equipage.health import crew_watch, web_loops
from equipage.registry import channel_factory
from equipage.supervise import Loop, Supervisor
from equipage.terminal import TerminalInput
from equipage.worker import Worker, consumer_name


async def serve(
    session: Session,
    stop: asyncio.Event,
    *,
    channels: list[str],
    workers: bool = True,
    gateway: bool = True,
    console_input: bool = False,
    console_user: str | None = None,
    web_ready: Callable[[str], None] | None = None,
) -> None:
    """Run workers, the gateway, ``channels`` and company.yaml's platforms until ``stop``.

    A platform without its secrets raises ConfigError here, before anything runs. Each
    loop runs under a ``Supervisor``: restarted when it fails (Redis away), reported in
    ``equipage status``; one down past ``runtime.recover_within`` stops them all and
    raises ``Unrecoverable``.

    ``gateway=False`` runs no gateway and no chat platform (a worker pod beside gateway
    pods): it needs no platform secret, and a platform that polls is polled once, by them.
    """
    platforms = (
        platform_channels(session.config, session.settings, redis=session.redis, keys=session.keys)
        if gateway
        else {}
    )
    adapters = {name: channel_factory(name)() for name in channels if gateway} | platforms
    gate = make_gateway(session, adapters)
    name = consumer_name()
    supervisor = Supervisor(stop, recover_within=session.config.runtime.recover_within)
    loops: list[tuple[str, Loop]] = [("gateway", partial(gate.deliver, name))] if gateway else []
    # An adapter's run may end by design (webhook mode registers its URL and returns).
    finishing = [(channel, partial(adapter.run, gate)) for channel, adapter in platforms.items()]
    routes = [route for adapter in platforms.values() for route in adapter.routes(gate)]
    # The probes and the lag (equipage.health) beside the webhooks, or on a port of their own.
    watch = crew_watch(session.redis, session.keys, list(session.crew.handlers))
    web = session.config.channels.web
    loops += web_loops(routes, web, session.settings.health_port, watch)
    if gateway:
        # The web console faces people, as the gateway does: its answers go through it.
        loops.append(("web", partial(_web_console, session, gate.receive, web_ready)))
    if workers:
        for worker in worker_pools(session, name):
            loops.append(("workers" + worker.name.removeprefix(name), worker.run))
    # In every process, workers or not: schedulers agree on each tick through Redis, and a
    # gateway pod keeps the schedules while the worker pods are scaled to zero.
    if session.config.schedules:
        from equipage.scheduler import Scheduler  # croniter, LangGraph: when scheduling

        scheduler = Scheduler(session.config, session.redis, session.keys, session.bus)
        loops.append(("scheduler", scheduler.run))
    if session.anchorer is not None:
        loops.append(("anchorer", session.anchorer.run))
    if console_input and "console" in adapters:
        owner = session.config.owner
        user = console_user or owner.identities.get("console") or owner.id
        # Restarted when it fails, not when it ends: its end is the founder's Ctrl-D.
        finishing.append(("console", partial(_console_loop, gate, adapters["console"], user)))
    tasks = [asyncio.create_task(supervisor.run(n, loop)) for n, loop in loops]
    tasks += [asyncio.create_task(supervisor.run(n, loop, finishes=True)) for n, loop in finishing]
    tasks.append(asyncio.create_task(supervisor.report(session.redis, session.keys, name)))
    try:
        await stop.wait()
    finally:
        stop.set()
        session.crew.stopping.set()  # long workflow nodes hand over instead of holding on
        await asyncio.gather(*tasks, return_exceptions=True)
        await gate.aclose()
        for adapter in platforms.values():
            closer = getattr(adapter, "aclose", None)
            if closer is not None:
                await closer()
    if supervisor.failure is not None:
        # A loop down past runtime.recover_within, or a mistake no retry fixes.
        raise supervisor.failure


def worker_pools(session: Session, name: str) -> list[Worker]:
    """The workers of one process: one for the crew, one for runs that last (a live call).

    A live call holds its handler for as long as the conversation; in a pool of its own it
    cannot take the slots the founder's requests need. Runs of one workflow take at most
    half the crew pool's slots, so a heavy kind of run (coaching on a long transcript)
    cannot hold every slot while the founder's messages wait.
    """
    runtime = session.config.runtime
    handlers = session.crew.handlers
    long = {inbox: h for inbox, h in handlers.items() if inbox in session.crew.long_running}
    short = {inbox: h for inbox, h in handlers.items() if inbox not in long}
    half = max(runtime.workers // 2, 1)
    caps = {inbox: half for inbox in short if inbox not in session.config.roles}
    pools = [Worker(session.bus, short, name=name, concurrency=runtime.workers, caps=caps)]
    if long:
        pools.append(Worker(session.bus, long, name=f"{name}-long", concurrency=runtime.long_runs))
    return pools


async def _web_console(
    session: Session,
    answer: Callable[[Incoming], Awaitable[list[Outgoing]]],
    ready: Callable[[str], None] | None,
    stop: asyncio.Event,
) -> None:
    from equipage.web.context import Console  # Starlette, Jinja2: when serving
    from equipage.web.serve import serve_console

    console = Console(session.redis, session.keys, session.config, session.settings.home)
    await serve_console(console, session.config.channels.web.console, answer, ready, stop)


async def _console_loop(gateway: Any, channel: Any, user: str, stop: asyncio.Event) -> None:
    channel.console.print("[dim]Type to talk to the crew; /help for commands, Ctrl-D to quit.[/]")
    # Read by the event loop, not a thread: Ctrl-C (``stop``) ends the wait at once.
    with TerminalInput(sys.stdin.fileno()) as typed:
        while (line := await typed.readline(stop)) is not None:
            incoming = Incoming(channel="console", chat=user, user=user, text=line.strip())
            for answer in await gateway.receive(incoming):
                await channel.send(answer)
    stop.set()  # the founder's Ctrl-D
