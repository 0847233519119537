"""A role agent as a LangGraph graph: the model and the tools take turns until it is done.

State kept in the checkpoint: the messages, the envelope being handled (``inbox``) and
what its handling emits (``outbox``), the origin of the conversation, the delegation this
thread answers (``reply_to``), delegations still pending, and envelopes parked while the
thread waits on a person (the runner hands them back once it is answered).
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from equipage.envelope import Envelope, Kind, Origin, ReplyTo
from equipage.events import Event, EventType
from equipage.llm.base import ChatModel
from equipage.llm.messages import Message
from equipage.tools import ThreadContext, Toolbox, answer, to_person

__all__ = [
    "AgentSpec",
    "AgentState",
    "Outbox",
    "build_agent_graph",
    "merge_outbox",
    "thread_id",
]


class Outbox(BaseModel):
    """Envelopes emitted while handling the envelope ``cause``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cause: str
    items: tuple[Envelope, ...] = ()


def merge_outbox(old: Outbox | None, new: Outbox) -> Outbox:
    if old is None or old.cause != new.cause:
        return new
    return Outbox(cause=new.cause, items=old.items + new.items)


def _merge_pending(old: dict[str, str] | None, new: dict[str, str]) -> dict[str, str]:
    """Add delegations; an empty role marks one as answered."""
    merged = dict(old or {})
    for call_id, role in new.items():
        if role:
            merged[call_id] = role
        else:
            merged.pop(call_id, None)
    return merged


class AgentState(TypedDict, total=False):
    messages: Annotated[list[Message], operator.add]
    parked: list[Envelope]
    inbox: str
    outbox: Annotated[Outbox, merge_outbox]
    origin: Origin | None
    reply_to: ReplyTo | None
    hops: int
    pending: Annotated[dict[str, str], _merge_pending]
    steps: int


Emit = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class AgentSpec:
    """Everything a role's graph needs, built once per worker."""

    company: str
    role: str
    system_prompt: str
    model: ChatModel
    toolbox: Toolbox
    emit: Emit
    max_steps: int = 12


def thread_id(role: str, thread: str) -> str:
    """LangGraph thread id of a role's conversation thread."""
    return f"{role}:{thread}"


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"]).partition(":")[2]


def build_agent_graph(spec: AgentSpec) -> StateGraph[Any]:
    """The graph of one role; the checkpointer is given when it is compiled."""

    def ctx(state: AgentState, config: RunnableConfig) -> ThreadContext:
        return ThreadContext(
            company=spec.company,
            role=spec.role,
            thread=_thread(config),
            cause=state.get("inbox", ""),
            hops=state.get("hops", 0),
            origin=state.get("origin"),
            reply_to=state.get("reply_to"),
        )

    async def model(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        steps = state.get("steps", 0)
        if steps >= spec.max_steps:
            notice = (
                f"{spec.role} stopped after {spec.max_steps} model calls without finishing "
                "this request; ask again more precisely, or look at 'equipage status'."
            )
            await spec.emit(_event(EventType.STOPPED, spec, _thread(config), notice))
            return {
                "messages": [Message.assistant(notice)],
                "outbox": Outbox(
                    cause=state["inbox"], items=(to_person(ctx(state, config), notice),)
                ),
            }
        prompt = [Message.system(spec.system_prompt), *state.get("messages", [])]
        completion = await spec.model.complete(prompt, spec.toolbox.specs())
        calls = ", ".join(c.name for c in completion.tool_calls) or "no tool"
        await spec.emit(
            _event(EventType.MODEL, spec, _thread(config), f"{completion.model}: {calls}")
        )
        return {
            "messages": [Message.assistant(completion.content, completion.tool_calls)],
            "steps": steps + 1,
        }

    def route(state: AgentState) -> Literal["tools", "finish"]:
        last = state["messages"][-1]
        return "tools" if last.role == "assistant" and last.tool_calls else "finish"

    async def tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        call_turn = state["messages"][-1]
        here = ctx(state, config)
        results: list[Message] = []
        emitted: list[Envelope] = []
        pending: dict[str, str] = {}
        for call in call_turn.tool_calls:
            outcome = await spec.toolbox.run(call, here)
            results.append(Message.tool(call, outcome.text))
            emitted.extend(outcome.envelopes)
            pending.update(outcome.pending)
            await spec.emit(
                _event(EventType.TOOL, spec, _thread(config), f"{call.name}: {outcome.text[:160]}")
            )
        return {
            "messages": results,
            "outbox": Outbox(cause=state["inbox"], items=tuple(emitted)),
            "pending": pending,
        }

    async def finish(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        """A final text with no reply sent becomes the reply, unless results are awaited."""
        last = state["messages"][-1]
        box = state.get("outbox")
        sent = (
            box is not None
            and box.cause == state.get("inbox")
            and any(
                e.sender == spec.role and e.kind in (Kind.REPLY, Kind.RESULT, Kind.QUESTION)
                for e in box.items
            )
        )
        if last.content.strip() and not sent and not state.get("pending"):
            return {
                "outbox": Outbox(
                    cause=state["inbox"], items=(answer(ctx(state, config), last.content),)
                )
            }
        return {}

    graph: StateGraph[Any] = StateGraph(AgentState)
    graph.add_node("model", model)
    graph.add_node("tools", tools)
    graph.add_node("finish", finish)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", route)
    graph.add_edge("tools", "model")
    graph.add_edge("finish", END)
    return graph


def _event(kind: EventType, spec: AgentSpec, thread: str, detail: str) -> Event:
    return Event(type=kind, sender=spec.role, thread=thread, detail=detail)
