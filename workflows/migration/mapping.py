"""Each resource → its cheapest equivalent on Scaleway and on Hetzner, with the reason.

An equivalent meets the source's spec (vCPU ≥, memory ≥, in the nearest EU location) and
is the cheapest row of the price table that does. x86 offers only: arm64 servers are
cheaper but need arm64 builds of the software, so the reason mentions them instead.
Things with no equivalent come back ``UNMAPPED`` with the reason; Hetzner's missing
managed services come back ``SELF_MANAGED`` with the alternative it implies.
"""

from __future__ import annotations

from workflows.migration.gcpcost import Cost
from workflows.migration.location import Target, nearest
from workflows.migration.prices import PriceTable
from workflows.migration.resource import Kind, Resource
from workflows.migration.sizing import (
    PROVIDER,
    Choice,
    Part,
    Status,
    cheapest,
    part,
    server,
    total,
    unmapped,
)

__all__ = ["Choice", "Part", "Status", "choose"]


def _compute(resource: Resource, prices: PriceTable, target: Target, where: str) -> Choice:
    if resource.vcpu is None or resource.memory_gib is None:
        return unmapped(
            target,
            f"machine type {resource.machine_type or '(none)'} is not in the table, so its "
            "size is unknown; add it to machines.py or size the server by hand",
        )
    found = server(prices, target, resource.vcpu, resource.memory_gib, resource.disk_gib)
    if found is None:
        return unmapped(
            target,
            f"no {target} server has ≥ {resource.vcpu:g} vCPU and ≥ {resource.memory_gib:g} GiB",
        )
    parts, reason = found
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=parts[0].offer,
        location=where,
        reason=f"{reason}; {where}",
        parts=tuple(parts),
        cost=total(parts),
    )


def _database(resource: Resource, prices: PriceTable, target: Target, where: str) -> Choice:
    if resource.vcpu is None or resource.memory_gib is None:
        return unmapped(target, f"Cloud SQL tier {resource.machine_type} unknown: size unknown")
    nodes = 2 if resource.high_availability else 1
    if target is Target.HETZNER:
        found = server(
            prices,
            target,
            resource.vcpu,
            resource.memory_gib,
            0.0,
            count=nodes,
            role="db",
            public_ip=False,
        )
        if found is None:
            return unmapped(target, "no Hetzner server is large enough for this database")
        parts, reason = found
        parts.append(
            part(
                prices,
                target,
                "volume.block",
                "volume",
                count=nodes,
                size=resource.disk_gib or 10.0,
            )
        )
        return Choice(
            target=target,
            status=Status.SELF_MANAGED,
            offer=parts[0].offer,
            location=where,
            reason=(
                f"Hetzner Cloud has no managed database: {resource.engine or 'the engine'} "
                f"on {nodes} server(s) you operate (backups, upgrades, failover are yours); "
                f"{reason}"
            ),
            parts=tuple(parts),
            cost=total(parts),
        )
    if resource.engine not in {"postgres", "mysql"}:
        return unmapped(
            target,
            f"Scaleway Managed Database runs PostgreSQL and MySQL only; "
            f"{resource.engine or 'this engine'} has no managed equivalent",
        )
    row = cheapest(prices, target, "db", resource.vcpu, resource.memory_gib, "x86_64")
    if row is None:
        return unmapped(target, "no Scaleway database node is large enough")
    parts = [
        part(prices, target, row.sku, "db", count=nodes),
        part(
            prices,
            target,
            "db.storage",
            "volume",
            count=nodes,
            size=max(resource.disk_gib or 10.0, 5.0),
        ),
    ]
    reason = (
        f"{row.offer} is the cheapest node with ≥ {resource.vcpu:g} vCPU and "
        f"≥ {resource.memory_gib:g} GiB; {where}"
    )
    if resource.high_availability:
        reason += "; high availability: a standby node"
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=row.offer,
        location=where,
        reason=reason,
        parts=tuple(parts),
        cost=total(parts),
    )


def _bucket(resource: Resource, prices: PriceTable, target: Target, where: str) -> Choice:
    cold = (resource.storage_class or "").upper() in {"COLDLINE", "ARCHIVE"}
    sku = "storage.glacier" if cold and target is Target.SCALEWAY else "storage.standard"
    row = prices.row(PROVIDER[target], sku)
    name = "Object Storage" + (" Glacier" if sku == "storage.glacier" else "")
    if resource.disk_gib is None:
        cost = Cost(monthly_eur=None, detail=f"€{prices.monthly(row):.4f}/GiB-month; size unknown")
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=name,
            location=where,
            reason=f"S3-compatible {name}; {where}; copy with rclone",
            cost=cost,
        )
    stored = part(prices, target, sku, "storage", size=resource.disk_gib)
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=name,
        location=where,
        reason=f"S3-compatible {name}; {where}",
        parts=(stored,),
        cost=total([stored]),
    )


def _kubernetes(resource: Resource, prices: PriceTable, target: Target, where: str) -> Choice:
    parts: list[Part] = []
    notes: list[str] = []
    if resource.kind is Kind.KUBERNETES:
        if target is Target.SCALEWAY:
            parts.append(part(prices, target, "k8s.control-plane", "control-plane"))
        else:
            found = server(prices, target, 2, 4, None, role="control-plane")
            assert found is not None
            parts += found[0]
    for pool in resource.pools:
        if pool.vcpu is None or pool.memory_gib is None or pool.nodes is None:
            return unmapped(target, f"pool {pool.name}: machine type or node count unknown")
        found = server(
            prices,
            target,
            pool.vcpu,
            pool.memory_gib,
            pool.disk_gib,
            count=pool.nodes,
            role=f"node:{pool.name}",
            public_ip=target is Target.HETZNER,
        )
        if found is None:
            return unmapped(target, f"no {target} server fits pool {pool.name}")
        parts += found[0]
        notes.append(f"pool {pool.name}: {pool.nodes} × {found[0][0].offer}")
    if target is Target.SCALEWAY:
        offer = "Kapsule" if resource.kind is Kind.KUBERNETES else "Kapsule pool"
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=offer,
            location=where,
            reason="; ".join([f"Kubernetes Kapsule (managed); {where}", *notes]),
            parts=tuple(parts),
            cost=total(parts),
        )
    return Choice(
        target=target,
        status=Status.SELF_MANAGED,
        offer="k3s on servers",
        location=where,
        reason="; ".join(
            [
                "Hetzner Cloud has no managed Kubernetes: k3s on servers you operate "
                "(e.g. with kube-hetzner or hetzner-k3s), one control-plane server "
                "(three for high availability)",
                *notes,
                where,
            ]
        ),
        parts=tuple(parts),
        cost=total(parts),
    )


_LABELS: dict[Kind, tuple[str, str, str]] = {
    # kind: (Scaleway offer, Hetzner offer, sku suffix of the price row)
    Kind.NETWORK: ("VPC + Private Network", "Network", "network.private"),
    Kind.SUBNET: ("Private Network subnet", "Network subnet", "network.private"),
    Kind.FIREWALL: ("Security group", "Firewall", "network.private"),
    Kind.LOAD_BALANCER: ("Load Balancer LB-S", "Load Balancer LB11", ""),
    Kind.ADDRESS: ("Flexible IP", "Primary IPv4", ""),
    Kind.DNS_ZONE: ("Domains and DNS zone", "Hetzner DNS zone", "dns.zone"),
    Kind.PROJECT: ("Scaleway Project", "Hetzner Cloud project", ""),
}
_SKUS = {
    (Kind.LOAD_BALANCER, Target.SCALEWAY): "lb.LB-S",
    (Kind.LOAD_BALANCER, Target.HETZNER): "lb.lb11",
    (Kind.ADDRESS, Target.SCALEWAY): "ip.flexible",
    (Kind.ADDRESS, Target.HETZNER): "ip.primary-ipv4",
}


def _simple(resource: Resource, prices: PriceTable, target: Target, where: str) -> Choice:
    scw, hz, shared = _LABELS[resource.kind]
    sku = _SKUS.get((resource.kind, target), shared)
    parts = [part(prices, target, sku, resource.kind.value)] if sku else []
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=scw if target is Target.SCALEWAY else hz,
        location=where,
        reason=f"same role; {where}",
        parts=tuple(parts),
        cost=total(parts),
    )


def choose(resource: Resource, prices: PriceTable, target: Target) -> Choice:
    """The equivalent of ``resource`` on ``target``, or why there is none."""
    where, why = nearest(resource.region, target)
    choice = _choose(resource, prices, target, f"{where} ({why})")
    return choice.model_copy(update={"location": where})


def _choose(resource: Resource, prices: PriceTable, target: Target, located: str) -> Choice:
    kind = resource.kind
    if kind is Kind.COMPUTE:
        return _compute(resource, prices, target, located)
    if kind is Kind.DISK:
        sku = "volume.sbs-5k" if target is Target.SCALEWAY else "volume.block"
        if resource.disk_gib is None:
            return Choice(
                target=target,
                status=Status.MAPPED,
                offer="block volume",
                location=located,
                reason=f"block volume; size unknown; {located}",
                cost=Cost(monthly_eur=None, detail="size unknown"),
            )
        parts = [part(prices, target, sku, "volume", size=resource.disk_gib)]
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=parts[0].offer,
            location=located,
            reason=f"block volume; {located}",
            parts=tuple(parts),
            cost=total(parts),
        )
    if kind is Kind.DATABASE:
        return _database(resource, prices, target, located)
    if kind is Kind.BUCKET:
        return _bucket(resource, prices, target, located)
    if kind in {Kind.KUBERNETES, Kind.NODE_POOL}:
        return _kubernetes(resource, prices, target, located)
    if kind is Kind.PART:
        on = resource.parent or "its load balancer"
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=f"configured on {on}",
            location=located,
            reason=f"a setting of {on}, not a resource of its own",
            cost=Cost(monthly_eur=0.0, detail="free"),
        )
    if kind is Kind.IDENTITY:
        return unmapped(
            target,
            "service accounts do not carry over: create an API key "
            "(a Scaleway IAM application, a Hetzner project token) with the "
            "least rights by hand",
        )
    if kind in _LABELS:
        return _simple(resource, prices, target, located)
    extra = "; ".join(resource.notes)
    return unmapped(
        target, f"no equivalent rule for {resource.asset_type}" + (f" ({extra})" if extra else "")
    )
