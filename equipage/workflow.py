"""Workflows: a recurring job as a LangGraph graph with a typed input and output.

A workflow is a module ``workflows.<name>`` exposing ``WORKFLOW``, an object with a name,
a description shown to the model, pydantic ``Input`` and ``Output`` types and
``build(ctx) -> StateGraph``. Its graph reads ``state["input"]`` and ends with
``state["output"]``; it may pause on ``interrupt`` for an approval like any agent.
Deterministic work is plain code; ``ctx.model`` is there for judgement and prose only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypedDict

import redis.asyncio as aioredis
from langgraph.graph import StateGraph
from pydantic import BaseModel

from equipage.agent import Outbox, merge_outbox
from equipage.envelope import Envelope, Origin, ReplyTo
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.llm.base import ChatModel

__all__ = ["Workflow", "WorkflowContext", "WorkflowState", "load_workflow"]


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


@dataclass(frozen=True)
class WorkflowContext:
    """What a workflow's nodes may use."""

    company: str
    redis: aioredis.Redis
    keys: Keys
    model: ChatModel


class Workflow(Protocol):
    name: str
    description: str
    handles: tuple[str, ...]  # keywords (any language) that call for it
    read_only: bool  # True when running it changes nothing outside the crew
    untrusted_output: bool  # True when its output carries content from outside
    Input: type[BaseModel]
    Output: type[BaseModel]

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        """The job's graph, not yet compiled."""
        ...


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
        raise ConfigError(f"workflows/{name}.py defines no WORKFLOW object")
    return workflow
