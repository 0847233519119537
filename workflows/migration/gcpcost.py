"""What a resource costs on Google Cloud today, per month, from the price table.

``Cost.monthly_eur`` is None when a size the price depends on is unknown (a bucket's bytes,
a machine type we do not know); ``detail`` then says what is missing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workflows.migration.machines import MachineSpec, machine_spec
from workflows.migration.prices import PriceTable
from workflows.migration.resource import Kind, Resource

__all__ = ["Cost", "gcp_cost", "gcp_machine_hourly"]

_FREE = {Kind.NETWORK, Kind.SUBNET, Kind.FIREWALL, Kind.PROJECT, Kind.PART, Kind.IDENTITY}


class Cost(BaseModel):
    """EUR per month (None: unknown) and how it was computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly_eur: float | None
    detail: str


def gcp_machine_monthly(spec: MachineSpec, prices: PriceTable, *, sql: bool = False) -> float:
    """EUR per month for one machine (a VM, or a Cloud SQL instance's tier when ``sql``)."""
    fixed = f"sql.{spec.name}" if sql else f"compute.{spec.family}"
    if prices.has("gcp", fixed):
        return prices.monthly(prices.row("gcp", fixed))
    vcpu_sku, memory_sku = (
        ("sql.vcpu", "sql.memory")
        if sql
        else (f"compute.{spec.family}.vcpu", f"compute.{spec.family}.memory")
    )
    monthly = prices.monthly(prices.row("gcp", vcpu_sku), spec.vcpu) + prices.monthly(
        prices.row("gcp", memory_sku), spec.memory_gib
    )
    if spec.custom and not sql:
        monthly *= prices.ratio("gcp", "compute.custom-premium")
    return monthly


def gcp_machine_hourly(spec: MachineSpec, prices: PriceTable) -> float:
    return gcp_machine_monthly(spec, prices) / prices.hours_per_month


def _disk_sku(disk_type: str | None) -> str:
    kind = (disk_type or "").lower().replace("_", "-")
    for known in ("pd-ssd", "pd-standard", "pd-balanced"):
        if known in kind:
            return f"disk.{known}"
    return "disk.pd-balanced"


def _priced(family: str, prices: PriceTable) -> bool:
    """Whether the table has rows for a machine family (n4, c3... may have none)."""
    return prices.has("gcp", f"compute.{family}") or prices.has("gcp", f"compute.{family}.vcpu")


def _vm(resource: Resource, prices: PriceTable) -> Cost:
    if resource.stopped:
        # A stopped VM: Google bills its disks, not its machine type.
        machine, detail = 0.0, f"{resource.status}: machine not billed"
    else:
        spec = machine_spec(resource.machine_type)
        if spec is None and resource.vcpu and resource.memory_gib:
            # Sized from the record's own fields: priced as an N1 custom machine of that size.
            spec = machine_spec(f"custom-{resource.vcpu:g}-{resource.memory_gib * 1024:.0f}")
        if spec is None:
            return Cost(monthly_eur=None, detail=f"machine type {resource.machine_type} unknown")
        if not _priced(spec.family, prices):
            return Cost(monthly_eur=None, detail=f"no {spec.family} row in the price table")
        machine = gcp_machine_monthly(spec, prices)
        detail = f"{spec.name} €{machine:.2f}"
        if resource.sized_from == "fields":
            detail = f"priced as {detail} (type unknown, size from the record)"
    if resource.disk_gib is None:
        return Cost(monthly_eur=machine, detail=f"{detail}; disk size unknown, not counted")
    sku = _disk_sku(resource.disk_type)
    disk = prices.monthly(prices.row("gcp", sku), resource.disk_gib)
    return Cost(
        monthly_eur=machine + disk,
        detail=f"{detail} + {resource.disk_gib:g} GiB {sku.removeprefix('disk.')} €{disk:.2f}",
    )


def _database(resource: Resource, prices: PriceTable) -> Cost:
    spec = machine_spec((resource.machine_type or "").removeprefix("db-"))
    if spec is None:
        return Cost(monthly_eur=None, detail=f"Cloud SQL tier {resource.machine_type} unknown")
    spec = spec.model_copy(update={"name": resource.machine_type})
    instance = gcp_machine_monthly(spec, prices, sql=True)
    hdd = "hdd" in (resource.disk_type or "")
    storage_row = prices.row("gcp", "sql.storage.pd_hdd" if hdd else "sql.storage.pd_ssd")
    storage = prices.monthly(storage_row, resource.disk_gib or 0)
    ha = prices.ratio("gcp", "sql.ha") if resource.high_availability else 1.0
    detail = (
        f"{resource.machine_type} €{instance:.2f} + {resource.disk_gib or 0:g} GiB €{storage:.2f}"
    )
    if resource.high_availability:
        detail += f", ×{ha:g} for high availability"
    return Cost(monthly_eur=(instance + storage) * ha, detail=detail)


def _bucket(resource: Resource, prices: PriceTable) -> Cost:
    klass = (resource.storage_class or "STANDARD").upper()
    sku = {
        "NEARLINE": "storage.nearline",
        "COLDLINE": "storage.coldline",
        "ARCHIVE": "storage.archive",
        "MULTI_REGIONAL": "storage.multi-region",
    }.get(klass, "storage.standard")
    if resource.region in {"eu", "us", "asia"} and sku == "storage.standard":
        sku = "storage.multi-region"
    per_gib = prices.monthly(prices.row("gcp", sku))
    if resource.disk_gib is None:
        return Cost(monthly_eur=None, detail=f"€{per_gib:.4f}/GiB-month; bucket size unknown")
    return Cost(
        monthly_eur=per_gib * resource.disk_gib,
        detail=f"{resource.disk_gib:g} GiB × €{per_gib:.4f}",
    )


def _nodes(resource: Resource, prices: PriceTable) -> tuple[float | None, list[str]]:
    total = 0.0
    parts: list[str] = []
    for pool in resource.pools:
        spec = machine_spec(pool.machine_type)
        if spec is None or pool.nodes is None or not _priced(spec.family, prices):
            return None, [f"pool {pool.name}: machine type or node count unknown"]
        node = gcp_machine_monthly(spec, prices)
        node += prices.monthly(prices.row("gcp", "disk.pd-balanced"), pool.disk_gib or 0)
        total += node * pool.nodes
        parts.append(f"{pool.nodes} × {spec.name} €{node:.2f}")
    return total, parts


def gcp_cost(resource: Resource, prices: PriceTable) -> Cost:
    """The resource's Google Cloud cost per month, from the table rows."""
    kind = resource.kind
    if kind in _FREE:
        return Cost(monthly_eur=0.0, detail="no charge of its own")
    if kind is Kind.COMPUTE:
        return _vm(resource, prices)
    if kind is Kind.DISK:
        if resource.disk_gib is None:
            return Cost(monthly_eur=None, detail="disk size unknown")
        sku = _disk_sku(resource.disk_type)
        return Cost(
            monthly_eur=prices.monthly(prices.row("gcp", sku), resource.disk_gib),
            detail=f"{resource.disk_gib:g} GiB {sku.removeprefix('disk.')}",
        )
    if kind is Kind.DATABASE:
        return _database(resource, prices)
    if kind is Kind.BUCKET:
        return _bucket(resource, prices)
    if kind in {Kind.KUBERNETES, Kind.NODE_POOL}:
        nodes, parts = _nodes(resource, prices)
        if nodes is None:
            return Cost(monthly_eur=None, detail="; ".join(parts))
        if kind is Kind.KUBERNETES:
            fee = prices.monthly(prices.row("gcp", "gke.cluster"))
            parts.insert(0, f"cluster fee €{fee:.2f}")
            nodes += fee
        return Cost(monthly_eur=nodes, detail=" + ".join(parts) or "no nodes")
    single = {
        Kind.LOAD_BALANCER: "lb.forwarding-rule",
        Kind.ADDRESS: "ip.static",
        Kind.DNS_ZONE: "dns.zone",
    }.get(kind)
    if single is not None:
        row = prices.row("gcp", single)
        return Cost(monthly_eur=prices.monthly(row), detail=row.what)
    return Cost(monthly_eur=None, detail="not priced: no rule for this type")
