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
    def __init__(self, plan: MigrationPlan, prices: PriceTable, mbps: float) -> None:
        self.plan = plan
        self.prices = prices
        self.mbps = mbps
        self.steps: list[Step] = []
        self.egress = prices.row("gcp", "egress.internet")

    def of(self, *kinds: Kind) -> list[Resource]:
        return [p.resource for p in self.plan.planned if p.resource.kind in kinds]

    def add(
        self,
        title: str,
        actions: list[str],
        resources: list[Resource],
        risks: list[str],
        rollback: str,
        moved: list[Resource] | None = None,
        note: str = "",
    ) -> None:
        gib, missing = _sizes(moved) if moved else (0.0, [])
        if missing:
            # A partial sum is a floor, said as such; with no size at all, unknown.
            note = (
                ("at least this: " if gib else "unknown: ")
                + f"size of {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                + " not in the inventory; "
                + (note or "measure before this step")
            )
        self.steps.append(
            Step(
                number=len(self.steps) + 1,
                title=title,
                actions=tuple(actions),
                resources=tuple(r.name for r in resources),
                transfer_gib=gib,
                transfer_note=note,
                hours=None if gib is None else transfer_hours(gib, self.mbps),
                egress_eur=None if gib is None else self.prices.transfer(self.egress, gib),
                risks=tuple(risks),
                rollback=rollback,
            )
        )


def build_runbook(plan: MigrationPlan, prices: PriceTable, bandwidth_mbps: float) -> list[Step]:
    """The steps, in order; steps with nothing to move are left out, except the switch-over."""
    b = _Builder(plan, prices, bandwidth_mbps)
    b.add(
        "Prepare the target accounts and network",
        [
            "Create the project and an API key with the least rights; keep the secrets in a "
            "secret store, never in the .tf files.",
            "Run 'tofu init' and 'tofu plan' on the generated files; review every resource.",
            "Apply the networks and firewalls only ('tofu apply -target=...'); check that the "
            "address ranges do not overlap any VPN or peered network.",
        ],
        b.of(Kind.NETWORK, Kind.SUBNET, Kind.FIREWALL, Kind.PROJECT),
        [
            "Firewall rules translated too widely open a port to the internet.",
            "Address ranges that overlap a VPN break the link during the copy.",
        ],
        "Run 'tofu destroy' on the target; nothing on Google Cloud has changed yet.",
    )
    databases = b.of(Kind.DATABASE)
    if databases:
        b.add(
            "Create the databases and copy the data",
            [
                "Create the target databases (managed on Scaleway; on Hetzner, install the engine "
                "on the generated servers, with backups).",
                "Copy: MySQL with binlog replication or mysqldump; PostgreSQL with logical "
                "replication or pg_dump/pg_restore. Check row counts and checksums.",
                "Keep replication running until the switch-over.",
            ],
            databases,
            [
                "A major version upgrade (e.g. PostgreSQL 9.6 → 16) can break queries and "
                "extensions: test the application against the copy.",
                "Replication lag or a failed dump means a longer write freeze at switch-over.",
                "Transfer is bounded by the allocated disk; the data may be smaller.",
            ],
            "Stop the replication and delete the target databases; Cloud SQL stays primary.",
            moved=databases,
            note="measure with the database's own size query",
        )
    buckets = b.of(Kind.BUCKET)
    if buckets:
        b.add(
            "Copy the buckets",
            [
                "Create the target buckets (names are global: some may need a new name).",
                "Copy with 'rclone sync gcs:BUCKET target:BUCKET --checksum', then sync again "
                "after the write freeze.",
                "Recreate lifecycle rules, CORS and public access by hand: they do not copy.",
            ],
            buckets,
            [
                "Egress is billed by Google per GiB read out.",
                "Signed URLs, IAM bindings and ACLs do not carry over.",
            ],
            "Delete the target buckets; Cloud Storage stays the source of truth.",
            moved=buckets,
            note="measure with 'gcloud storage du -s gs://BUCKET'",
        )
    compute = b.of(
        Kind.COMPUTE, Kind.DISK, Kind.KUBERNETES, Kind.NODE_POOL, Kind.LOAD_BALANCER, Kind.ADDRESS
    )
    if compute:
        b.add(
            "Deploy the servers, clusters and load balancers",
            [
                "Apply the rest of the generated files.",
                "Provision servers from code (cloud-init, Ansible) rather than copying images; "
                "copy only the data disks that hold state.",
                "Deploy the Kubernetes workloads (Helm, manifests); restore volumes with Velero.",
                "Point the load balancers at the new servers; test end to end on their IPs.",
            ],
            compute,
            [
                "Google-specific agents, metadata-server credentials and service-account "
                "scopes do not exist on the target.",
                "Shared-vCPU offers can be slower under sustained load: load-test.",
            ],
            "Destroy the new servers and clusters; traffic still goes to Google Cloud.",
            moved=b.of(Kind.COMPUTE, Kind.DISK),
            note="a redeploy from code moves less than this; disk sizes are upper bounds",
        )
    zones = sorted({r.dns_name for r in b.of(Kind.DNS_ZONE) if r.dns_name})
    b.add(
        "Switch DNS to the target",
        [
            *([f"Zones: {', '.join(zones)}"] if zones else []),
            "48 hours before: lower the TTL of every record to move to 300 seconds.",
            "Issue TLS certificates on the target before the switch.",
            "Freeze writes, run the last database and bucket syncs, then change the records.",
            "Watch errors and latency for a day with Google Cloud still running.",
        ],
        b.of(Kind.DNS_ZONE),
        [
            "Resolvers that ignore the TTL keep sending some users to the old address.",
            "The write freeze is downtime: announce it.",
        ],
        "Point the records back at the Google Cloud addresses; with a 300-second TTL, users "
        "return within minutes. Replicate back any writes made on the target.",
        note="the last delta of data only",
    )
    b.add(
        "Decommission Google Cloud",
        [
            "Wait until the target has run cleanly for at least 14 days.",
            "Export final backups of every database and bucket; keep them 90 days.",
            "Delete the Google Cloud resources, then close the billing account.",
        ],
        [p.resource for p in plan.planned],
        [
            "Deletion cannot be undone.",
            "Forgotten dependencies (schedulers, IAM grants, third parties calling old IPs).",
        ],
        "None once deleted: restore from the exported backups. Until then, stop here.",
    )
    return b.steps
