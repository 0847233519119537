"""The ``live_assist`` workflow: short suggestions to the founder during a live conversation.

A transcriber (``equipage live``, a WebSocket client, any program that XADDs) puts
segments on the session's Redis stream (see ``segments`` for its fields). One graph node
follows the stream until the conversation ends: it keeps a rolling context, spots
objections, questions and topics the company memory knows about in plain code, and sends
an argument, a question or a fact to the founder's chat, at most one per ``interval``
seconds unless the founder asks (``/suggest``). The node holds its worker slot for the
whole call; the worker keeps its bus entry claimed meanwhile, and the cursor in Redis lets
a worker that takes over after a crash resume where the last one stopped, without sending
anything twice.

Modules: ``models`` (input, output), ``segments`` (the stream contract), ``feeders``
(stdin, WebSocket), ``vocabulary`` and ``triggers`` (detection), ``phrasing``
(templates, model brief), ``rolling`` (context), ``store`` (state and its Lua),
``session`` (the loop), ``commands`` (``/suggest`` and ``/endcall`` from chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from equipage.envelope import Envelope
from equipage.errors import Handover
from equipage.workflow import WorkflowContext, WorkflowState
from workflows.live_assist.commands import COMMANDS
from workflows.live_assist.feeders import (
    feed_stdin,
    serve_websocket,
    transcript_stdin,
    websocket_feeder,
)
from workflows.live_assist.models import LiveInput, LiveOutput, Suggestion
from workflows.live_assist.segments import Segment, add_segment, parse_line
from workflows.live_assist.session import Audience, Session, suggestion_id

__all__ = [
    "WORKFLOW",
    "Audience",
    "LiveAssist",
    "LiveInput",
    "LiveOutput",
    "Segment",
    "Session",
    "Suggestion",
    "add_segment",
    "feed_stdin",
    "parse_line",
    "serve_websocket",
    "session_for",
    "suggestion_id",
    "websocket_feeder",
]


class _State(WorkflowState, total=False):
    pass


def session_for(run: str) -> str:
    """The session id made up for a run that named none: short enough to type."""
    return "live-" + hashlib.sha256(run.encode()).hexdigest()[:8]


class LiveAssist:
    name = "live_assist"
    description = (
        "Listens to a live conversation (sales call, meeting) from its transcript and sends "
        "the founder short suggestions as it goes: arguments against objections, questions "
        "to ask, facts from company memory (input: session, interval seconds, language, "
        "idle_timeout; the transcript comes where company.yaml says)"
    )
    # Phrases, not bare words: requests are routed on whole-word matches, and "live"
    # ("we go live Monday") or "appel" ("appels d'offres") would pull in the wrong jobs.
    handles = (
        "pendant mon appel",
        "pendant l'appel",
        "pendant ma réunion",
        "pendant la réunion",
        "appel client",
        "appel commercial",
        "en direct",
        "suggestions en direct",
        "during my call",
        "during the call",
        "during my meeting",
        "during the meeting",
        "sales call",
        "live call",
        "live meeting",
        "live suggestions",
        "live assist",
    )
    long_running = True  # one run lasts the whole call: a worker pool of its own
    read_only = True  # it reads a transcript and writes to the founder only
    untrusted_output = True  # suggestions quote what the other party said
    commands = COMMANDS  # the gateway passes them to the member's running call
    Input = LiveInput
    Output = LiveOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        async def listen(state: _State, config: RunnableConfig) -> dict[str, Any]:
            params: LiveInput = state["input"]
            request: Envelope | None = state.get("request")
            run = request.id if request else str(config["configurable"]["thread_id"])
            session = params.session or session_for(run)
            audience = Audience(
                origin=state.get("origin"),
                thread=request.thread if request else f"live:{session}",
                cause=request.id if request else None,
                hops=state.get("hops") or 0,
            )
            live = Session(ctx, params, session=session, run=run, audience=audience)
            await ctx.progress(f"listening to live session {session}", thread=audience.thread)
            async with _source(ctx, params, session):
                output = await live.run(ctx.stopping)
            if ctx.stopping.is_set() and output.ended == "stopped":
                # This process stops: leave the call to the worker that reclaims it.
                raise Handover(f"live session {session} resumes on another worker")
            return {"output": output}

        graph: StateGraph[Any] = StateGraph(_State)
        graph.add_node("listen", listen)
        graph.add_edge(START, "listen")
        graph.add_edge("listen", END)
        return graph


@contextlib.asynccontextmanager
async def _source(ctx: WorkflowContext, params: LiveInput, session: str) -> AsyncIterator[None]:
    """Run the input's feeder, if any, beside the listening loop."""
    if params.source == "websocket":
        async with websocket_feeder(ctx.redis, ctx.keys, session, params.host, params.port):
            yield
        return
    if params.source == "redis":
        yield
        return
    stdin = transcript_stdin()  # refused here, before listening, when it is up's console
    feeder = asyncio.create_task(feed_stdin(ctx.redis, ctx.keys, session, stdin))
    try:
        yield
    finally:
        feeder.cancel()
        await asyncio.wait({feeder}, timeout=1.0)


WORKFLOW = LiveAssist()
