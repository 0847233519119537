"""The ``live_assist`` graph: one node that listens to a session until the call ends.

Apart from the package's ``__init__`` so that what the gateway reads there (the chat
commands, the workflow's name and input) comes without LangGraph and the listening loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from equipage.envelope import Envelope
from equipage.errors import Handover, InputRejected
from equipage.workflow import WorkflowContext, WorkflowState
from workflows.live_assist.feeders import feed_stdin, transcript_stdin, websocket_feeder
from workflows.live_assist.models import LiveInput
from workflows.live_assist.session import Audience, Session

__all__ = ["build_graph", "session_for"]

log = logging.getLogger(__name__)


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
        await ctx.progress(_listening(ctx, params, session), thread=audience.thread)
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
    language: str | None = params.language if params.language != "auto" else None
    if language is None and ctx.profile is not None:
        language = ctx.profile.language
    feeder = asyncio.create_task(
        feed_stdin(
            ctx.redis, ctx.keys, session, stdin, max_bytes=params.max_bytes, language=language
        )
    )
    feeder.add_done_callback(_log_refusal)
    try:
        yield
    finally:
        feeder.cancel()
        await asyncio.wait({feeder}, timeout=1.0)


def _log_refusal(task: asyncio.Task[int]) -> None:
    """A refused transcript ended the session (an 'end' segment); say why in the log."""
    if not task.cancelled() and isinstance(task.exception(), InputRejected):
        log.warning("live_assist: %s", task.exception())


def _listening(ctx: WorkflowContext, params: LiveInput, session: str) -> str:
    """The run's progress line, in the founder's language (the call's, else the company's)."""
    language: str | None = params.language if params.language != "auto" else None
    if language is None and ctx.profile is not None:
        language = ctx.profile.language
    if language == "fr":
        return f"écoute de la session en direct {session}"
    return f"listening to live session {session}"
