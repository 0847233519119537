"""Workflows: a recurring job as a LangGraph graph with a typed input and output.

A workflow is a module ``workflows.<name>`` exposing ``WORKFLOW``, an object with a name,
a description shown to the model, pydantic ``Input`` and ``Output`` types and
``build(ctx) -> StateGraph``. Its graph reads ``state["input"]`` and ends with
``state["output"]``; it may pause on ``interrupt`` for an approval like any agent.
Deterministic work is plain code; ``ctx.model`` is there for judgement and prose only.
A workflow package may add chat commands in its ``commands`` module (``equipage.commands``).

A run the crew starts reaches only the crew's own data: fields marked ``OwnerOnly`` are
set by the owner alone (``equipage.inputs``), and a path it is given is opened with
``ctx.given_file`` (``equipage.crewfiles``).
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol, TypedDict, cast

import redis.asyncio as aioredis
from langgraph.graph import StateGraph
from pydantic import BaseModel, ConfigDict, JsonValue

from equipage import yamlread
from equipage.agent import Outbox, merge_outbox
from equipage.budget import Budget, Refusal
from equipage.config import Profile
from equipage.crewfiles import given_file
from equipage.envelope import Attachment, Envelope, Origin, ReplyTo
from equipage.errors import ConfigError
from equipage.events import Event, EventType
from equipage.inputs import (
    OwnerOnly,
    check_settings,
    crew_refusal,
    owner_only_fields,
    with_settings,
)
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Message
from equipage.metered import Metered

__all__ = [
    "OwnerOnly",
    "Workflow",
    "WorkflowContext",
    "WorkflowState",
    "Written",
    "available_workflows",
    "by_owner",
    "check_settings",
    "crew_refusal",
    "load_workflow",
    "owner_only_fields",
    "read_input",
    "with_settings",
]


class WorkflowState(TypedDict, total=False):
    """Keys every workflow graph carries; a workflow's own state extends this."""

    input: Any
    output: Any
    inbox: str
    outbox: Annotated[Outbox, merge_outbox]
    origin: Origin | None
    reply_to: ReplyTo | None
    request: Envelope
    hops: int
    steps: int
    # Written by the runtime for every thread; unused by workflows, declared so LangGraph
    # does not warn about unknown channels.
    repeats: dict[str, int]
    parked: list[Envelope]


class Written(BaseModel):
    """Prose a workflow asked for, and who wrote it: a model, or ``template``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    by: str


async def _no_emit(event: Event) -> None:
    return None


def by_owner(request: Envelope | None) -> bool:
    """True when the run's input is the owner's own (config, command line), not the crew's.

    A graph run without a request was started by a program of the owner's, not the bus.
    """
    if request is None:
        return True
    return request.workflow is not None and request.workflow.by_owner


@dataclass(frozen=True)
class WorkflowContext:
    """What a workflow's nodes may use.

    ``files`` is where a workflow writes what it hands to people (exports, charts): one
    folder per workflow under ``crew_files``, the crew's own (``.equipage/files/<company>``;
    default: the parent of ``files``). ``emit`` records progress on the events stream
    (see ``progress``).
    """

    company: str
    redis: aioredis.Redis
    keys: Keys
    model: ChatModel
    profile: Profile | None = None
    files: Path = Path(".equipage/files")
    emit: Callable[[Event], Awaitable[None]] = field(default=_no_emit)
    name: str = ""
    company_name: str = ""  # as people write it, e.g. "Nuage Clair" (company is the slug)
    #: Set when this process stops: a node that runs for long (a live call) returns and
    #: raises ``errors.Handover`` so another worker resumes it.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    budget: Budget | None = None
    role: str = ""  # whose budget pays for the model's prose: the entry role's
    max_tokens: int = 4096
    crew_files: Path | None = None

    def given_file(self, raw: str, request: Envelope | None) -> Path | Attachment:
        """The file a path of the input names; OffLimits outside the crew's files unless
        the owner gave it (see ``equipage.crewfiles``)."""
        return given_file(
            raw,
            root=self.crew_files or self.files.parent,
            attachments=request.attachments if request is not None else (),
            by_owner=by_owner(request),
        )

    @property
    def templated(self) -> bool:
        """True when the model writes no prose (offline): drafts come from templates."""
        return bool(getattr(self.model, "templated", False))

    async def write(self, instructions: str, material: str, *, fallback: str) -> Written:
        """Prose from the model, or ``fallback`` (a template) when the model is offline.

        ``material`` is the content to work from (a notice, a transcript); it is fenced as
        data so instructions hidden in it are not followed.
        """
        if self.templated:
            return Written(text=fallback, by="template")
        messages = [
            Message.system(instructions),
            Message.user(f"<material>\n{material}\n</material>"),
        ]
        metered = Metered(
            self.model, self.budget, self.role, self.max_tokens, hold="worst", workflow=self.name
        )
        completion = await metered.complete(messages, [], thread=f"workflow.{self.name}")
        if isinstance(completion, Refusal):
            # A workflow does not stop on a budget: it says so and uses its template.
            return Written(text=fallback, by=f"template ({completion.message()})")
        text = completion.content.strip()
        if not text:
            return Written(text=fallback, by="template")
        return Written(text=text, by=completion.model or self.model.name)

    async def progress(self, detail: str, *, thread: str = "") -> None:
        """Tell the events stream (``equipage status``, the dashboard) how far a run got."""
        await self.emit(
            Event(
                type=EventType.PROGRESS,
                sender=f"workflow.{self.name}",
                thread=thread,
                detail=detail[:500],
            )
        )


class Workflow(Protocol):
    # Read-only members, so that plain class attributes (``Input = DigestInput``,
    # ``handles = ("digest",)``) match: a settable protocol attribute must match exactly.
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def handles(self) -> tuple[str, ...]: ...  # keywords (any language) that call for it
    @property
    def read_only(self) -> bool: ...  # True when running it changes nothing outside the crew
    @property
    def untrusted_output(self) -> bool: ...  # True when its output carries outside content
    # An output that carries outside content only sometimes says so itself, with a true
    # ``untrusted`` attribute (the digest, when it quotes tool names a model chose).
    # Optional ``long_running = True``: a run lasts (a live call) and gets its own worker pool.
    @property
    def Input(self) -> type[BaseModel]: ...
    @property
    def Output(self) -> type[BaseModel]: ...

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        """The job's graph, not yet compiled."""
        ...


def read_input(path: Path | None, overrides: Sequence[str] = ()) -> dict[str, JsonValue]:
    """A workflow input from a JSON or YAML file, with ``key.sub=value`` overrides applied.

    Override values are read as YAML scalars (``true``, ``3``, ``fr``).
    """
    data: Any = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"cannot read the input file: {error.strerror}", path=str(path)
            ) from error
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"the input is not UTF-8 text (byte {error.start}); save it as UTF-8",
                path=str(path),
            ) from error
        data = yamlread.load(text, str(path)) or {}  # JSON is YAML too
        if not isinstance(data, dict):
            raise ConfigError("the input must be a mapping of field: value", path=str(path))
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {override!r}: write KEY=VALUE, e.g. sources.bundled=true")
        *parents, leaf = key.strip().split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {override!r}: {part} is not a mapping in the input")
        node[leaf] = yamlread.load(raw, f"--set {key.strip()}") if raw.strip() else ""
    return cast(dict[str, JsonValue], data)


def available_workflows() -> list[str]:
    """Names of the workflows installed in the ``workflows`` package, sorted."""
    package = importlib.import_module("workflows")
    return sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    )


def load_workflow(name: str) -> Workflow:
    """``workflows.<name>.WORKFLOW``, or a ConfigError naming what is missing."""
    try:
        module = importlib.import_module(f"workflows.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"workflows.{name}":
            raise
        raise ConfigError(
            f"no workflow {name!r}: there is no module workflows/{name}.py; "
            "remove it from 'workflows:' in company.yaml or add the module"
        ) from err
    workflow: Workflow | None = getattr(module, "WORKFLOW", None)
    if workflow is None:
        raise ConfigError(f"workflows.{name} defines no WORKFLOW object")
    return workflow
