"""The crews a pool process has loaded: built on first need, kept while used, dropped when not.

An idle crew costs only its keys: nothing of it is loaded until a message or a wake-up
names it. Then its config is read, its graphs compiled and its worker and gateway made
(``Loaded``); the most recently used ``capacity`` crews stay loaded, the least recently
used one with nothing running is closed when a new one needs the room.

Each crew runs under its farm record: its quotas cap its concurrent runs and its monthly
budget, and a crew paused (by the farm, or by its owner's ``/stop``) or being deleted is
not served. The state is read again at most once a ``state_every`` seconds per crew.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.audit import AuditKey
from equipage.bus import Bus, Signal
from equipage.config import CompanyConfig, Settings, load_config
from equipage.crew import Crew as BuiltCrew
from equipage.crew import build_crew
from equipage.errors import CrewRefused
from equipage.farm.crews import Crew, CrewState
from equipage.farm.folder import crew_config
from equipage.farm.registry import Registry
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.worker import Worker

__all__ = ["Loaded", "Runtimes"]

log = logging.getLogger(__name__)

#: Builds the gateway of one crew: (config, bus, budget) -> a ``channels.gateway.Gateway``.
GatewayFactory = Callable[[CompanyConfig, Bus, Any], Any]


@dataclass
class Loaded:
    """One crew ready to serve: its record, config, bus, built crew and worker."""

    record: Crew
    config: CompanyConfig
    keys: Keys
    crew: BuiltCrew
    worker: Worker
    make_gateway: Callable[[], Any]
    #: Runs of this crew in progress in this process.
    running: int = 0
    served: bool = True
    checked: float = 0.0
    #: Its record changed since it was loaded (new quotas): loaded anew once idle.
    stale: bool = False
    #: When it was last asked for (monotonic): an idle crew is unloaded after a while.
    used: float = 0.0
    #: When the pool last trimmed its streams (monotonic; 0: never in this process).
    housekept: float = float("-inf")
    _gateway: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def bus(self) -> Bus:
        return self.crew.bus

    @property
    def cap(self) -> int:
        """Most runs of this crew at once, in this process (its quota)."""
        return self.record.quotas.concurrent_runs

    @property
    def gateway(self) -> Any:
        """The crew's own gateway (access control, commands), made on first use."""
        if self._gateway is None:
            self._gateway = self.make_gateway()
        return self._gateway

    async def aclose(self) -> None:
        if self._gateway is not None:
            await self._gateway.aclose()
        await self.crew.aclose()


class Runtimes:
    """The loaded crews of one farm in one process, least recently used first out."""

    def __init__(
        self,
        root: Path,
        registry: Registry,
        settings: Settings,
        *,
        consumer: str,
        signal: Signal | None = None,
        make_gateway: GatewayFactory | None = None,
        models_for: Callable[[CompanyConfig], Mapping[str, str | ChatModel]] | None = None,
        audit_key: AuditKey | None = None,
        capacity: int = 256,
        idle_after: float = 300.0,
        visibility_timeout: float | None = None,
        state_every: float = 1.0,
    ) -> None:
        self.root = root
        self.registry = registry
        self.settings = settings
        self.consumer = consumer
        self.signal = signal
        self.make_gateway = make_gateway
        #: The model of each role of a crew (default: company.yaml's); the app moves a
        #: role whose provider has no key to the offline model, as for one company.
        self.models_for = models_for
        #: Signs every crew's audit chain: the farm's key (each crew keeps its own chain).
        self.audit_key = audit_key or AuditKey.generate()
        self.capacity = capacity
        #: Seconds a crew with nothing running stays loaded after its last use.
        self.idle_after = idle_after
        #: The farm's, for every crew (its sweep finds stalled entries by it); None: each
        #: crew's company.yaml says.
        self.visibility_timeout = visibility_timeout
        self.state_every = state_every
        self._loaded: OrderedDict[str, Loaded] = OrderedDict()
        self._loading: dict[str, asyncio.Task[Loaded]] = {}

    @property
    def redis(self) -> aioredis.Redis:
        return self.registry.redis

    def __len__(self) -> int:
        return len(self._loaded)

    def peek(self, name: str) -> Loaded | None:
        return self._loaded.get(name)

    def loaded(self) -> list[Loaded]:
        """The crews loaded now, least recently used first."""
        return list(self._loaded.values())

    async def get(self, name: str, *, paused: bool = False) -> Loaded | None:
        """The crew ``name``, loaded if needed; None when it is not served now (unknown,
        being deleted, or paused unless ``paused``: its outbox is still delivered)."""
        loaded = self._loaded.get(name)
        if loaded is None:
            task = self._loading.get(name)
            if task is None:
                task = asyncio.ensure_future(self._load(name))
                self._loading[name] = task
                task.add_done_callback(lambda _: self._loading.pop(name, None))
            try:
                loaded = await asyncio.shield(task)
            except CrewRefused:
                return None
            if name not in self._loaded:
                # Dropped while this caller waited for the load (deleted, or its quotas
                # changed): asked again, which loads it anew or refuses it.
                return await self.get(name, paused=paused)
        self._loaded.move_to_end(name)
        loaded.used = time.monotonic()
        await self._check(loaded)
        if name not in self._loaded:
            return None  # found being deleted
        if loaded.stale and loaded.running == 0:
            await self.drop(name)
            return await self.get(name, paused=paused)
        return loaded if loaded.served or paused else None

    async def _check(self, loaded: Loaded) -> None:
        now = time.monotonic()
        if now - loaded.checked < self.state_every:
            return
        loaded.checked = now
        # One round trip: the farm's state and record of the crew, and its owner's /stop.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.registry.keys.states, loaded.name)
            pipe.hget(self.registry.keys.crews, loaded.name)
            pipe.exists(loaded.keys.paused)
            found, record, paused = await pipe.execute()
        state = _text(found) if found is not None else None
        loaded.served = state == CrewState.ACTIVE and not paused
        if state is None or state == CrewState.DELETING:
            await self.drop(loaded.name)
            return
        if record is not None and Crew.model_validate_json(record).quotas != loaded.record.quotas:
            # Its quotas changed (``equipage crew quota``): they are built into the crew, so
            # it is loaded anew as soon as nothing of it runs.
            loaded.stale = True

    async def _load(self, name: str) -> Loaded:
        record = await self.registry.get(name)
        if record.state is CrewState.DELETING:
            raise CrewRefused(f"crew {name!r} is being deleted")
        config = _with_quotas(load_config(crew_config(self.root, name)), record)
        keys = Keys(name, self.settings.namespace)
        runtime = config.runtime
        bus = Bus(
            self.redis,
            keys,
            max_attempts=runtime.max_attempts,
            visibility_timeout=self.visibility_timeout or runtime.visibility_timeout,
            language=config.company.profile.language,
            signal=self.signal,
        )
        built = build_crew(
            config,
            self.redis,
            keys,
            models=self.models_for(config) if self.models_for else None,
            bus=bus,
            options=self.settings.provider_options(),
            # Its files sit in its own folder, beside its company.yaml: one folder per crew,
            # moved whole by an export.
            files=self.root / "crews",
            audit_key=self.audit_key,
            memory_bytes=record.quotas.memory_bytes,
            files_bytes=record.quotas.files_bytes,
        )
        await built.start()
        await bus.ensure_groups(built.handlers)
        cap = record.quotas.concurrent_runs
        worker = Worker(bus, built.handlers, name=self.consumer, concurrency=cap)
        factory = self.make_gateway

        def gateway() -> Any:
            if factory is None:
                raise RuntimeError("this pool serves no gateway")
            return factory(config, bus, built.budget)

        # Used now: a crew that was never asked for looked idle since the machine booted,
        # and the pool's beat could unload it before its first caller had it.
        loaded = Loaded(record, config, keys, built, worker, gateway, used=time.monotonic())
        self._loaded[name] = loaded
        await self._evict()
        log.info("crew %s loaded (%d loaded)", name, len(self._loaded))
        return loaded

    async def _evict(self) -> None:
        while len(self._loaded) > self.capacity:
            idle = next((n for n, c in self._loaded.items() if c.running == 0), None)
            if idle is None:
                return  # every loaded crew is running: over capacity until one ends
            await self.drop(idle)

    async def unload_idle(self) -> int:
        """Unload the crews unused for ``idle_after`` seconds; return how many went."""
        since = time.monotonic() - self.idle_after
        idle = [
            n for n, c in self._loaded.items() if c.running == 0 and (c.used < since or c.stale)
        ]
        for name in idle:
            await self.drop(name)
        return len(idle)

    async def drop(self, name: str) -> None:
        """Unload ``name`` (its next message loads it again)."""
        loaded = self._loaded.pop(name, None)
        if loaded is not None:
            loaded.worker.leave()
            await loaded.worker.aclose()
            await loaded.aclose()

    async def aclose(self) -> None:
        for name in list(self._loaded):
            await self.drop(name)


def _with_quotas(config: CompanyConfig, record: Crew) -> CompanyConfig:
    """``config`` held to the farm's quotas: the lower of the two monthly budgets."""
    quota = record.quotas.monthly_budget
    runtime = config.runtime
    if runtime.monthly_budget <= quota:
        return config
    return config.model_copy(
        update={"runtime": runtime.model_copy(update={"monthly_budget": quota})}
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
