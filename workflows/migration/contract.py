"""The migration workflow's input and output, and the summary sent back to whoever asked."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from equipage.inputs import OwnerOnly
from workflows._language import Asked, language_field
from workflows.migration.carried_text import dropped_count, dropped_lines
from workflows.migration.inventory import FORMATS, MAX_BYTES
from workflows.migration.location import Target
from workflows.migration.notes_text import FORMATS_FR, problem_in
from workflows.migration.plan import MigrationPlan
from workflows.migration.report import (
    Decision,
    cost_lines,
    inventory_table,
    read_when,
    runbook_lines,
    stale_line,
    unmapped_lines,
)
from workflows.migration.runbook import Step
from workflows.migration.words import words

__all__ = ["MigrationInput", "MigrationOutput"]

_SHOWN = 25  # inventory rows in the chat summary; plan.md has them all
_DROPPED = 10  # resources whose attributes not carried over are shown in the summary


class MigrationInput(BaseModel):
    """Inventory files (or pasted content), the targets, and the bandwidth for estimates."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        [],
        description="inventory files: Cloud Asset Inventory exports (JSON or NDJSON), "
        "'terraform show -json' plans or states, or terraform.tfstate (v4); names of files "
        "sent with the request, or paths under the crew's files folder (any path on the "
        "owner's command line)",
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
    language: Asked = language_field()
    max_bytes: Annotated[int, OwnerOnly()] = Field(
        MAX_BYTES,
        ge=1,
        description="largest inventory file or pasted content read, in bytes; a larger one "
        "is refused before it is read",
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
    language: Literal["fr", "en"] = "en"  # of the summary, plan.md and the step questions

    @property
    def approved(self) -> list[int]:
        return [d.step for d in self.decisions if d.approved]

    @property
    def rejected(self) -> Decision | None:
        return next((d for d in self.decisions if not d.approved), None)

    def runbook_state(self) -> str:
        w = words(self.language)
        approved = self.approved
        done = ", ".join(str(n) for n in approved) or w["none"]
        rejected = self.rejected
        if rejected is not None:
            why = f" ({rejected.note})" if rejected.note else ""
            return w["state_rejected"].format(
                done=done, n=rejected.step, title=rejected.title, why=why
            )
        if len(approved) == len(self.steps):
            return w["state_all"].format(n=len(self.steps), done=done)
        return w["state_some"].format(done=done, n=len(self.steps))

    def summary(self) -> str:
        """Markdown for the founder, in ``language``."""
        w, lang = words(self.language), self.language
        if self.plan is None:
            formats = FORMATS_FR if lang == "fr" else FORMATS
            return w["not_made"].format(problem=problem_in(self.problem, lang), formats=formats)
        plan = self.plan
        targets = w["and"].join(t.value.title() for t in plan.targets)
        lines = [w["summary_title"].format(targets=targets), ""]
        if self.overview:
            lines += [self.overview, ""]
        if self.overview_by == "template":
            lines += [w["summary_template"], ""]
        unmapped = unmapped_lines(plan, lang)
        dropped = dropped_lines(plan, lang)
        more_dropped = len(dropped) - _DROPPED
        more = len(unmapped) - 20
        lines += [
            w["summary_inventory"].format(
                records=plan.inventory.records,
                files=len(plan.inventory.files),
                planned=len(plan.planned),
                unmapped=len(unmapped),
            ),
            "",
            *inventory_table(plan, _SHOWN, lang),
            "",
            w["summary_cost"],
            *cost_lines(plan, lang),
            w["summary_prices"].format(checked=read_when(plan.prices_date, lang)),
            *stale_line(plan, lang),
            "",
            w["summary_unmapped"],
            *(unmapped[:20] or [f"- {w['no_gap']}"]),
            *([w["summary_more"].format(n=more)] if more > 0 else []),
            "",
            w["summary_dropped"].format(
                n=dropped_count(plan),
                resources=sum(1 for p in plan.planned if p.resource.dropped),
            ),
            *dropped[:_DROPPED],
            *([w["summary_more"].format(n=more_dropped)] if more_dropped > 0 else []),
            "",
            w["summary_runbook"],
            w["sign_off"],
            *runbook_lines(self.steps, self.decisions, self.bandwidth_mbps, lang),
            "",
            self.runbook_state(),
            "",
            w["summary_files"].format(folder=self.folder),
            *[f"- {f}" for f in self.files],
        ]
        return "\n".join(lines)
