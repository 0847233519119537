"""The migration graph: parse → plan (map + price) → generate → write → gate × N → finish.

Everything but the overview paragraph is plain code, so the offline model still yields the
whole plan. The runbook's steps are offered one at a time: the founder approves step 1
before step 2 is asked; a rejection stops the runbook there. The summary, plan.md and the
step questions are in the founder's language (input ``language``, else the company's).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from equipage.envelope import Answer, Envelope, Question
from equipage.errors import InputRejected
from equipage.tools import question_id
from equipage.workflow import WorkflowContext, WorkflowState
from workflows._language import report_language
from workflows.migration.contract import MigrationInput, MigrationOutput
from workflows.migration.inventory import Inventory, read_inventory
from workflows.migration.plan import MigrationPlan, build_plan
from workflows.migration.prices import load_prices
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
from workflows.migration.words import eur, words

__all__ = ["build_graph"]

_INSTRUCTIONS = (
    "You write the overview of a cloud migration plan for a company's founder, in "
    "{language}. In 4 to 6 sentences: what the inventory holds, what each target costs per "
    "month against Google Cloud today, what has no equivalent, and what the first runbook "
    "step is. Use only the figures in the material; invent none. No headings, no lists."
)


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


def _fallback(plan: MigrationPlan, steps: list[Step], language: str) -> str:
    kinds: dict[str, int] = {}
    for item in plan.planned:
        kinds[item.resource.kind.value] = kinds.get(item.resource.kind.value, 0) + 1
    held = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    against = " contre " if language == "fr" else " against "
    costs = (" ; " if language == "fr" else "; ").join(
        f"{t.target.value.title()} {eur(t.after_eur, language)}{against}"
        f"{eur(t.before_eur, language)}"
        for t in plan.totals
    )
    gaps = len(unmapped(plan))
    if language == "fr":
        return (
            f"L'inventaire compte {len(plan.planned)} ressources ({held}). Coût mensuel de la "
            f"partie chiffrée des deux côtés : {costs} sur Google Cloud aujourd'hui. "
            f"{gaps} placement(s) sans équivalent sont listés avec leur raison. Le runbook a "
            f"{len(steps)} étapes, chacune soumise à votre accord, en commençant par : "
            f"{steps[0].title.lower() if steps else 'rien'}."
        )
    return (
        f"The inventory holds {len(plan.planned)} resources ({held}). Monthly cost of the part "
        f"priced on both sides: {costs} on Google Cloud today. {gaps} placement(s) have no "
        f"equivalent and are listed with the reason. The runbook has {len(steps)} steps, each "
        f"waiting for your sign-off, starting with: "
        f"{steps[0].title.lower() if steps else 'nothing'}."
    )


def _save(folder: Path, files: dict[str, str]) -> None:
    """Write the files under ``folder``; the same plan rewrites the same files."""
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def build_graph(ctx: WorkflowContext, name: str) -> StateGraph[Any]:
    """The graph, not yet compiled."""
    prices = load_prices()

    async def parse(state: _State) -> dict[str, Any]:
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
        await ctx.progress(f"migration: read {inventory.records} records")
        return {"run": run, "language": language, "inventory": inventory}

    def plan(state: _State) -> dict[str, Any]:
        params: MigrationInput = state["input"]
        made = build_plan(state["inventory"], prices, tuple(params.targets))
        return {"plan": made}

    def make(state: _State) -> dict[str, Any]:
        params: MigrationInput = state["input"]
        steps = build_runbook(state["plan"], prices, params.bandwidth_mbps, state["language"])
        return {"hcl": generate(state["plan"]), "runbook": steps}

    async def write(state: _State) -> dict[str, Any]:
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
            _INSTRUCTIONS.format(language="French" if language == "fr" else "English"),
            material,
            fallback=_fallback(made, steps, language),
        )
        folder = Path(ctx.files) / f"plan-{state['run']}"
        files = [*state["hcl"], "plan.md"]
        report = plan_markdown(
            made, steps, files, written.text, written.by, mbps, prices.notes_in(language), language
        )
        _save(folder, {**state["hcl"], "plan.md": report})
        await ctx.progress(f"migration: plan written to {folder}")
        return {
            "folder": str(folder),
            "files": files,
            "overview": written.text,
            "overview_by": written.by,
        }

    def gate(state: _State) -> dict[str, Any]:
        decisions = state.get("decisions") or []
        steps = state["runbook"]
        step = steps[len(decisions)]
        request: Envelope | None = state.get("request")
        language = state["language"]
        detail = "\n".join(runbook_lines([step], [], state["input"].bandwidth_mbps, language))
        question = Question(
            id=question_id(
                f"workflow.{name}",
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

    def after_gate(state: _State) -> str:
        decisions = state.get("decisions") or []
        if decisions and not decisions[-1].approved:
            return "finish"
        return "gate" if len(decisions) < len(state["runbook"]) else "finish"

    async def finish(state: _State) -> dict[str, Any]:
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
            language, w = output.language, words(output.language)
            lines = [
                output.runbook_state(),
                "",
                *runbook_lines(output.steps, output.decisions, params.bandwidth_mbps, language),
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
            _save(Path(output.folder), {"runbook-state.md": "\n".join(lines) + "\n"})
            if "runbook-state.md" not in output.files:
                output.files.append("runbook-state.md")
        return {"output": output}

    graph: StateGraph[Any] = StateGraph(_State)
    for node_name, node in (
        ("parse", parse),
        ("plan", plan),
        ("generate", make),
        ("write", write),
        ("gate", gate),
        ("finish", finish),
    ):
        graph.add_node(node_name, node)
    graph.add_edge(START, "parse")
    graph.add_conditional_edges(
        "parse", lambda s: "finish" if s.get("problem") else "plan", ["plan", "finish"]
    )
    graph.add_edge("plan", "generate")
    graph.add_edge("generate", "write")
    graph.add_conditional_edges(
        "write", lambda s: "gate" if s["runbook"] else "finish", ["gate", "finish"]
    )
    graph.add_conditional_edges("gate", after_gate, ["gate", "finish"])
    graph.add_edge("finish", END)
    return graph
