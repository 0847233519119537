"""A role agent as a LangGraph graph: the model and the tools take turns until it is done.

State kept in the checkpoint: the messages, the envelope being handled (``inbox``) and
what its handling emits (``outbox``), the origin of the conversation, the delegation this
thread answers (``reply_to``), delegations still pending, and envelopes parked while the
thread waits on a person (the runner hands them back once it is answered).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict

from equipage import tracing
from equipage.approval_text import call_text
from equipage.approvals import Answers, Asked
from equipage.audit import Audit, AuditEntry
from equipage.budget import Budget, Refusal
from equipage.compaction import (
    Compacted,
    estimate_tokens,
    merge_messages,
    split_for_compaction,
    summary_message,
    summary_request,
)
from equipage.drafts import DraftWriter
from equipage.envelope import Answer, Attachment, Envelope, Kind, Origin, Question, ReplyTo
from equipage.events import Event, EventType
from equipage.keys import thread_key
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, paired
from equipage.metered import Metered, ask_to_raise
from equipage.policy import UNTRUSTED_NOTE, Policy, tainted, wrap_untrusted
from equipage.tools import ThreadContext, Toolbox, answer, question_id, to_person
from equipage.unsaid import unsaid

__all__ = [
    "AgentSpec",
    "AgentState",
    "Outbox",
    "build_agent_graph",
    "merge_outbox",
    "thread_id",
]


# Checkpoints record this class by module path: moved, saved checkpoints no longer revive it.
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


def _latest(old: Any, new: Any) -> Any:
    return new


# The runner writes ``inbox``, ``hops``, ``steps``, ``repeats`` and ``answers`` with each
# answer it resumes a thread with. A node may pause twice in one step (a budget question
# asked again), so a step can take two such writes: the latest wins, where a plain value
# would fail the step ("Can receive only one value per step") and the thread with it.
class AgentState(TypedDict, total=False):
    messages: Annotated[list[Message], merge_messages]
    parked: list[Envelope]
    inbox: Annotated[str, _latest]
    outbox: Annotated[Outbox, merge_outbox]
    origin: Origin | None
    reply_to: ReplyTo | None
    hops: Annotated[int, _latest]
    pending: Annotated[dict[str, str], _merge_pending]
    steps: Annotated[int, _latest]
    #: tool call signature -> times called while handling ``inbox``
    repeats: Annotated[dict[str, int], _latest]
    files: tuple[Attachment, ...]  # files of the request the thread works on
    #: answers so far to the questions of a turn that asked several at once
    answers: Annotated[dict[str, Answer], _latest]


Emit = Callable[[Event], Awaitable[None]]
DraftFactory = Callable[..., DraftWriter]  # (cause=, origin=, sender=) -> its writer


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
    budget: Budget | None = None
    audit: Audit | None = None
    policy: Policy = field(default_factory=Policy)
    max_tokens: int = 4096
    max_repeats: int = 2  # identical tool calls allowed per turn before the loop breaker
    compact_at: int = 24_000  # estimated tokens of history that trigger a summary
    keep_recent: int = 8  # messages kept verbatim after a compaction
    language: str = "en"  # the company's first: approvals are worded in it by default
    #: Makes the writer of a reply's draft, shown to its person while it is streamed.
    drafts: DraftFactory | None = None


def thread_id(role: str, thread: str) -> str:
    """LangGraph thread id of a role's conversation thread."""
    return thread_key(role, thread)


def build_agent_graph(spec: AgentSpec) -> StateGraph[Any]:
    """The graph of one role; the checkpointer is given when it is compiled."""
    nodes = _Nodes(spec)
    graph: StateGraph[Any] = StateGraph(AgentState)
    graph.add_node("model", nodes.model)
    graph.add_node("tools", nodes.tools)
    graph.add_node("finish", nodes.finish)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", _route)
    graph.add_edge("tools", "model")
    graph.add_edge("finish", END)
    return graph


def _route(state: AgentState) -> Literal["tools", "finish"]:
    """To the tools while the model calls some; else the turn is finished."""
    last = state["messages"][-1]
    return "tools" if last.role == "assistant" and last.tool_calls else "finish"


class _Nodes:
    """The nodes of one role's graph, and what they share: the role's spec."""

    def __init__(self, spec: AgentSpec) -> None:
        self.spec = spec
        self.metered = Metered(spec.model, spec.budget, spec.role, spec.max_tokens)

    async def model(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        """One model call: the next message, after a summary of the history if it grew long."""
        spec = self.spec
        steps = state.get("steps", 0)
        if steps >= spec.max_steps:
            return await self._stop(
                state,
                config,
                f"{spec.role} stopped after {spec.max_steps} model calls without finishing "
                "this request; ask again more precisely, or look at 'equipage status'.",
            )
        refused = f"{spec.role} stopped: the founder chose not to raise the budget."
        # A call whose run was cut short has no result: say so, as providers require.
        history = paired(state.get("messages", []))
        compacted = False
        if estimate_tokens(history) > spec.compact_at:
            split = split_for_compaction(history, spec.keep_recent)
            if split is not None:
                older, kept = split
                request = [wrap_untrusted(m) for m in summary_request(older)]
                summary = await self._call(request, [], state, config, "summary")
                if isinstance(summary, Refusal):
                    return await self._stop(state, config, refused)
                detail = f"{summary.model}: summary of {len(older)} messages"
                await spec.emit(self._event(EventType.MODEL, config, detail))
                history = [summary_message(summary.content, older), *kept]
                compacted = True
        system = spec.system_prompt
        if tainted(history) or spec.policy.outside:
            system = f"{system.rstrip()}\n\n{UNTRUSTED_NOTE}"
        prompt = [Message.system(system), *(wrap_untrusted(m) for m in history)]
        completion = await self._call(prompt, spec.toolbox.specs(), state, config, "turn")
        if isinstance(completion, Refusal):
            return await self._stop(state, config, refused)
        calls = ", ".join(c.name for c in completion.tool_calls) or "no tool"
        detail = f"{completion.model}: {calls}; cost {completion.usage.cost:.6f}"
        await spec.emit(self._event(EventType.MODEL, config, detail))
        repeats = dict(state.get("repeats") or {})
        for call in completion.tool_calls:
            signature = f"{call.name}:{json.dumps(call.arguments, sort_keys=True)}"
            repeats[signature] = repeats.get(signature, 0) + 1
            if repeats[signature] > spec.max_repeats:
                return await self._stop(
                    state,
                    config,
                    f"{spec.role} stopped: it asked for {call.name} with the same arguments "
                    f"{repeats[signature]} times in one turn, which looks like a loop.",
                )
        said = Message.assistant(completion.content, completion.tool_calls)
        return {
            # A compacted history replaces the old one in the checkpoint.
            "messages": Compacted(items=(*history, said)) if compacted else [said],
            "steps": steps + 1,
            "repeats": repeats,
        }

    async def tools(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        """Run the calls of the model's last message, once the founder allowed them."""
        spec = self.spec
        call_turn = state["messages"][-1]
        here = self._context(state, config)
        results: list[Message] = []
        emitted: list[Envelope] = []
        pending: dict[str, str] = {}
        thread = str(config["configurable"]["thread_id"])
        gated = {c.id: self._approval(state, here, c, thread) for c in call_turn.tool_calls}
        asks = {c.id: spec.toolbox.asks(c, here) for c in call_turn.tool_calls}
        asked = [q for q in (*gated.values(), *asks.values()) if q is not None]
        # Every question of the turn at once, before any call runs: the founder answers
        # them in any order, the thread resumes once with all the answers, and this
        # node's re-run on resume repeats no call. The audit keeps one entry per event.
        answers = _answers(interrupt(Asked(questions=tuple(asked)))) if asked else {}
        for call in call_turn.tool_calls:
            if (gate := gated[call.id]) is not None:
                given = answers.get(gate.id)
                if given is None or not given.approved:
                    refusal = f"refused: the founder did not allow {call.name} here"
                    results.append(Message.tool(call, refusal))
                    who = f"member:{given.member}" if given else "nobody"
                    await self._audit("refused", call, thread, who)
                    continue
            ask = asks[call.id]
            reply = answers.get(ask.id) if ask is not None else None
            with tracing.execute_tool(call) as traced:
                outcome = await spec.toolbox.run(call, here, reply)
                traced.result(outcome.text)
            result = Message.tool(call, outcome.text)
            results.append(result.model_copy(update={"untrusted": outcome.untrusted}))
            emitted.extend(outcome.envelopes)
            pending.update(outcome.pending)
            await self._audit("tool", call, thread, spec.role, outcome.text)
            detail = f"{call.name}: {outcome.text[:160]}"
            await spec.emit(self._event(EventType.TOOL, config, detail))
        return {
            "messages": results,
            "outbox": Outbox(cause=state["inbox"], items=tuple(emitted)),
            "pending": pending,
        }

    async def finish(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        """A final text with no reply sent becomes the reply, unless results are awaited;
        an empty one becomes what was done (``equipage.unsaid``)."""
        last = state["messages"][-1]
        box = state.get("outbox")
        sent = (
            box is not None
            and box.cause == state.get("inbox")
            and any(
                e.sender == self.spec.role and e.kind in (Kind.REPLY, Kind.RESULT, Kind.QUESTION)
                for e in box.items
            )
        )
        if sent or state.get("pending"):
            return {}
        here = self._context(state, config)
        text = last.content if last.content.strip() else ""
        if not text and (here.origin is not None or here.reply_to is not None):
            # Silence reads as a lost message: say what was done instead, or that nothing was.
            told = here.origin.language if here.origin is not None else None
            text = unsaid(state["messages"], told or self.spec.language)
        if not text:
            return {}
        return {"outbox": Outbox(cause=state["inbox"], items=(answer(here, text),))}

    def _context(self, state: AgentState, config: RunnableConfig) -> ThreadContext:
        spec = self.spec
        return ThreadContext(
            company=spec.company,
            role=spec.role,
            thread=_thread(config),
            cause=state.get("inbox", ""),
            hops=state.get("hops", 0),
            origin=state.get("origin"),
            reply_to=state.get("reply_to"),
            tainted=tainted(state.get("messages", [])) or bool(spec.policy.outside),
            files=tuple(state.get("files") or ()),
        )

    async def _stop(self, state: AgentState, config: RunnableConfig, notice: str) -> dict[str, Any]:
        """End the turn and tell the founder why; the thread takes new requests after."""
        await self.spec.emit(self._event(EventType.STOPPED, config, notice))
        told = to_person(self._context(state, config), notice)
        return {
            "messages": [Message.assistant(notice)],
            "outbox": Outbox(cause=state["inbox"], items=(told,)),
        }

    async def _call(
        self,
        prompt: list[Message],
        tools: list[ToolSpec],
        state: AgentState,
        config: RunnableConfig,
        purpose: str,
    ) -> Completion | Refusal:
        """One model call within budget: the completion, or the refusal of a budget that
        is reached when the founder chose not to raise it."""
        thread = str(config["configurable"]["thread_id"])
        # Tagged with the envelope: if this worker dies mid-call, the envelope's
        # redelivery frees the hold rather than the 600 s expiry.
        reserve = ask_to_raise(
            self.spec.role,
            envelope=state.get("inbox", ""),
            key=f"{thread}\0{state.get('inbox')}\0{state.get('steps')}\0{purpose}",
        )
        here = self._context(state, config)
        drafts, origin = self.spec.drafts, here.origin
        if drafts is None or purpose != "turn" or origin is None or here.reply_to is not None:
            return await self.metered.complete(prompt, tools, thread=thread, reserve=reserve)
        # What the model writes for a person is shown to them as it grows (equipage.drafts).
        writer = drafts(cause=here.cause, origin=origin, sender=self.spec.role)
        try:
            return await self.metered.complete(
                prompt, tools, thread=thread, reserve=reserve, on_text=writer
            )
        finally:
            await writer.close()

    def _approval(
        self, state: AgentState, here: ThreadContext, call: ToolCall, thread: str
    ) -> Question | None:
        """The founder's approval ``call`` needs, worded for them; None when it needs none."""
        spec = self.spec
        if not here.tainted or not spec.policy.needs_approval(
            call, workflow_read_only=spec.toolbox.read_only_workflows
        ):
            return None
        sources = [m.name or m.role for m in state["messages"] if m.untrusted]
        sources.extend(spec.policy.outside)
        qid = question_id(spec.role, thread, f"tool-{call.id}")
        origin = here.origin
        language = origin.language if origin is not None and origin.language else spec.language
        shown = call_text(spec.role, call, sources, question_id=qid, language=language)
        return Question(id=qid, text=shown.text, topic="tool", full=shown.full)

    async def _audit(
        self, action: str, call: ToolCall, thread: str, actor: str, result: str = ""
    ) -> None:
        if self.spec.audit is None:
            return
        args = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)[:500]
        detail = f"{call.name} {args}" + (f" -> {result[:200]}" if result else "")
        entry = AuditEntry(action=action, actor=actor, thread=thread, detail=detail)
        await self.spec.audit.append(entry, once=f"{action}:{thread}:{call.id}")

    def _event(self, kind: EventType, config: RunnableConfig, detail: str) -> Event:
        return Event(type=kind, sender=self.spec.role, thread=_thread(config), detail=detail)


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"]).partition(":")[2]


def _answers(value: object) -> dict[str, Answer]:
    """The answers a turn's questions resumed with, by id: one Answer when one was asked."""
    if isinstance(value, Answers):
        return dict(value.items)
    if isinstance(value, dict) and "items" in value:
        return dict(Answers.model_validate(value).items)
    given = Answer.model_validate(value)
    return {given.question_id: given}
