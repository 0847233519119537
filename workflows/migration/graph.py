"""The migration graph: parse → plan (map + price) → generate → write → gate × N → finish.

Everything but the overview paragraph is plain code, so the offline model still yields the
whole plan. The runbook's steps are offered one at a time: the founder approves step 1
before step 2 is asked; a rejection stops the runbook there. The summary, plan.md, the
step questions and the progress steps are in the founder's language (input ``language``,
else the company's).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from equipage.envelope import Answer, Envelope, Question
from equipage.errors import InputRejected
from equipage.tools import question_id
from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import report_language
from workflows.migration.contract import MigrationInput, MigrationOutput
from workflows.migration.inventory import Inventory, read_inventory
from workflows.migration.overview import INSTRUCTIONS, fallback
from workflows.migration.plan import MigrationPlan, build_plan
from workflows.migration.prices import PriceTable, load_prices
from workflows.migration.report import (
    Decision,
    cost_lines,
    plan_markdown,
    runbook_lines,
    step_state,
)
from workflows.migration.report import unmapped_lines as unmapped
from workflows.migration.runbook import Step, build_runbook
from workflows.migration.terraform import generate
from workflows.migration.words import words

__all__ = ["build_graph"]


class _State(WorkflowState, total=False):
    run: str
    language: str  # of the report: "fr" or "en"
    problem: str
    inventory: Inventory
    plan: MigrationPlan
    hcl: dict[str, str]
    runbook: list[Step]
    decisions: list[Decision]
    folder: str
    files: list[str]
    overview: str
    overview_by: str


def build_graph(ctx: WorkflowContext, name: str) -> StateGraph[Any]:
    """The graph, not yet compiled."""
    nodes = _Nodes(ctx, name, load_prices())
    graph: StateGraph[Any] = StateGraph(_State)
    graph.add_node("parse", nodes.parse)
    graph.add_node("plan", nodes.plan)
    graph.add_node("generate", nodes.generate)
    graph.add_node("write", nodes.write)
    graph.add_node("gate", nodes.gate)
    graph.add_node("finish", _finish)
    graph.add_edge(START, "parse")
    graph.add_conditional_edges("parse", _after_parse, ["plan", "finish"])
    graph.add_edge("plan", "generate")
    graph.add_edge("generate", "write")
    graph.add_conditional_edges("write", _after_write, ["gate", "finish"])
    graph.add_conditional_edges("gate", _after_gate, ["gate", "finish"])
    graph.add_edge("finish", END)
    return graph


def _after_parse(state: _State) -> Literal["plan", "finish"]:
    return "finish" if state.get("problem") else "plan"


def _after_write(state: _State) -> Literal["gate", "finish"]:
    return "gate" if state["runbook"] else "finish"


def _after_gate(state: _State) -> Literal["gate", "finish"]:
    """The next step's question, until one is rejected or none is left."""
    decisions = state.get("decisions") or []
    if decisions and not decisions[-1].approved:
        return "finish"
    return "gate" if len(decisions) < len(state["runbook"]) else "finish"


class _Nodes:
    """The nodes that need the run's context, the workflow's name or the price table."""

    def __init__(self, ctx: WorkflowContext, name: str, prices: PriceTable) -> None:
        self.ctx = ctx
        self.name = name
        self.prices = prices

    async def parse(self, state: _State) -> dict[str, Any]:
        """Read the inventory: the files given, the content pasted, the files sent."""
        ctx = self.ctx
        params: MigrationInput = state["input"]
        run = hashlib.sha256(params.model_dump_json().encode()).hexdigest()[:10]
        language = report_language(params.language, ctx.profile, state.get("origin"))
        request = state.get("request")
        # Files sent with a chat request ("plan our move, here is the export") count too.
        sent = [(a.name, a.text) for a in (request.attachments if request else ()) if a.text]
        try:
            # A path the crew gave names the crew's files or a file sent (read above).
            given = [ctx.given_file(raw, request) for raw in params.paths]
            paths = [path for path in given if isinstance(path, Path)]
            inventory = read_inventory(paths, params.content, sent, params.max_bytes)
        except InputRejected as err:  # OffLimits included
            return {"run": run, "language": language, "problem": str(err)}
        if not inventory.resources:
            problem = "the inventory holds no resources: nothing to plan."
            return {"run": run, "language": language, "problem": problem}
        step = words(language)["progress_read"].format(n=inventory.records)
        await ctx.progress(f"migration: {step}")
        return {"run": run, "language": language, "inventory": inventory}

    def plan(self, state: _State) -> dict[str, Any]:
        params: MigrationInput = state["input"]
        made = build_plan(state["inventory"], self.prices, tuple(params.targets))
        return {"plan": made}

    def generate(self, state: _State) -> dict[str, Any]:
        """The OpenTofu files and the runbook."""
        params: MigrationInput = state["input"]
        steps = build_runbook(state["plan"], self.prices, params.bandwidth_mbps, state["language"])
        return {"hcl": generate(state["plan"]), "runbook": steps}

    async def write(self, state: _State) -> dict[str, Any]:
        """The overview, then plan.md and the OpenTofu files in the run's folder."""
        ctx = self.ctx
        params: MigrationInput = state["input"]
        made, steps, language = state["plan"], state["runbook"], state["language"]
        mbps = params.bandwidth_mbps
        material = "\n".join(
            [
                *cost_lines(made, language),
                *unmapped(made, language),
                *runbook_lines(steps, [], mbps, language),
            ]
        )
        written = await ctx.write(
            INSTRUCTIONS.format(language="French" if language == "fr" else "English"),
            material,
            fallback=fallback(made, steps, language),
        )
        folder = Path(ctx.files) / f"plan-{state['run']}"
        files = [*state["hcl"], "plan.md"]
        notes = self.prices.notes_in(language)
        report = plan_markdown(made, steps, files, written.text, written.by, mbps, notes, language)
        _save(folder, {**state["hcl"], "plan.md": report})
        step = words(language)["progress_written"].format(folder=folder)
        await ctx.progress(f"migration: {step}")
        return {
            "folder": str(folder),
            "files": files,
            "overview": written.text,
            "overview_by": written.by,
        }

    def gate(self, state: _State) -> dict[str, Any]:
        """Ask the founder to sign off the next runbook step; record the answer."""
        decisions = state.get("decisions") or []
        steps = state["runbook"]
        step = steps[len(decisions)]
        request: Envelope | None = state.get("request")
        language = state["language"]
        detail = "\n".join(runbook_lines([step], [], state["input"].bandwidth_mbps, language))
        question = Question(
            id=question_id(
                f"workflow.{self.name}",
                request.thread if request else state["run"],
                f"step:{state['run']}:{step.number}",
            ),
            text=words(language)["question"].format(
                n=step.number,
                total=len(steps),
                title=step.title,
                detail=detail,
                risks=" ".join(step.risks),
                rollback=step.rollback,
                folder=state["folder"],
            ),
        )
        # The node re-runs from its start on resume; it only records the answer.
        given = Answer.model_validate(interrupt(question))
        decision = Decision(
            step=step.number,
            title=step.title,
            approved=given.approved,
            by=given.member,
            note=given.text,
        )
        return {"decisions": [*decisions, decision]}


async def _finish(state: _State) -> dict[str, Any]:
    """The output; with a plan written, runbook-state.md beside it tells the sign-offs."""
    params: MigrationInput = state["input"]
    output = MigrationOutput(
        problem=state.get("problem", ""),
        plan=state.get("plan"),
        steps=state.get("runbook") or [],
        decisions=state.get("decisions") or [],
        bandwidth_mbps=params.bandwidth_mbps,
        folder=state.get("folder", ""),
        files=state.get("files") or [],
        overview=state.get("overview", ""),
        overview_by=state.get("overview_by", ""),
        language="fr" if state.get("language") == "fr" else "en",
    )
    if output.plan is not None and output.folder:
        _save(Path(output.folder), {"runbook-state.md": _runbook_state(output)})
        if "runbook-state.md" not in output.files:
            output.files.append("runbook-state.md")
    return {"output": output}


def _runbook_state(output: MigrationOutput) -> str:
    """runbook-state.md: where the runbook stands, its steps, and each sign-off."""
    language, w = output.language, words(output.language)
    lines = [
        output.runbook_state(),
        "",
        *runbook_lines(output.steps, output.decisions, output.bandwidth_mbps, language),
    ]
    lines += [
        w["decision"].format(
            n=d.step,
            state=step_state(d.approved, language),
            by=w["by"].format(member=d.by) if d.by else "",
            note=w["colon"] + d.note if d.note else "",
        )
        for d in output.decisions
    ]
    return "\n".join(lines) + "\n"


def _save(folder: Path, files: dict[str, str]) -> None:
    """Write the files under ``folder``; the same plan rewrites the same files."""
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
