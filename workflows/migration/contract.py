"""The migration workflow's input and output, and the summary sent back to whoever asked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflows.migration.inventory import FORMATS
from workflows.migration.location import Target
from workflows.migration.plan import MigrationPlan
from workflows.migration.report import (
    SIGN_OFF,
    Decision,
    cost_lines,
    inventory_table,
    runbook_lines,
    unmapped_lines,
)
from workflows.migration.runbook import Step

__all__ = ["MigrationInput", "MigrationOutput"]

_SHOWN = 25  # inventory rows in the chat summary; plan.md has them all


class MigrationInput(BaseModel):
    """Inventory files (or pasted content), the targets, and the bandwidth for estimates."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        [],
        description="inventory files: Cloud Asset Inventory exports (JSON or NDJSON), "
        "'terraform show -json' plans or states, or terraform.tfstate (v4)",
    )
    content: str = Field(
        "", max_length=5_000_000, description="inventory content pasted in a chat, same formats"
    )
    targets: list[Target] = Field(
        [Target.SCALEWAY, Target.HETZNER], min_length=1, description="scaleway and/or hetzner"
    )
    bandwidth_mbps: float = Field(
        100.0, gt=0, le=100_000, description="sustained bandwidth out of Google, in Mbit/s"
    )

    @field_validator("targets")
    @classmethod
    def _distinct(cls, targets: list[Target]) -> list[Target]:
        return list(dict.fromkeys(targets))


class MigrationOutput(BaseModel):
    """The plan, the runbook with the founder's sign-offs, and where the files are."""

    model_config = ConfigDict(extra="forbid")

    problem: str = ""
    plan: MigrationPlan | None = None
    steps: list[Step] = []
    decisions: list[Decision] = []
    bandwidth_mbps: float = 100.0
    folder: str = ""
    files: list[str] = []
    overview: str = ""
    overview_by: str = ""

    @property
    def approved(self) -> list[int]:
        return [d.step for d in self.decisions if d.approved]

    @property
    def rejected(self) -> Decision | None:
        return next((d for d in self.decisions if not d.approved), None)

    def runbook_state(self) -> str:
        approved = self.approved
        done = ", ".join(str(n) for n in approved) or "none"
        rejected = self.rejected
        if rejected is not None:
            why = f" ({rejected.note})" if rejected.note else ""
            return (
                f"Steps approved: {done}. Step {rejected.step} ({rejected.title}) was "
                f"rejected{why}: the runbook stops there; later steps were not offered."
            )
        if len(approved) == len(self.steps):
            return f"All {len(self.steps)} steps approved: {done}."
        return f"Steps approved: {done} of {len(self.steps)}."

    def summary(self) -> str:
        """Markdown for the founder."""
        if self.plan is None:
            return (
                f"**Cloud migration plan: not made.** {self.problem}\n\n"
                f"The workflow reads {FORMATS}."
            )
        plan = self.plan
        targets = " and ".join(t.value.title() for t in plan.targets)
        lines = [f"**Cloud migration plan: Google Cloud → {targets}**", ""]
        if self.overview:
            lines += [self.overview, ""]
        if self.overview_by == "template":
            lines += ["_Overview from a template (offline model); every figure is computed._", ""]
        unmapped = unmapped_lines(plan)
        lines += [
            f"**Inventory**: {plan.inventory.records} records read from "
            f"{len(plan.inventory.files)} file(s), {len(plan.planned)} planned; "
            f"{len(unmapped)} placement(s) without equivalent, listed below. Nothing was "
            "dropped.",
            "",
            *inventory_table(plan, _SHOWN),
            "",
            "**Monthly cost (EUR, excl. VAT)**",
            *cost_lines(plan),
            f"Prices from the project's table checked {plan.prices_checked}: prices change, "
            "re-check before you sign.",
            "",
            "**Without equivalent**",
            *(unmapped[:20] or ["- none"]),
            *([f"- … {len(unmapped) - 20} more in plan.md"] if len(unmapped) > 20 else []),
            "",
            "**Runbook**",
            SIGN_OFF,
            *runbook_lines(self.steps, self.decisions, self.bandwidth_mbps),
            "",
            self.runbook_state(),
            "",
            f"**Files** in {self.folder}:",
            *[f"- {f}" for f in self.files],
        ]
        return "\n".join(lines)
