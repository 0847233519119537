"""Put the parts together for the CLI: a session on Redis with the crew, workers, gateway.

The CLI stays thin: everything it does goes through these functions, which tests call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import JsonValue, ValidationError

from equipage.approvals import Approval, Approvals
from equipage.audit import Anchorer, AuditReport, company_anchorer, company_key, verify_company
from equipage.bus import Bus
from equipage.channelsetup import platform_channels, serve_webhooks
from equipage.chat import Incoming, Outgoing, outgoing
from equipage.claim import claim
from equipage.config import CompanyConfig, Member, Settings
from equipage.connection import RedisTarget, check_server, connect, open_target
from equipage.crew import Crew, build_crew
from equipage.envelope import BUS_SENDER, Envelope, Kind, Origin, WorkflowCall, new_id
from equipage.errors import ConfigError, RequestFailed
from equipage.keys import Keys
from equipage.registry import channel_factory, gateway_class
from equipage.scheduler import Scheduler
from equipage.status import backlog, live_workers
from equipage.supervise import Loop, Supervisor
from equipage.terminal import TerminalInput
from equipage.tools import workflow_inbox
from equipage.worker import Worker, consumer_name
from equipage.workflow import load_workflow, with_settings

__all__ = [
    "Session",
    "converse",
    "model_plan",
    "open_session",
    "raise_budget",
    "run_workflow",
    "serve",
    "verify_audit",
    "worker_pools",
]

log = logging.getLogger(__name__)

_KEY_OF = {"anthropic": "anthropic_api_key", "openai": "openai_api_key"}


def model_plan(config: CompanyConfig, settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The model each role will run, and notes for roles moved to ``offline``.

    A role set to a provider whose API key is missing runs on the offline model, and the
    note says so: the crew still works end to end, and nobody is misled.
    """
    models: dict[str, str] = {}
    notes: list[str] = []
    for role, settings_ in config.roles.items():
        provider = settings_.model.partition(":")[0]
        key = _KEY_OF.get(provider)
        if key and getattr(settings, key) is None:
            models[role] = "offline"
            env = key.upper()
            notes.append(f"{role}: {env} is not set, so it runs on the offline model")
        else:
            models[role] = settings_.model
    return models, notes


@dataclass
class Session:
    """A connection to the company's Redis, with its crew built."""

    settings: Settings
    config: CompanyConfig
    target: RedisTarget
    redis: aioredis.Redis
    keys: Keys
    crew: Crew
    notes: list[str]
    #: Keeps copies of the audit chain's head outside Redis (``serve`` runs it).
    anchorer: Anchorer | None = None

    @property
    def bus(self) -> Bus:
        return self.crew.bus

    @property
    def roles(self) -> list[str]:
        return list(self.crew.handlers)


@contextlib.asynccontextmanager
async def open_session(
    config: CompanyConfig,
    settings: Settings,
    *,
    home: Path | None = None,
    force_offline: bool = False,
) -> AsyncIterator[Session]:
    """Connect (starting the embedded Redis if REDIS_URL is unset) and build the crew."""
    with open_target(settings.redis_url, home or settings.home) as target:
        redis = connect(target)
        try:
            await check_server(redis)
            keys = Keys(config.company.id, settings.namespace)
            source = str(config.source) if config.source else None
            await claim(redis, keys, config.company.name, source=source)
            if force_offline:
                models, notes = dict.fromkeys(config.roles, "offline"), list[str]()
            else:
                models, notes = model_plan(config, settings)
            audit_key = await company_key(settings.audit_key, home or settings.home, redis, keys)
            crew = build_crew(
                config,
                redis,
                keys,
                models=models,
                options=settings.provider_options(),
                files=(home or settings.home) / "files",
                audit_key=audit_key,
            )
            anchorer = company_anchorer(redis, keys, audit_key, home or settings.home)
            try:
                await crew.start()
                await crew.bus.ensure_groups(crew.handlers)
                yield Session(settings, config, target, redis, keys, crew, notes, anchorer)
            finally:
                if target.lost() is None:  # a removed data folder is not half re-made
                    await anchorer.anchor_quietly()  # what this process wrote, before it goes
                await crew.aclose()
        finally:
            await redis.aclose()


def make_gateway(session: Session, channels: dict[str, Any]) -> Any:
    return gateway_class()(session.config, session.bus, channels, budget=session.crew.budget)


async def serve(
    session: Session,
    stop: asyncio.Event,
    *,
    channels: list[str],
    workers: bool = True,
    console_input: bool = False,
    console_user: str | None = None,
) -> None:
    """Run workers, the gateway, ``channels`` and company.yaml's platforms until ``stop``.

    A platform without its secrets raises ConfigError here, before anything runs. Each
    loop runs under a ``Supervisor``: restarted when it fails (Redis away), reported in
    ``equipage status``; one down past ``runtime.recover_within`` stops them all and
    raises ``Unrecoverable``.
    """
    platforms = platform_channels(
        session.config, session.settings, redis=session.redis, keys=session.keys
    )
    adapters = {name: channel_factory(name)() for name in channels} | platforms
    gateway = make_gateway(session, adapters)
    name = consumer_name()
    supervisor = Supervisor(stop, recover_within=session.config.runtime.recover_within)
    loops: list[tuple[str, Loop]] = [("gateway", partial(gateway.deliver, name))]
    # An adapter's run may end by design (webhook mode registers its URL and returns).
    finishing = [(channel, partial(adapter.run, gateway)) for channel, adapter in platforms.items()]
    routes = [route for adapter in platforms.values() for route in adapter.routes(gateway)]
    if routes:
        web = session.config.channels.web
        loops.append(("webhooks", partial(serve_webhooks, routes, web.host, web.port)))
    if workers:
        for worker in worker_pools(session, name):
            loops.append(("workers" + worker.name.removeprefix(name), worker.run))
        if session.config.schedules:
            scheduler = Scheduler(session.config, session.redis, session.keys, session.bus)
            loops.append(("scheduler", scheduler.run))
        if session.anchorer is not None:
            loops.append(("anchorer", session.anchorer.run))
    if console_input and "console" in adapters:
        owner = session.config.owner
        user = console_user or owner.identities.get("console") or owner.id
        # Restarted when it fails, not when it ends: its end is the founder's Ctrl-D.
        finishing.append(("console", partial(_console_loop, gateway, adapters["console"], user)))
    tasks = [asyncio.create_task(supervisor.run(n, loop)) for n, loop in loops]
    tasks += [asyncio.create_task(supervisor.run(n, loop, finishes=True)) for n, loop in finishing]
    tasks.append(asyncio.create_task(supervisor.report(session.redis, session.keys, name)))
    try:
        await stop.wait()
    finally:
        stop.set()
        session.crew.stopping.set()  # long workflow nodes hand over instead of holding on
        await asyncio.gather(*tasks, return_exceptions=True)
        await gateway.aclose()
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


async def _console_loop(gateway: Any, channel: Any, user: str, stop: asyncio.Event) -> None:
    channel.console.print("[dim]Type to talk to the crew; /help for commands, Ctrl-D to quit.[/]")
    # Read by the event loop, not a thread: Ctrl-C (``stop``) ends the wait at once.
    with TerminalInput(sys.stdin.fileno()) as typed:
        while (line := await typed.readline(stop)) is not None:
            incoming = Incoming(channel="console", chat=user, user=user, text=line.strip())
            for answer in await gateway.receive(incoming):
                await channel.send(answer)
    stop.set()  # the founder's Ctrl-D


Say = Callable[[str], Awaitable[list[Outgoing]]]


async def converse(
    session: Session,
    text: str,
    *,
    member: Member,
    on_message: Callable[[Outgoing], Awaitable[None]],
    timeout: float = 300.0,
    on_question: Callable[[Outgoing], Awaitable[str | None]] | None = None,
) -> int:
    """Send one message as ``member`` over the ``cli`` channel; relay answers until settled.

    Settled means: nothing left to handle on any inbox and the outbox read to its end.
    Runs workers in this process when no worker is alive, so it works on its own.
    ``on_question`` may answer a question at once (``/approve ID``) instead of leaving it
    for a later ``equipage send``.
    """

    async def start(say: Say) -> list[Outgoing]:
        return await say(text)

    return await _relay(session, member, start, on_message, on_question, timeout)


async def run_workflow(
    session: Session,
    name: str,
    data: dict[str, JsonValue],
    *,
    member: Member,
    on_message: Callable[[Outgoing], Awaitable[None]],
    timeout: float = 600.0,
    on_question: Callable[[Outgoing], Awaitable[str | None]] | None = None,
) -> int:
    """Run workflow ``name`` by hand for ``member``; relay its messages as ``converse`` does.

    The input is checked against the workflow's ``Input`` first, so a mistake in the input
    file is reported before anything runs. The owner's own run may set owner-only fields
    and give any path (``WorkflowCall.by_owner``); another member's may not.
    """
    workflow = load_workflow(name)
    try:
        workflow.Input.model_validate(with_settings(session.config.workflows.get(name, {}), data))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"workflow {name} refused its input: {problems}") from error

    async def start(say: Say) -> list[Outgoing]:
        run = Envelope(
            kind=Kind.WORKFLOW,
            company=session.keys.company,
            to=workflow_inbox(name),
            sender=f"member:{member.id}",
            thread=f"cli:{member.id}/wf-{name}/{new_id()[:8]}",
            origin=Origin(channel="cli", chat=member.id, member=member.id),
            workflow=WorkflowCall(
                name=name, input=data, by_owner=member.id == session.config.owner.id
            ),
        )
        await session.bus.publish(run)
        return []

    return await _relay(session, member, start, on_message, on_question, timeout)


async def _relay(
    session: Session,
    member: Member,
    start: Callable[[Say], Awaitable[list[Outgoing]]],
    on_message: Callable[[Outgoing], Awaitable[None]],
    on_question: Callable[[Outgoing], Awaitable[str | None]] | None,
    timeout: float,
) -> int:
    """Start, then show every message for ``member`` on the ``cli`` channel until settled."""
    gateway = make_gateway(session, {})
    identity = member.identities.get("console") or member.id
    chat = member.id

    async def say(text: str) -> list[Outgoing]:
        incoming = Incoming(channel="cli", chat=chat, user=identity, text=text)
        return list(await gateway.receive(incoming))

    try:
        return await _follow(session, chat, start, say, on_message, on_question, timeout)
    finally:
        await gateway.aclose()


async def _follow(
    session: Session,
    chat: str,
    start: Callable[[Say], Awaitable[list[Outgoing]]],
    say: Say,
    on_message: Callable[[Outgoing], Awaitable[None]],
    on_question: Callable[[Outgoing], Awaitable[str | None]] | None,
    timeout: float,
) -> int:
    redis, keys = session.redis, session.keys
    last: Any = await redis.xrevrange(keys.outbox, count=1)
    cursor: bytes = last[0][0] if last else b"0-0"
    stop = asyncio.Event()
    local: asyncio.Task[None] | None = None
    if not await live_workers(redis, keys):
        worker = Worker(
            session.bus, session.crew.handlers, concurrency=session.config.runtime.workers
        )
        local = asyncio.create_task(worker.run(stop))
    shown = 0

    async def show(messages: list[Outgoing]) -> None:
        nonlocal shown
        for message in messages:
            await on_message(message)
            shown += 1

    try:
        await show(await start(say))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            settled = await backlog(redis, keys, session.roles) == 0
            reply: Any = await redis.xread({keys.outbox: cursor}, count=50, block=200)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    envelope = Envelope.decode(fields[b"env"])
                    origin = envelope.origin
                    if not (origin and origin.channel == "cli" and origin.chat == chat):
                        continue
                    message = outgoing(envelope)
                    await show([message])
                    if envelope.sender == BUS_SENDER:
                        # The request failed (it is retried, or set aside): said, done.
                        raise RequestFailed(
                            "the crew could not handle it (see above); it is retried while "
                            "a worker runs ('equipage up'), and 'equipage status' shows it"
                        )
                    if message.question is not None and on_question is not None:
                        command = await on_question(message)
                        if command:
                            await show(await say(command))
            if settled and not reply:
                return shown
            if loop.time() > deadline:
                raise TimeoutError(f"the crew was still working after {timeout:.0f}s")
    finally:
        stop.set()
        if local is not None:
            await local


async def raise_budget(
    session: Session, *, role: str | None = None, amount: float
) -> list[Approval]:
    """Raise a limit at run time and resume the threads that a budget paused.

    With ``role``, its daily limit and the threads of that role; without, the company's
    monthly limit and every budget-paused thread. Returns the questions answered.
    """
    budget = session.crew.budget
    await budget.raise_limit(role=role, amount=amount)
    owner = session.config.owner.id
    resumed = []
    for approval in await Approvals(session.redis, session.keys).all():
        if approval.topic != "budget" or (role is not None and approval.role != role):
            continue
        note = f"budget raised to {amount:g}"
        await session.bus.publish(
            approval.answered(
                session.keys.company, member=owner, approved=True, note=note, origin=None
            )
        )
        resumed.append(approval)
    return resumed


async def verify_audit(
    config: CompanyConfig, settings: Settings, *, home: Path | None = None
) -> AuditReport:
    """Check the company's whole audit chain against its anchors (``equipage audit verify``)."""
    where = home or settings.home
    with open_target(settings.redis_url, where) as target:
        redis = connect(target)
        try:
            await check_server(redis)
            keys = Keys(config.company.id, settings.namespace)
            return await verify_company(settings.audit_key, where, redis, keys)
        finally:
            await redis.aclose()
