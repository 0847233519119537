"""A chaos worker process: a small crew on the harness's Redis, handling until it is killed.

The harness starts it (``run``, in a process of its own) with a ``WorkerPlan``. Its model is
deterministic (``ChaosModel``): for a founder's message it remembers the message's token,
replies ``done: <token>`` and ends, so every envelope has one known answer and one known
history. A plan may arm a crash window: the process SIGKILLs itself right after its N-th
checkpoint write, tool run, turn taken or commit, or right before its N-th commit. The
windows are opened by wrapping methods here, in the test process: production code has no
hook for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

from equipage.bus import Bus
from equipage.checkpoint import RedisSaver
from equipage.config import CompanyConfig
from equipage.connection import RedisTarget, connect
from equipage.crew import build_crew
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, Usage
from equipage.supervise import Supervisor
from equipage.tools import Toolbox
from equipage.worker import Worker

__all__ = [
    "COMPANY",
    "FOUNDER",
    "WINDOWS",
    "ChaosModel",
    "WorkerPlan",
    "company",
    "prepare",
    "run",
    "token_of",
]

COMPANY = "acme"
FOUNDER = "member:alice"
_TOKEN = re.compile(r"\bt\d+-\d+\b")

#: Crash windows a plan can arm: where the process kills itself, and around which call.
#: ``after`` kills once the call returned (its effect landed), ``before`` just before it.
WINDOWS: dict[str, tuple[type, tuple[str, ...], str]] = {
    "write": (RedisSaver, ("aput", "aput_writes"), "after"),  # a checkpoint write landed
    "tool": (Toolbox, ("run",), "after"),  # a tool ran, its step not yet checkpointed
    "begun": (Bus, ("begin_turn",), "after"),  # the turn and an attempt were taken
    "commit": (Bus, ("commit",), "before"),  # the run ended, nothing committed
    "committed": (Bus, ("commit",), "after"),  # committed, the worker goes no further
}


@dataclass(frozen=True)
class WorkerPlan:
    """Everything one worker process needs; picklable, it crosses the process boundary."""

    socket: str
    namespace: str
    files: str
    log: str
    visibility_timeout: float = 3.0
    lease_ttl: float = 10.0
    heartbeat_stale: float = 5.0
    max_attempts: int = 5
    concurrency: int = 4
    recover_within: float = 120.0
    #: ``window:N`` (a key of ``WINDOWS``): die at the N-th such moment; "" never.
    die_after: str = ""


def token_of(text: str) -> str:
    """The chaos token a founder's message (or a reply) carries, or ""."""
    found = _TOKEN.search(text)
    return found.group(0) if found else ""


def _call(tool: str, call_id: str, **arguments: str) -> Completion:
    call = ToolCall(id=call_id, name=tool, arguments=dict(arguments))
    return Completion(content="", tool_calls=(call,), usage=Usage(), model="chaos")


class ChaosModel:
    """Remember the founder's token, reply ``done: <token>``, end: three calls per message.

    A message ``delegate <token>`` goes through the cto instead: the ceo delegates and ends
    its turn, the cto replies with a result, the ceo's turn on that result replies to the
    founder. Call ids carry the token, so a step run again after a kill asks the same call.
    """

    name = "chaos"

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        last = messages[-1]
        token = token_of(last.content)
        if last.role == "user" and token and last.name == FOUNDER:
            if last.content.startswith("delegate "):
                return _call("delegate", f"del-{token}", role="cto", brief=f"work on {token}")
            return _call("remember", f"rem-{token}", fact=f"chaos token {token} arrived")
        if last.role == "user" and token and last.name == "ceo":  # the cto's brief
            return _call("reply", f"res-{token}", text=f"result for {token}")
        if last.role == "user" and token and last.name == "cto":  # the ceo gets the result
            return _call("reply", f"rep-{token}", text=f"done: {token}")
        if last.role == "tool" and (last.tool_call_id or "").startswith("rem-"):
            token = (last.tool_call_id or "").removeprefix("rem-")
            return _call("reply", f"rep-{token}", text=f"done: {token}")
        return Completion(content="", usage=Usage(), model="chaos")


def company() -> CompanyConfig:
    """Alice's company: a ceo who answers her, and a cto the ceo delegates to."""
    return CompanyConfig.model_validate(
        {
            "company": {"id": COMPANY, "name": "Acme", "profile": {"sells": "hosting"}},
            "members": [
                {
                    "id": "alice",
                    "name": "Alice",
                    "role": "owner",
                    "identities": {"console": "alice"},
                }
            ],
            "roles": {
                "ceo": {"description": "runs the company"},
                "cto": {"description": "runs the tech"},
            },
        }
    )


#: The crew's roles: every one has an inbox the harness watches.
ROLES = tuple(company().roles)


def _arm(die_after: str) -> None:
    """Make this process SIGKILL itself at the N-th moment of the window ``die_after`` names."""
    if not die_after:
        return
    window, _, nth = die_after.partition(":")
    owner, methods, when = WINDOWS[window]
    left = int(nth)

    def hit() -> None:
        nonlocal left
        left -= 1
        if left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @wraps(real)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            if when == "before":
                hit()
            result = await real(*args, **kwargs)
            if when == "after":
                hit()
            return result

        return wrapped

    for method in methods:
        setattr(owner, method, wrap(getattr(owner, method)))


async def _serve(plan: WorkerPlan) -> None:
    redis = connect(RedisTarget(socket=plan.socket))
    keys = Keys(COMPANY, namespace=plan.namespace)
    bus = Bus(
        redis,
        keys,
        max_attempts=plan.max_attempts,
        visibility_timeout=plan.visibility_timeout,
        lease_ttl=plan.lease_ttl,
        heartbeat_stale=plan.heartbeat_stale,
    )
    config = company()
    models: dict[str, str | ChatModel] = {role: ChaosModel() for role in config.roles}
    crew = build_crew(config, redis, keys, models=models, bus=bus, files=Path(plan.files))
    roles = {role: crew.handlers[role] for role in config.roles}
    worker = Worker(bus, roles, concurrency=plan.concurrency, block_ms=200)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    # The loop serve() runs, supervised as serve() supervises it: back after an outage.
    supervisor = Supervisor(stop, recover_within=plan.recover_within, cap=1.0)
    try:
        await supervisor.run("workers", worker.run)
    finally:
        with contextlib.suppress(Exception):
            await crew.aclose()
            await redis.aclose()


def run(plan: WorkerPlan) -> None:
    """The process's entry: log to ``plan.log``, arm the crash window, serve until SIGTERM."""
    prepare(plan)
    asyncio.run(_serve(plan))


def prepare(plan: WorkerPlan) -> None:
    """What a chaos process does first: log to ``plan.log``, arm its crash window."""
    log = open(plan.log, "a", buffering=1)  # noqa: SIM115 - the process's stderr until it dies
    os.dup2(log.fileno(), sys.stderr.fileno())
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format=f"%(asctime)s {os.getpid()} %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.getLogger("equipage.supervise").setLevel(logging.INFO)  # "back after..." too
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness's Ctrl-C stops it, by SIGTERM
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # "tell what you hold": farm processes do
    _arm(plan.die_after)
