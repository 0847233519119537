"""Serve a whole farm from one process: its shared bots, one pool of workers, every crew.

``serve_farm`` is ``equipage farm up``: the bots of ``farm.yaml`` (and the console) hand
what people say to the farm's front gateway, which routes each person to their own crew's
gateway; the pool (``equipage.farm.pool``) runs every crew's work and drains every crew's
outbox through the same bots. A crew is loaded when a message or a wake-up first names it
and unloaded when idle; starting the process loads none.

A crew may also have bots of its own (``equipage.farm.ownbots``): built at start from the
registry's records, they hand what they hear to that crew's gateway only
(``channels.crew_bot``), their webhooks are served under ``/crews/<crew>`` on the same web
server, and every reply of that crew leaves through them (its gateway's adapters are the
farm's, overridden by its own for their platforms). A crew given its own bot while the farm
runs gets it at the next ``farm up``.

The two halves may run apart, as on Kubernetes: ``farm up --no-workers`` holds the bots,
the webhooks and the outboxes (the only processes given the platforms' tokens), ``farm up
--no-gateway`` runs the crews' work (no bot, no token, no web server but the probes). Each
wakes the other through the farm's wake-up streams (``equipage.farm.wake``).

The gateway side also serves the farm's one web console (``equipage.web.farmdoor``):
loopback unless farm.yaml's ``channels.web.console`` says otherwise, each person logged
into their own crew by a link from ``/web`` or ``equipage web login --farm``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from equipage.app.serving import _console_loop
from equipage.app.session import model_plan
from equipage.audit.key import load_key
from equipage.bus import Bus
from equipage.channelsetup import platform_channels
from equipage.config import CompanyConfig, Settings
from equipage.farm.config import FarmConfig, load_farm_config
from equipage.farm.configured import configured_pool
from equipage.farm.folder import Farm, open_farm
from equipage.farm.ownbots import build_own_bots, guarded, mounted
from equipage.farm.pool import Pool
from equipage.farm.runtimes import Runtimes
from equipage.health import farm_watch, web_loops
from equipage.llm.base import ChatModel
from equipage.registry import crew_bot_class, farm_gateway_class, gateway_class
from equipage.supervise import Loop, Supervisor
from equipage.worker import consumer_name

__all__ = ["FarmService", "open_farm_service", "serve_farm"]


@dataclass
class FarmService:
    """A farm ready to serve: its config, registry, loaded crews, pool and front gateway."""

    farm: Farm
    config: FarmConfig
    runtimes: Runtimes
    pool: Pool
    front: Any
    adapters: dict[str, Any]
    #: The crews' own bots: crew -> platform -> adapter.
    own_bots: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What each crew's own bots hand messages to: that crew's gateway.
    own_receivers: dict[str, Any] = field(default_factory=dict)
    #: EQUIPAGE_HEALTH_PORT: the probes on a port of their own (``equipage.health``).
    health_port: int | None = None
    #: The gateway side runs here: bots, outboxes and the web console.
    gateway: bool = True
    #: A crew's gateway by its name, loaded on demand (the console's answers go through it).
    gateway_for: Callable[[str], Awaitable[Any]] | None = None
    #: The farm's home (EQUIPAGE_HOME under its folder): audit key and anchors.
    home: Path | None = None


@contextlib.asynccontextmanager
async def open_farm_service(
    root: Path,
    settings: Settings,
    *,
    channels: Mapping[str, Any] | None = None,
    force_offline: bool = False,
    models: Mapping[str, str | ChatModel] | None = None,
    gateway: bool = True,
    workers: bool = True,
) -> AsyncIterator[FarmService]:
    """Connect to the farm's Redis and put its parts together; nothing is loaded yet.

    ``channels`` are adapters beside farm.yaml's bots (the console, a test's); ``models``
    gives every role of every crew one model (tests, benchmarks). ``gateway=False``: no
    bot is built (no token is needed) and no outbox drained here; ``workers=False``: no
    crew's work is run here.
    """
    if not (gateway or workers):
        raise ValueError("a farm process serves its gateway, its workers, or both")
    config = load_farm_config(root)
    async with open_farm(root, settings) as farm:
        adapters = {**platform_channels(config, settings)} if gateway else {}
        adapters.update(channels or {})
        crews = await farm.registry.crews() if gateway else []
        own = build_own_bots(root, crews, settings, farm.redis)

        def models_for(crew: CompanyConfig) -> Mapping[str, str | ChatModel]:
            if models is not None:
                return {role: models.get(role, models.get("*", "offline")) for role in crew.roles}
            if force_offline:
                return dict.fromkeys(crew.roles, "offline")
            return model_plan(crew, settings)[0]

        def make_gateway(crew: CompanyConfig, bus: Bus, budget: Any) -> Any:
            # A crew with bots of its own answers through them, not through the farm's.
            mine = {**adapters, **own.get(bus.keys.company, {})}
            return gateway_class()(crew, bus, mine, budget=budget)

        audit_key = load_key(settings.audit_key, root / settings.home, create=True)
        pool = configured_pool(
            root,
            farm.registry,
            settings,
            config.pool,
            audit_key=audit_key,
            models_for=models_for,
            make_gateway=make_gateway,
            serve_work=workers,
            serve_outbox=gateway,
        )
        runtimes = pool.runtimes

        async def gateway_for(name: str) -> Any:
            loaded = await runtimes.get(name, paused=True)
            if loaded is None:
                raise LookupError(name)
            return loaded.gateway

        front = farm_gateway_class()(
            farm, gateway_for, language=config.language, forget=runtimes.drop
        )
        receivers = {name: crew_bot_class()(name, farm.registry, gateway_for) for name in own}
        try:
            yield FarmService(
                farm,
                config,
                runtimes,
                pool,
                front,
                adapters,
                own,
                receivers,
                settings.health_port,
                gateway=gateway,
                gateway_for=gateway_for,
                home=root / settings.home,
            )
        finally:
            await runtimes.aclose()
            for adapter in [*adapters.values(), *(a for b in own.values() for a in b.values())]:
                closer = getattr(adapter, "aclose", None)
                if closer is not None:
                    await closer()


async def serve_farm(
    service: FarmService,
    stop: asyncio.Event,
    *,
    console_user: str | None = None,
    web_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the pool, the bots, the webhooks and the console until ``stop``; each loop
    supervised. ``web_ready`` is told the console's address once it is served."""
    supervisor = Supervisor(stop)
    loops: list[tuple[str, Loop]] = [("pool", service.pool.run)]
    finishing: list[tuple[str, Loop]] = [
        (name, partial(adapter.run, service.front))
        for name, adapter in service.adapters.items()
        if hasattr(adapter, "routes")
    ]
    routes = [
        route
        for adapter in service.adapters.values()
        if hasattr(adapter, "routes")
        for route in adapter.routes(service.front)
    ]
    for crew, bots in service.own_bots.items():
        receiver = service.own_receivers[crew]
        mine = [route for adapter in bots.values() for route in adapter.routes(receiver)]
        routes += [mounted(crew, mine)] if mine else []
        finishing += [
            (f"crews/{crew}/{platform}", guarded(crew, platform, partial(adapter.run, receiver)))
            for platform, adapter in bots.items()
        ]
    # The probes and the lag (equipage.health) beside the webhooks, or on a port of their own.
    farm = service.farm
    watch = farm_watch(farm.redis, farm.registry.keys.namespace, service.config.pool.shards)
    loops += web_loops(routes, service.config.channels.web, service.health_port, watch)
    if service.gateway:
        # The console faces people, as the bots do: served where the gateway is.
        loops.append(("web", partial(_web_console, service, web_ready)))
    if console_user is not None and "console" in service.adapters:
        console = service.adapters["console"]
        finishing.append(("console", partial(_console_loop, service.front, console, console_user)))
    tasks = [asyncio.create_task(supervisor.run(n, loop)) for n, loop in loops]
    tasks.append(
        asyncio.create_task(supervisor.report(farm.redis, farm.registry.keys, consumer_name()))
    )
    tasks += [asyncio.create_task(supervisor.run(n, loop, finishes=True)) for n, loop in finishing]
    try:
        await stop.wait()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    if supervisor.failure is not None:
        raise supervisor.failure


async def _web_console(
    service: FarmService, ready: Callable[[str], None] | None, stop: asyncio.Event
) -> None:
    from equipage.web.farmdoor import FarmDoor  # Starlette, Jinja2: when serving
    from equipage.web.serve import serve_farm_console

    farm, config = service.farm, service.config
    door = FarmDoor(
        farm.redis,
        farm.registry.keys.namespace,
        farm.root,
        service.home or farm.root,
        language=config.language,
        shards=config.pool.shards,
        gateway_for=service.gateway_for,
    )
    await serve_farm_console(door, config.channels.web.console, ready, stop)
