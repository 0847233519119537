"""The ``live_assist`` graph: one node that listens to a session until the call ends.

Apart from the package's ``__init__`` so that what the gateway reads there (the chat
commands, the workflow's name and input) comes without LangGraph and the listening loop.
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
from workflows.live_assist.feeders import feed_stdin, transcript_stdin, websocket_feeder
from workflows.live_assist.models import LiveInput
from workflows.live_assist.session import Audience, Session

__all__ = ["build_graph", "session_for"]


class _State(WorkflowState, total=False):
    pass


def session_for(run: str) -> str:
    """The session id made up for a run that named none: short enough to type."""
    return "live-" + hashlib.sha256(run.encode()).hexdigest()[:8]


def build_graph(ctx: WorkflowContext) -> StateGraph[Any]:
    """The graph of one call: ``listen`` follows the session's stream until it ends."""

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
