"""Assemble the crew of a company: one checkpointed agent graph and bus handler per role."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, get_args

import redis.asyncio as aioredis
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from equipage.agent import AgentSpec, Outbox, build_agent_graph
from equipage.approvals import Answers, Asked
from equipage.audit import Audit, AuditKey
from equipage.budget import Budget
from equipage.bus import Bus
from equipage.checkpoint import RedisSaver
from equipage.compaction import Compacted
from equipage.config import CompanyConfig, load_prompt
from equipage.drafts import DraftWriter
from equipage.envelope import (
    Answer,
    Attachment,
    Envelope,
    Kind,
    Origin,
    Question,
    ReplyTo,
    WorkflowCall,
)
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.llm.base import ChatModel, close_model, load_model
from equipage.llm.messages import Message, ToolCall
from equipage.llm.options import ProviderOptions
from equipage.llm.providers import OFFLINE
from equipage.mcp import McpTools
from equipage.memory import Memory
from equipage.policy import Policy
from equipage.prompting import TeamMember, fill, team_section
from equipage.registry import role_tools
from equipage.runtime import ThreadRunner, WorkflowRunner
from equipage.runtime.filesquota import FilesQuotaRunner
from equipage.tools import Toolbox, workflow_inbox
from equipage.worker import Handler
from equipage.workflow import (
    Workflow,
    WorkflowContext,
    available_workflows,
    check_settings,
    crew_refusal,
    load_workflow,
)

__all__ = ["Crew", "build_crew", "serializer", "state_types", "tools_for"]

log = logging.getLogger(__name__)


_STATE_TYPES = (
    Message, ToolCall, Envelope, Kind, Origin, ReplyTo, Question, Answer, Attachment, Asked,
    Answers,
)  # fmt: skip


def serializer(*extra: type) -> JsonPlusSerializer:
    """Checkpoint serializer that revives only Equipage's state types and ``extra``."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[*_STATE_TYPES, WorkflowCall, Outbox, Compacted, *extra]
    )


def _installed(exclude: Collection[str]) -> list[Workflow]:
    """Installed workflows not in ``exclude``; one that does not load is skipped, logged."""
    found = []
    for name in available_workflows():
        if name in exclude:
            continue
        try:
            found.append(load_workflow(name))
        except (ConfigError, ImportError) as error:
            log.warning("workflow %s is not available: %s", name, error)
    return found


def state_types(model: type[BaseModel]) -> set[type]:
    """``model`` and every pydantic model or enum its fields hold, for the serializer."""
    found: set[type] = set()
    todo: list[Any] = [model]
    while todo:
        kind = todo.pop()
        if isinstance(kind, type) and issubclass(kind, BaseModel | Enum):
            if kind in found:
                continue
            found.add(kind)
            if issubclass(kind, BaseModel):
                todo.extend(f.annotation for f in kind.model_fields.values())
        else:
            todo.extend(get_args(kind))
    return found


def tools_for(config: CompanyConfig, role: str) -> tuple[str, ...]:
    """The tools a role may use: company.yaml's ``tools:`` if written, else the role's policy."""
    settings = config.roles[role]
    if "tools" in settings.model_fields_set:
        return tuple(settings.tools)
    return role_tools(role)


@dataclass
class Crew:
    """The handlers of every role, ready for a Worker."""

    config: CompanyConfig
    bus: Bus
    handlers: dict[str, Handler]
    budget: Budget
    #: Role -> its MCP tools, and the policy that holds their side effects.
    mcp: dict[str, tuple[McpTools, Policy]] = field(default_factory=dict)
    #: Every model the crew built, closed with it (providers hold HTTP connections).
    models: list[ChatModel] = field(default_factory=list)
    #: Set when the process stops: long workflow nodes hand their envelope over.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: Inboxes of workflows whose runs last (``long_running``): served by a pool of their own.
    long_running: frozenset[str] = frozenset()
    #: The audit chain the crew signs (``build_crew`` always sets it).
    audit: Audit | None = None

    @property
    def entry_role(self) -> str:
        return self.config.runtime.entry_role

    async def start(self) -> None:
        """Connect the roles' MCP servers and list their tools; before handling anything."""
        try:
            for tools, _ in self.mcp.values():
                await tools.start()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Close the MCP sessions, stop the stdio servers, close the models' connections."""
        for tools, _ in self.mcp.values():
            await tools.aclose()
        for model in self.models:
            await close_model(model)


def build_crew(
    config: CompanyConfig,
    redis: aioredis.Redis,
    keys: Keys,
    *,
    models: Mapping[str, str | ChatModel] | None = None,
    bus: Bus | None = None,
    options: ProviderOptions | None = None,
    files: Path | None = None,
    audit_key: AuditKey | None = None,
    memory_bytes: int | None = None,
    files_bytes: int | None = None,
) -> Crew:
    """Build every role's graph; ``models`` overrides some roles' model specs.

    ``audit_key`` signs the audit chain; without one, a key of this crew's own signs it,
    which only this crew's ``audit`` can check (``open_session`` passes the company's).
    ``memory_bytes`` and ``files_bytes`` hold a farm crew to its quotas (None: no limit).
    """
    runtime = config.runtime
    bus = bus or Bus(
        redis,
        keys,
        max_attempts=runtime.max_attempts,
        visibility_timeout=runtime.visibility_timeout,
        language=config.company.profile.language,
    )
    workflows = [load_workflow(name) for name in config.workflows]
    for workflow in workflows:
        check_settings(workflow.name, workflow.Input, config.workflows[workflow.name])
    # Every installed workflow gets a handler, so one can be run by hand (`equipage
    # workflow run`) and its approvals answered later; agents are offered the enabled ones.
    runnable = [*workflows, *_installed(exclude=config.workflows)]
    parts = _Parts.of(config, redis, keys, bus, options, models or {}, audit_key, files, runnable)
    parts.memory.limit_bytes = memory_bytes
    parts.files_bytes = files_bytes
    handlers: dict[str, Handler] = {}
    for workflow in runnable:
        handlers[workflow_inbox(workflow.name)] = parts.workflow_runner(workflow)
    for role in config.roles:
        handlers[role] = parts.thread_runner(role, workflows)
    return Crew(
        config=config,
        bus=bus,
        handlers=handlers,
        budget=parts.budget,
        mcp=parts.mcp,
        models=parts.built,
        stopping=parts.stopping,
        long_running=frozenset(
            workflow_inbox(w.name) for w in runnable if getattr(w, "long_running", False)
        ),
        audit=parts.audit,
    )


@dataclass
class _Parts:
    """What every handler of a crew shares, and the models and MCP tools built so far."""

    config: CompanyConfig
    redis: aioredis.Redis
    keys: Keys
    bus: Bus
    options: ProviderOptions | None
    #: Role -> the model spec (or model) that overrides company.yaml's.
    models: Mapping[str, str | ChatModel]
    budget: Budget
    audit: Audit
    saver: RedisSaver
    crew_files: Path
    memory: Memory
    #: Most bytes the crew's workflows may store under ``crew_files`` (None: no limit).
    files_bytes: int | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: Every model loaded here, for the crew to close.
    built: list[ChatModel] = field(default_factory=list)
    mcp: dict[str, tuple[McpTools, Policy]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        config: CompanyConfig,
        redis: aioredis.Redis,
        keys: Keys,
        bus: Bus,
        options: ProviderOptions | None,
        models: Mapping[str, str | ChatModel],
        audit_key: AuditKey | None,
        files: Path | None,
        runnable: list[Workflow],
    ) -> _Parts:
        budget = Budget(
            redis,
            keys,
            daily={name: r.daily_budget for name, r in config.roles.items()},
            monthly=config.runtime.monthly_budget,
        )
        types = sorted(
            {t for w in runnable for t in (*state_types(w.Input), *state_types(w.Output))},
            key=lambda t: f"{t.__module__}.{t.__qualname__}",
        )
        return cls(
            config=config,
            redis=redis,
            keys=keys,
            bus=bus,
            options=options,
            models=models,
            budget=budget,
            audit=Audit(redis, keys, audit_key or AuditKey.generate()),
            saver=RedisSaver(redis, keys, serde=serializer(*types)),
            crew_files=(files or Path(".equipage") / "files") / keys.company,
            memory=Memory(redis, keys),
        )

    @property
    def max_tokens(self) -> int:
        return (self.options or ProviderOptions()).max_tokens

    def workflow_runner(self, workflow: Workflow) -> WorkflowRunner:
        """The handler of a workflow's inbox; its prose is paid by the entry role."""
        config, runtime = self.config, self.config.runtime
        context = WorkflowContext(
            company=self.keys.company,
            redis=self.redis,
            keys=self.keys,
            model=self._model(self.models.get(runtime.entry_role, OFFLINE)),
            profile=config.company.profile,
            files=self.crew_files / workflow.name,
            crew_files=self.crew_files,
            emit=self.bus.emit,
            name=workflow.name,
            company_name=config.company.name,
            stopping=self.stopping,
            budget=self.budget,
            role=runtime.entry_role,
            max_tokens=self.max_tokens,
        )
        # A farm crew's files quota: no run starts once its stored files fill it.
        runner = WorkflowRunner if self.files_bytes is None else FilesQuotaRunner
        quota: dict[str, Any] = {}
        if self.files_bytes is not None:
            quota = {"root": self.crew_files, "limit_bytes": self.files_bytes}
        return runner(
            workflow,
            workflow.build(context).compile(checkpointer=self.saver),
            self.redis,
            self.keys,
            emit=self.bus.emit,
            owner=self.config.owner.id,
            audit=self.audit,
            max_hops=runtime.max_hops,
            language=config.company.profile.language,
            settings=config.workflows.get(workflow.name, {}),
            budget=self.budget,
            **quota,
        )

    def thread_runner(self, role: str, workflows: list[Workflow]) -> ThreadRunner:
        """The handler of a role's inbox, offered the enabled ``workflows``."""
        config, runtime = self.config, self.config.runtime
        settings = config.roles[role]
        allowed = tools_for(config, role)
        team = [
            TeamMember(name, r.description, tuple(r.handles)) for name, r in config.roles.items()
        ]
        others = [m for m in team if m.role != role]
        prompt = fill(load_prompt(config, role), config.prompt_variables())
        if "delegate" in allowed and others:
            prompt = f"{prompt.rstrip()}\n\n{team_section(others)}\n"
        mcp_tools = McpTools(settings.mcp, role=role) if settings.mcp else None
        # company.yaml alone says which MCP tools only read; what a server says is not asked.
        policy = (
            Policy(mcp_tools.side_effects(), outside=mcp_tools.metadata_sources())
            if mcp_tools
            else Policy()
        )
        if mcp_tools is not None:
            self.mcp[role] = (mcp_tools, policy)
        # What the crew may not set in a run it starts (owner-only fields), per workflow.
        checks = {
            w.name: partial(crew_refusal, w.name, w.Input, settings=config.workflows[w.name])
            for w in workflows
        }
        spec = AgentSpec(
            company=self.keys.company,
            role=role,
            system_prompt=prompt,
            model=self._model(self.models.get(role, settings.model)),
            toolbox=Toolbox(
                allowed,
                memory=self.memory,
                team=others,
                workflows=[TeamMember(w.name, w.description, tuple(w.handles)) for w in workflows],
                read_only_workflows=[w.name for w in workflows if w.read_only],
                mcp=mcp_tools,
                workflow_checks=checks,
            ),
            policy=policy,
            audit=self.audit,
            emit=self.bus.emit,
            budget=self.budget,
            max_tokens=self.max_tokens,
            compact_at=runtime.compact_at_tokens,
            keep_recent=runtime.keep_recent,
            language=config.company.profile.language,
            drafts=partial(DraftWriter, self.redis, self.keys),
        )
        return ThreadRunner(
            role,
            build_agent_graph(spec).compile(checkpointer=self.saver),
            self.redis,
            self.keys,
            emit=self.bus.emit,
            owner=config.owner.id,
            audit=self.audit,
            max_hops=runtime.max_hops,
            language=config.company.profile.language,
            budget=self.budget,
        )

    def _model(self, spec: str | ChatModel) -> ChatModel:
        """The model for ``spec``; one loaded here is the crew's to close (``built``)."""
        if not isinstance(spec, str):
            return spec
        model = load_model(spec, self.options)
        self.built.append(model)
        return model
