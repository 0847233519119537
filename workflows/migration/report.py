"""Markdown for people: the full plan file (plan.md) and the short summary sent back.

Figures come from the plan and the runbook; nothing here computes a price. The summary
always says that the workflow executes nothing and that approving a step is a sign-off.
Every function takes the report's ``language`` (fr or en); the sentences are in ``words``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workflows._language import number
from workflows.migration.carried_text import dropped_count, dropped_lines
from workflows.migration.location import Target
from workflows.migration.plan import MigrationPlan, Totals
from workflows.migration.prices import MAX_AGE_DAYS
from workflows.migration.runbook import Step
from workflows.migration.words import eur, gib, label, said, words

__all__ = [
    "SIGN_OFF",
    "Decision",
    "cost_lines",
    "dated",
    "eur",
    "inventory_table",
    "plan_markdown",
    "read_when",
    "runbook_lines",
    "stale_line",
    "step_state",
    "unmapped_lines",
]

SIGN_OFF = words("en")["sign_off"]


class Decision(BaseModel):
    """The founder's answer on one runbook step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    title: str
    approved: bool
    by: str = ""
    note: str = ""


def _num(value: float | None, language: str) -> str:
    return "?" if value is None else number(value, "g", language)


def _cell(text: str) -> str:
    """Table cells hold outside names: no pipes or newlines that would break the table."""
    return text.replace("|", "/").replace("\n", " ")


def inventory_table(
    plan: MigrationPlan, limit: int | None = None, language: str = "en"
) -> list[str]:
    w = words(language)
    rows = [w["inventory_head"], "|---|---|---|---|---|---|---|---|"]
    shown = plan.planned if limit is None else plan.planned[:limit]
    for item in shown:
        r = item.resource
        size = r.machine_type or r.storage_class or r.engine or ""
        if r.engine:
            size = f"{r.engine} {r.engine_version or ''} {r.machine_type or ''}".strip()
        if r.pools:
            size = ", ".join(f"{p.nodes or '?'} × {p.machine_type}" for p in r.pools)
        rows.append(
            f"| {_cell(r.name)} | {label(r.kind, language)} | {_cell(size)} | "
            f"{_cell(label(r.location, language))} | {_num(r.vcpu, language)} | "
            f"{gib(r.memory_gib, language)} | {gib(r.disk_gib, language)} | "
            f"{eur(item.before.monthly_eur, language)} |"
        )
    if limit is not None and len(plan.planned) > limit:
        rows.append(w["more_rows"].format(n=len(plan.planned) - limit))
    return rows


def dated(date: str, stale: bool, language: str) -> str:
    """`` (prices of 2025)`` beside a total; stale prices say so."""
    w = words(language)
    return w["dated_stale" if stale else "dated"].format(date=date, days=MAX_AGE_DAYS)


def read_when(date: str, language: str) -> str:
    """``in 2025`` for a year or month, ``on 2025-06-30`` for a day."""
    return words(language)["in_year" if len(date) < 10 else "on_day"].format(date=date)


def _total_line(t: Totals, language: str) -> str:
    w = words(language)
    pct = f" ({t.savings_pct:.0f} %)" if t.savings_pct is not None else ""
    line = w["total"].format(
        target=t.target.value.title(),
        before=eur(t.before_eur, language),
        after=eur(t.after_eur, language),
        verb=w["saves"] if t.savings_eur >= 0 else w["costs"],
        diff=eur(abs(t.savings_eur), language),
        pct=pct,
        n=t.mapped + t.self_managed - t.unpriced,
    )
    line += dated(t.prices_date, t.prices_stale, language)
    extras = []
    if t.stopped:
        extras.append(w["stopped"].format(n=t.stopped))
    if t.self_managed:
        extras.append(w["self_managed"].format(n=t.self_managed))
    if t.unmapped:
        extras.append(w["unmapped"].format(n=t.unmapped))
    if t.unpriced:
        extras.append(w["unpriced"].format(n=t.unpriced))
    sep = " ; " if language == "fr" else "; "
    return line + (f" ({sep.join(extras)})" if extras else "") + "."


def cost_lines(plan: MigrationPlan, language: str = "en") -> list[str]:
    lines = [_total_line(t, language) for t in plan.totals]
    known = plan.totals[0].gcp_total_eur if plan.totals else 0.0
    lines.append(
        words(language)["gcp_total"].format(
            total=eur(known, language),
            dated=dated(plan.prices_date, plan.prices_stale, language),
        )
    )
    return lines


def stale_line(plan: MigrationPlan, language: str = "en") -> list[str]:
    """The warning that some prices are stale, or nothing."""
    if not plan.stale_rows:
        return []
    w = words(language)
    return [w["stale_rows"].format(n=plan.stale_rows, total=plan.price_rows, days=MAX_AGE_DAYS)]


def _mapping_table(plan: MigrationPlan, target: Target, language: str) -> list[str]:
    rows = [words(language)["mapping_head"], "|---|---|---|---|---|---|---|"]
    for item in plan.planned:
        choice = item.choice(target)
        if choice is None:
            continue
        rows.append(
            f"| {_cell(item.resource.name)} | {_cell(choice.offer or '—')} | "
            f"{choice.location or '—'} | {label(choice.status, language)} | "
            f"{eur(item.before.monthly_eur, language)} | "
            f"{eur(choice.cost.monthly_eur, language)} | {_cell(said(choice.why, language))} |"
        )
    return rows


def unmapped_lines(plan: MigrationPlan, language: str = "en") -> list[str]:
    colon = words(language)["colon"]
    lines = []
    for target in plan.targets:
        for resource, choice in plan.unmapped(target):
            lines.append(
                f"- {target.value}{colon}{resource.name} ({resource.asset_type}){colon}"
                f"{said(choice.why, language)}"
            )
    return lines


def step_state(approved: bool, language: str = "en") -> str:
    """'approved' or 'rejected', in ``language``."""
    return words(language)["approved" if approved else "rejected"]


def runbook_lines(
    steps: list[Step], decisions: list[Decision], mbps: float, language: str = "en"
) -> list[str]:
    w = words(language)
    decided = {d.step: d for d in decisions}
    stop = next((d.step for d in decisions if not d.approved), None)
    lines = []
    for step in steps:
        decision = decided.get(step.number)
        if decision is not None:
            state = step_state(decision.approved, language)
        else:
            state = w["not_offered"] if stop is not None and step.number > stop else w["not_yet"]
        if step.transfer_gib is None:
            moved = step.transfer_note
        else:
            moved = w["moved"].format(
                gib=f"{step.transfer_gib:g}",
                hours=number(step.hours or 0, ".1f", language),
                mbps=f"{mbps:g}",
                egress=eur(step.egress_eur, language),
            )
            if step.transfer_note:
                moved += f" ({step.transfer_note})"
        lines.append(w["step_line"].format(n=step.number, title=step.title, state=state,
                                           moved=moved))  # fmt: skip
    return lines


def _step_detail(step: Step, language: str) -> list[str]:
    w = words(language)
    out = [w["step_head"].format(n=step.number, title=step.title), ""]
    out += [f"- {a}" for a in step.actions]
    if step.resources:
        names = ", ".join(step.resources[:12])
        more = w["more"].format(n=len(step.resources) - 12) if len(step.resources) > 12 else ""
        out.append(w["resources"].format(names=_cell(names), more=more))
    out.append(w["risks"] + " ".join(step.risks))
    out.append(w["rollback"].format(rollback=step.rollback))
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
    language: str = "en",
) -> str:
    """The whole plan, for plan.md."""
    w = words(language)
    targets = w["and"].join(t.value.title() for t in plan.targets)
    lines = [
        w["plan_title"].format(targets=targets),
        "",
        overview,
        "",
        w["overview_by"].format(by=overview_by)
        if overview_by != "template"
        else w["overview_template"],
        "",
        w["prices_note"].format(
            checked=read_when(plan.prices_date, language),
            rate=plan.usd_to_eur,
            date=plan.usd_to_eur_date,
        )
        + " ".join(price_notes.values()),
        "",
        *stale_line(plan, language),
        "",
        w["inventory_heading"].format(
            records=plan.inventory.records, files=len(plan.inventory.files)
        ),
        "",
        *inventory_table(plan, language=language),
        "",
        w["cost_heading"],
        "",
        *cost_lines(plan, language),
        "",
    ]
    for target in plan.targets:
        lines += [f"## {target.value.title()}", "", *_mapping_table(plan, target, language), ""]
    unmapped = unmapped_lines(plan, language)
    lines += [w["unmapped_heading"], "", *(unmapped or [f"- {w['no_gap']}"]), ""]
    dropped = dropped_lines(plan, language)
    lines += [w["dropped_heading"].format(n=dropped_count(plan)), "", w["dropped_intro"], ""]
    lines += [*(dropped or [f"- {w['no_gap']}"]), ""]
    lines += [w["runbook_heading"], "", w["sign_off"], ""]
    for step in steps:
        lines += _step_detail(step, language)
    lines += [w["files_heading"], "", *[f"- {f}" for f in files], ""]
    return "\n".join(lines)
