"""The migration plan: every resource with its cost today and its equivalent per target.

Totals compare like with like: per target, "before" sums the Google Cloud cost of the
resources that have a priced equivalent there, "after" sums those equivalents. Resources
whose cost is unknown on either side, or that have no equivalent, are counted apart and
listed, never folded silently into a total. A VM stopped at source counts its disks on
both sides (``stopped``). Every total carries the date of the oldest price it used, and
whether that price is stale.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from workflows.migration.gcpcost import Cost, gcp_cost
from workflows.migration.inventory import Inventory
from workflows.migration.location import Target
from workflows.migration.mapping import Choice, Status, choose
from workflows.migration.prices import PriceTable, Provider
from workflows.migration.resource import Resource
from workflows.migration.sizing import PROVIDER

__all__ = ["MigrationPlan", "Planned", "Totals", "build_plan"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Planned(_Model):
    """One resource, what it costs now, and its equivalent on each target."""

    resource: Resource
    before: Cost
    choices: tuple[Choice, ...]

    def choice(self, target: Target) -> Choice | None:
        return next((c for c in self.choices if c.target is target), None)


class Totals(_Model):
    """Monthly EUR before and after on one target, over the resources priced on both sides."""

    target: Target
    before_eur: float
    after_eur: float
    gcp_total_eur: float
    mapped: int
    self_managed: int
    unmapped: int
    unpriced: int  # mapped, but a size or price is unknown on one side
    stopped: int = 0  # VMs stopped at source: their disks only, on both sides
    prices_date: str = ""  # the oldest price used, as precisely as it is known
    prices_stale: bool = False  # that price is older than prices.MAX_AGE_DAYS

    @property
    def savings_eur(self) -> float:
        return self.before_eur - self.after_eur

    @property
    def savings_pct(self) -> float | None:
        return 100 * self.savings_eur / self.before_eur if self.before_eur else None


class MigrationPlan(_Model):
    """The whole plan, as the report, the generated files and the runbook read it."""

    inventory: Inventory
    targets: tuple[Target, ...]
    planned: tuple[Planned, ...]
    totals: tuple[Totals, ...]
    prices_checked: date
    usd_to_eur: float
    usd_to_eur_date: date
    prices_date: str = ""  # of the Google Cloud rows, beside the "today" total
    prices_stale: bool = False
    stale_rows: int = 0  # rows of the whole table older than prices.MAX_AGE_DAYS
    price_rows: int = 0  # rows in the whole table

    def unmapped(self, target: Target) -> list[tuple[Resource, Choice]]:
        out = []
        for item in self.planned:
            choice = item.choice(target)
            if choice is not None and choice.status is Status.UNMAPPED:
                out.append((item.resource, choice))
        return out


def _totals(target: Target, planned: list[Planned], prices: PriceTable, today: date) -> Totals:
    before = after = gcp_total = 0.0
    counts = {status: 0 for status in Status}
    unpriced = stopped = 0
    for item in planned:
        if item.before.monthly_eur is not None:
            gcp_total += item.before.monthly_eur
        choice = item.choice(target)
        if choice is None:
            continue
        counts[choice.status] += 1
        if choice.status is Status.UNMAPPED:
            continue
        if item.before.monthly_eur is None or choice.cost.monthly_eur is None:
            unpriced += 1
            continue
        before += item.before.monthly_eur
        after += choice.cost.monthly_eur
        stopped += item.resource.stopped
    used: tuple[Provider, ...] = ("gcp", PROVIDER[target])
    return Totals(
        target=target,
        before_eur=round(before, 2),
        after_eur=round(after, 2),
        gcp_total_eur=round(gcp_total, 2),
        mapped=counts[Status.MAPPED],
        self_managed=counts[Status.SELF_MANAGED],
        unmapped=counts[Status.UNMAPPED],
        unpriced=unpriced,
        stopped=stopped,
        prices_date=prices.oldest(*used).checked_text,
        prices_stale=bool(prices.stale(today, *used)),
    )


def build_plan(
    inventory: Inventory,
    prices: PriceTable,
    targets: tuple[Target, ...],
    today: date | None = None,
) -> MigrationPlan:
    """Map and price every resource of the inventory on every target; ``today`` (the
    clock's by default) decides which prices are stale."""
    today = today or date.today()
    planned = [
        Planned(
            resource=resource,
            before=gcp_cost(resource, prices),
            choices=tuple(choose(resource, prices, target) for target in targets),
        )
        for resource in inventory.resources
    ]
    return MigrationPlan(
        inventory=inventory,
        targets=targets,
        planned=tuple(planned),
        totals=tuple(_totals(target, planned, prices, today) for target in targets),
        prices_checked=prices.checked,
        usd_to_eur=prices.usd_to_eur.rate,
        usd_to_eur_date=prices.usd_to_eur.date,
        prices_date=prices.oldest("gcp").checked_text,
        prices_stale=bool(prices.stale(today, "gcp")),
        stale_rows=len(prices.stale(today)),
        price_rows=len(prices.rows),
    )
