"""The ``digest`` workflow: what the crew did over the last hours, from the events stream.

All counting, no model: the founder asks "what did the crew do today?" and gets figures
they can trust, per role, with the questions asked and anything that failed. The summary
is in French or English (input ``language``, else the company's first language).

Tool calls are counted by name. A model may call a tool by any name it was told, so a
thread tainted by outside content can put words of its choosing there: only the crew's
own tools are figures; any other name is quoted apart, and makes the output untrusted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict, Field

from equipage.config import KNOWN_TOOLS
from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import Asked, language_field, report_language

__all__ = ["WORKFLOW", "DigestInput", "DigestOutput"]


class DigestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: float = Field(24.0, gt=0, le=24 * 31, description="how far back to look")
    language: Asked = language_field()


class DigestOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: float
    handled: dict[str, int]  # envelopes handled, per role
    delegations: int
    questions: int
    answers: int
    model_calls: int
    tool_calls: dict[str, int]  # the crew's own tools
    failures: int
    dead: int
    stopped: int
    language: Literal["fr", "en"] = "en"
    other_tools: dict[str, int] = Field(default_factory=dict)  # names a model chose

    @property
    def untrusted(self) -> bool:
        """True when it quotes tool names a model chose: the runtime fences it then."""
        return bool(self.other_tools)

    def summary(self) -> str:
        """Markdown for the founder, in ``language``."""
        say = _SAY[self.language]
        lines = [say["title"].format(hours=f"{self.hours:g}"), ""]
        if not self.handled:
            lines.append(say["nothing"])
        for role, count in sorted(self.handled.items()):
            lines.append(say["role"].format(role=role, count=count))
        tools = ", ".join(f"{n} {c}" for n, c in sorted(self.tool_calls.items()))
        lines += ["", say["figures"].format(tools=tools or say["none"], **self.model_dump())]
        if self.other_tools:
            most = sorted(self.other_tools.items(), key=lambda item: (-item[1], item[0]))
            # Quoted, on one line: words a model chose, shown as data.
            quoted = [f"{json.dumps(n[:60], ensure_ascii=False)} {c}" for n, c in most[:10]]
            more = say["more"].format(count=len(most) - 10) if len(most) > 10 else ""
            lines.append(say["other"].format(tools=", ".join(quoted) + more))
        return "\n".join(lines)


_SAY = {
    "en": {
        "title": "**Crew activity over the last {hours} h**",
        "nothing": "Nothing was handled in that time.",
        "role": "- {role}: {count} message(s) handled",
        "none": "none",
        "figures": "Delegations: {delegations}. Questions to you: {questions}, answered: "
        "{answers}.\nModel calls: {model_calls}. Tool calls: {tools}.\nFailures retried: "
        "{failures}. Dead letters: {dead}. Threads stopped: {stopped}.",
        "other": "Other tool names, as models wrote them: {tools}.",
        "more": " and {count} more",
    },
    "fr": {
        "title": "**Activité de l'équipe sur les dernières {hours} h**",
        "nothing": "Rien n'a été traité sur cette période.",
        "role": "- {role} : {count} message(s) traité(s)",
        "none": "aucun",
        "figures": "Délégations : {delegations}. Questions qui vous ont été posées : "
        "{questions}, avec réponse : {answers}.\nAppels au modèle : {model_calls}. Appels "
        "d'outils : {tools}.\nÉchecs relancés : {failures}. Lettres mortes : {dead}. Fils "
        "arrêtés : {stopped}.",
        "other": "Autres noms d'outils, tels que les modèles les ont écrits : {tools}.",
        "more": " et {count} autres",
    },
}


class _State(WorkflowState, total=False):
    pass


class Digest:
    name = "digest"
    description = (
        "Counts what the crew did over the last hours (input: hours, default 24; language: "
        "fr|en, the report's, default the company's)"
    )
    handles = ("digest", "activity", "what did the crew do", "activité", "bilan", "résumé")
    read_only = True  # it only counts events
    untrusted_output = False  # figures from the crew's own events (else DigestOutput.untrusted)
    Input = DigestInput
    Output = DigestOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        async def count(state: _State) -> dict[str, Any]:
            params: DigestInput = state["input"]
            since_ms = int((time.time() - params.hours * 3600) * 1000)
            entries: Any = await ctx.redis.xrange(ctx.keys.events, min=f"{since_ms}-0")
            handled: Counter[str] = Counter()
            tools: Counter[str] = Counter()
            others: Counter[str] = Counter()
            kinds: Counter[str] = Counter()
            types: Counter[str] = Counter()
            for _, fields in entries:
                event = json.loads(fields[b"event"])
                types[event["type"]] += 1
                if event["type"] == "handled":
                    handled[event["to"]] += 1
                elif event["type"] == "published":
                    kinds[event["kind"]] += 1
                    # A task published by a role (not a person) is a delegation.
                    if event["kind"] == "task" and not event["sender"].startswith("member:"):
                        kinds["delegation"] += 1
                elif event["type"] == "tool":
                    name = event["detail"].partition(":")[0]
                    (tools if name in KNOWN_TOOLS else others)[name] += 1
            output = DigestOutput(
                hours=params.hours,
                handled=dict(handled),
                delegations=kinds["delegation"],
                questions=kinds["question"],
                answers=kinds["answer"],
                model_calls=types["model"],
                tool_calls=dict(tools),
                other_tools=dict(others),
                failures=types["failed"],
                dead=types["dead"],
                stopped=types["stopped"],
                language=report_language(params.language, ctx.profile, state.get("origin")),
            )
            return {"output": output}

        graph: StateGraph[Any] = StateGraph(_State)
        graph.add_node("count", count)
        graph.add_edge(START, "count")
        graph.add_edge("count", END)
        return graph


WORKFLOW = Digest()
