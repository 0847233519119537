"""One request by hand (a message, a workflow run), its answers relayed until settled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import JsonValue, ValidationError

from equipage.app.session import Session, make_gateway
from equipage.chat import Incoming, Outgoing, outgoing
from equipage.config import Member
from equipage.envelope import BUS_SENDER, Envelope, Kind, Origin, WorkflowCall, new_id
from equipage.errors import ConfigError, RequestFailed
from equipage.inputs import with_settings
from equipage.status import backlog, live_workers
from equipage.worker import Worker

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
    # LangGraph comes with these: imported for a run, not by every command of the CLI.
    from equipage.tools import workflow_inbox
    from equipage.workflow import load_workflow

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
