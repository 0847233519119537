"""The overview paragraph of a migration plan: the model's instructions, and the template
written instead when the model is offline or the budget is reached."""

from __future__ import annotations

from workflows.migration.plan import MigrationPlan
from workflows.migration.report import dated
from workflows.migration.report import unmapped_lines as unmapped
from workflows.migration.runbook import Step
from workflows.migration.words import eur

__all__ = ["INSTRUCTIONS", "fallback"]

INSTRUCTIONS = (
    "You write the overview of a cloud migration plan for a company's founder, in "
    "{language}. In 4 to 6 sentences: what the inventory holds, what each target costs per "
    "month against Google Cloud today, what has no equivalent, and what the first runbook "
    "step is. Use only the figures in the material; invent none. No headings, no lists."
)


def fallback(plan: MigrationPlan, steps: list[Step], language: str) -> str:
    """The overview written from the plan's figures alone, in ``language``."""
    kinds: dict[str, int] = {}
    for item in plan.planned:
        kinds[item.resource.kind.value] = kinds.get(item.resource.kind.value, 0) + 1
    held = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    against = " contre " if language == "fr" else " against "
    costs = (" ; " if language == "fr" else "; ").join(
        f"{t.target.value.title()} {eur(t.after_eur, language)}{against}"
        f"{eur(t.before_eur, language)}{dated(t.prices_date, t.prices_stale, language)}"
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
