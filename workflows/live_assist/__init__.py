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
(stdin, WebSocket), ``reading`` (a transcript within its size limit), the call's audio
heard by the company's transcriber (``audio_settings``, ``windows`` and ``ogg``: windows
of PCM, WAV or Ogg/Opus; ``listening``: transcribed into segments; ``audio_feeders``: a
growing file, a WebSocket of frames), ``vocabulary``
and ``triggers`` (detection), ``phrasing``
(templates, model brief), ``rolling`` (context), ``store`` (state and its Lua),
``session`` (the loop), ``graph`` (its one node), ``commands`` (``/suggest`` and
``/endcall`` from chat).

This module stays light: the gateway imports ``commands`` (and so this package) to learn
the chat commands, and LangGraph, the loop and the feeders load when the crew builds the
graph, or on first use of their names here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workflows.live_assist.models import LiveInput, LiveOutput, Suggestion
from workflows.live_assist.segments import Segment, add_segment, parse_line

if TYPE_CHECKING:  # what type checkers read; at run time, __getattr__ loads them
    from langgraph.graph import StateGraph

    from equipage.workflow import WorkflowContext
    from workflows.live_assist.feeders import feed_stdin, serve_websocket, websocket_feeder
    from workflows.live_assist.graph import session_for
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

# Public name -> the module of this package that defines it, loaded on first use (PEP 562).
_LAZY = {
    "Audience": "session",
    "Session": "session",
    "suggestion_id": "session",
    "feed_stdin": "feeders",
    "serve_websocket": "feeders",
    "websocket_feeder": "feeders",
    "session_for": "graph",
}


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
    Input = LiveInput
    Output = LiveOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        from workflows.live_assist.graph import build_graph  # LangGraph: when it compiles

        return build_graph(ctx)


WORKFLOW = LiveAssist()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
