"""Markdown for people: the full plan file (plan.md) and the short summary sent back.

Figures come from the plan and the runbook; nothing here computes a price. The summary
always says that the workflow executes nothing and that approving a step is a sign-off.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workflows.migration.location import Target
from workflows.migration.plan import MigrationPlan, Totals
from workflows.migration.runbook import Step

__all__ = [
    "SIGN_OFF",
    "Decision",
    "cost_lines",
    "eur",
    "inventory_table",
    "plan_markdown",
    "runbook_lines",
    "unmapped_lines",
]

SIGN_OFF = (
    "This workflow executes nothing: it plans. Approving a step records your sign-off "
    "for that step (an audit trail); the team carries the step out."
)


class Decision(BaseModel):
    """The founder's answer on one runbook step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    title: str
    approved: bool
    by: str = ""
    note: str = ""


def eur(value: float | None) -> str:
    return "unknown" if value is None else f"€{value:,.2f}"


def _num(value: float | None, unit: str = "") -> str:
    return "?" if value is None else f"{value:g}{unit}"


def _cell(text: str) -> str:
    """Table cells hold outside names: no pipes or newlines that would break the table."""
    return text.replace("|", "/").replace("\n", " ")


def inventory_table(plan: MigrationPlan, limit: int | None = None) -> list[str]:
    rows = [
        "| Resource | Kind | Type | Location | vCPU | Memory | Disk | GCP €/month |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shown = plan.planned if limit is None else plan.planned[:limit]
    for item in shown:
        r = item.resource
        size = r.machine_type or r.storage_class or r.engine or ""
        if r.engine:
            size = f"{r.engine} {r.engine_version or ''} {r.machine_type or ''}".strip()
        if r.pools:
            size = ", ".join(f"{p.nodes or '?'} × {p.machine_type}" for p in r.pools)
        rows.append(
            f"| {_cell(r.name)} | {r.kind} | {_cell(size)} | {_cell(r.location)} | "
            f"{_num(r.vcpu)} | {_num(r.memory_gib, ' GiB')} | {_num(r.disk_gib, ' GiB')} | "
            f"{eur(item.before.monthly_eur)} |"
        )
    if limit is not None and len(plan.planned) > limit:
        rows.append(f"| … {len(plan.planned) - limit} more in plan.md | | | | | | | |")
    return rows


def _total_line(t: Totals) -> str:
    pct = f" ({t.savings_pct:.0f} %)" if t.savings_pct is not None else ""
    verb = "saves" if t.savings_eur >= 0 else "costs"
    line = (
        f"- **{t.target.value.title()}**: {eur(t.before_eur)} → {eur(t.after_eur)} per month, "
        f"{verb} {eur(abs(t.savings_eur))}{pct} on the {t.mapped + t.self_managed - t.unpriced} "
        "resource(s) priced on both sides"
    )
    extras = []
    if t.self_managed:
        extras.append(f"{t.self_managed} self-managed")
    if t.unmapped:
        extras.append(f"{t.unmapped} without equivalent")
    if t.unpriced:
        extras.append(f"{t.unpriced} with a size or price unknown, not in the totals")
    return line + (f" ({'; '.join(extras)})" if extras else "") + "."


def cost_lines(plan: MigrationPlan) -> list[str]:
    lines = [_total_line(t) for t in plan.totals]
    known = plan.totals[0].gcp_total_eur if plan.totals else 0.0
    lines.append(f"- Google Cloud today, everything priced: {eur(known)} per month.")
    return lines


def _mapping_table(plan: MigrationPlan, target: Target) -> list[str]:
    rows = [
        "| Resource | Equivalent | Where | Status | GCP €/month | After €/month | Why |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in plan.planned:
        choice = item.choice(target)
        if choice is None:
            continue
        rows.append(
            f"| {_cell(item.resource.name)} | {_cell(choice.offer or '—')} | "
            f"{choice.location or '—'} | {choice.status} | {eur(item.before.monthly_eur)} | "
            f"{eur(choice.cost.monthly_eur)} | {_cell(choice.reason)} |"
        )
    return rows


def unmapped_lines(plan: MigrationPlan) -> list[str]:
    lines = []
    for target in plan.targets:
        for resource, choice in plan.unmapped(target):
            lines.append(
                f"- {target.value}: {resource.name} ({resource.asset_type}): {choice.reason}"
            )
    return lines


def runbook_lines(steps: list[Step], decisions: list[Decision], mbps: float) -> list[str]:
    decided = {d.step: d for d in decisions}
    stop = next((d.step for d in decisions if not d.approved), None)
    lines = []
    for step in steps:
        decision = decided.get(step.number)
        if decision is not None:
            state = "approved" if decision.approved else "rejected"
        else:
            state = "not offered" if stop is not None and step.number > stop else "not yet"
        if step.transfer_gib is None:
            moved = step.transfer_note
        else:
            moved = (
                f"{step.transfer_gib:g} GiB, about {step.hours or 0:.1f} h at {mbps:g} "
                f"Mbit/s, Google egress {eur(step.egress_eur)}"
            )
            if step.transfer_note:
                moved += f" ({step.transfer_note})"
        lines.append(f"{step.number}. **{step.title}** — sign-off: {state}. Data: {moved}.")
    return lines


def _step_detail(step: Step) -> list[str]:
    out = [f"### Step {step.number}. {step.title}", ""]
    out += [f"- {a}" for a in step.actions]
    if step.resources:
        names = ", ".join(step.resources[:12])
        more = f" and {len(step.resources) - 12} more" if len(step.resources) > 12 else ""
        out.append(f"- Resources: {_cell(names)}{more}")
    out.append("- Risks: " + " ".join(step.risks))
    out.append(f"- Rollback: {step.rollback}")
    out.append("")
    return out


def plan_markdown(
    plan: MigrationPlan,
    steps: list[Step],
    files: list[str],
    overview: str,
    overview_by: str,
    mbps: float,
    price_notes: dict[str, str],
) -> str:
    """The whole plan, for plan.md."""
    lines = [
        "# Cloud migration plan: Google Cloud → "
        + " and ".join(t.value.title() for t in plan.targets),
        "",
        overview,
        "",
        f"_Overview written by: {overview_by}._"
        if overview_by != "template"
        else "_Overview from a template (offline model): the figures below are computed._",
        "",
        f"> Prices from the project's price table, checked {plan.prices_checked}; prices "
        f"change. USD converted at {plan.usd_to_eur} EUR per USD "
        f"({plan.usd_to_eur_date}). " + " ".join(price_notes.values()),
        "",
        f"## Inventory ({plan.inventory.records} records from {len(plan.inventory.files)} file(s))",
        "",
        *inventory_table(plan),
        "",
        "## Monthly cost",
        "",
        *cost_lines(plan),
        "",
    ]
    for target in plan.targets:
        lines += [f"## {target.value.title()}", "", *_mapping_table(plan, target), ""]
    unmapped = unmapped_lines(plan)
    lines += ["## Without equivalent", "", *(unmapped or ["- none"]), ""]
    lines += ["## Runbook", "", SIGN_OFF, ""]
    for step in steps:
        lines += _step_detail(step)
    lines += ["## Files", "", *[f"- {f}" for f in files], ""]
    return "\n".join(lines)
