"""The ordered migration runbook: what to do, data to move, risks and rollback per step.

Transfer estimates come from the sizes the inventory gives (disks, databases, buckets);
where a size is missing the step says it is unknown and how to measure it, rather than
guess. Time is at the bandwidth the founder states; egress is priced at Google's rate
from the price table, because leaving Google is what is billed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workflows.migration.plan import MigrationPlan
from workflows.migration.prices import PriceTable
from workflows.migration.resource import Kind, Resource
from workflows.migration.runbook_text import RunbookText, StepText, runbook_text

__all__ = ["Step", "build_runbook", "transfer_hours"]


class Step(BaseModel):
    """One step the founder signs off before the next is offered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int
    title: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ()
    transfer_gib: float | None = 0.0  # None: unknown
    transfer_note: str = ""
    hours: float | None = 0.0
    egress_eur: float | None = 0.0
    risks: tuple[str, ...]
    rollback: str


def transfer_hours(gib: float, mbps: float) -> float:
    """Hours to move ``gib`` GiB at ``mbps`` megabits per second, sustained."""
    return gib * 8 * 2**30 / (mbps * 1e6) / 3600


def _sizes(resources: list[Resource]) -> tuple[float | None, list[str]]:
    """GiB known (None when no size is known at all), and what has no size."""
    missing = [r.name for r in resources if r.disk_gib is None]
    known = sum(r.disk_gib or 0 for r in resources)
    return (None if missing and not known else known), missing


class _Builder:
    def __init__(self, plan: MigrationPlan, prices: PriceTable, mbps: float, words: RunbookText):
        self.plan = plan
        self.prices = prices
        self.mbps = mbps
        self.words = words
        self.steps: list[Step] = []
        self.egress = prices.row("gcp", "egress.internet")

    def of(self, *kinds: Kind) -> list[Resource]:
        return [p.resource for p in self.plan.planned if p.resource.kind in kinds]

    def add(
        self,
        text: StepText,
        resources: list[Resource],
        moved: list[Resource] | None = None,
        actions: tuple[str, ...] = (),
    ) -> None:
        """One step: ``text`` says it, ``moved`` is what its data transfer is sized from."""
        gib, missing = _sizes(moved) if moved else (0.0, [])
        note = text.note
        if missing:
            # A partial sum is a floor, said as such; with no size at all, unknown.
            w = self.words
            more = w.more.format(n=len(missing) - 5) if len(missing) > 5 else ""
            note = (
                (w.at_least if gib else w.unknown)
                + w.missing.format(names=", ".join(missing[:5]), more=more)
                + (note or w.measure)
            )
        self.steps.append(
            Step(
                number=len(self.steps) + 1,
                title=text.title,
                actions=(*actions, *text.actions),
                resources=tuple(r.name for r in resources),
                transfer_gib=gib,
                transfer_note=note,
                hours=None if gib is None else transfer_hours(gib, self.mbps),
                egress_eur=None if gib is None else self.prices.transfer(self.egress, gib),
                risks=text.risks,
                rollback=text.rollback,
            )
        )


def build_runbook(
    plan: MigrationPlan, prices: PriceTable, bandwidth_mbps: float, language: str = "en"
) -> list[Step]:
    """The steps, in order, in ``language`` (fr or en); steps with nothing to move are left
    out, except the switch-over."""
    words = runbook_text(language)
    b = _Builder(plan, prices, bandwidth_mbps, words)
    b.add(words.prepare, b.of(Kind.NETWORK, Kind.SUBNET, Kind.FIREWALL, Kind.PROJECT))
    databases = b.of(Kind.DATABASE)
    if databases:
        b.add(words.databases, databases, moved=databases)
    buckets = b.of(Kind.BUCKET)
    if buckets:
        b.add(words.buckets, buckets, moved=buckets)
    compute = b.of(
        Kind.COMPUTE, Kind.DISK, Kind.KUBERNETES, Kind.NODE_POOL, Kind.LOAD_BALANCER, Kind.ADDRESS
    )
    if compute:
        b.add(words.compute, compute, moved=b.of(Kind.COMPUTE, Kind.DISK))
    zones = sorted({r.dns_name for r in b.of(Kind.DNS_ZONE) if r.dns_name})
    named = (words.zones.format(zones=", ".join(zones)),) if zones else ()
    b.add(words.dns, b.of(Kind.DNS_ZONE), actions=named)
    b.add(words.decommission, [p.resource for p in plan.planned])
    return b.steps
