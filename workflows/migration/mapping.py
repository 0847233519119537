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
    DEFAULT_DISK_GIB,
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
from workflows.migration.why import Why, WhyCode, why

__all__ = ["Choice", "Part", "Status", "choose"]


def _sizing(resource: Resource) -> list[Why]:
    """Say where the size came from when the machine type is not a predefined one."""
    if resource.sized_from is None or resource.vcpu is None or resource.memory_gib is None:
        return []
    code: WhyCode = "sized_from_fields" if resource.sized_from == "fields" else "sized_from_name"
    size = {"vcpu": float(resource.vcpu), "memory": float(resource.memory_gib)}
    return [why(code, type=resource.machine_type or "", **size)]


def _stopped(
    resource: Resource, prices: PriceTable, target: Target, parts: list[Part]
) -> tuple[list[Part], Why]:
    """A VM stopped at source is planned, not started: only its disk is kept and priced."""
    running = total(parts).monthly_eur or 0.0
    disk = resource.disk_gib if resource.disk_gib is not None else DEFAULT_DISK_GIB
    sku = "volume.sbs-5k" if target is Target.SCALEWAY else "volume.block"
    kept = [part(prices, target, sku, "volume", size=disk)]
    said = why("stopped_source", status=resource.status or "", offer=parts[0].offer,
               running=round(running, 2))  # fmt: skip
    return kept, said


def _compute(resource: Resource, prices: PriceTable, target: Target, where: Why) -> Choice:
    if resource.vcpu is None or resource.memory_gib is None:
        if any(u.lower().replace("_", "") == "machinetype" for u in resource.unknown):
            return unmapped(target, why("placeholder_machine"))
        return unmapped(target, why("unknown_machine", type=resource.machine_type or ""))
    found = server(
        prices,
        target,
        resource.vcpu,
        resource.memory_gib,
        resource.disk_gib,
        public_ip=resource.public_ip is not False,
    )
    if found is None:
        size = {"vcpu": float(resource.vcpu), "memory": float(resource.memory_gib)}
        return unmapped(target, why("no_server", target=target.value, **size))
    parts, reasons = found
    reasons = [*_sizing(resource), *reasons]
    if resource.public_ip is False:
        reasons.append(why("no_public_ip"))
    elif resource.public_ip is None:
        reasons.append(why("public_ip_assumed"))
    offer = parts[0].offer
    if resource.stopped:
        parts, said = _stopped(resource, prices, target, parts)
        reasons.insert(0, said)
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=offer,
        why=(*reasons, where),
        parts=tuple(parts),
        cost=total(parts),
    )


def _database(resource: Resource, prices: PriceTable, target: Target, where: Why) -> Choice:
    if resource.vcpu is None or resource.memory_gib is None:
        return unmapped(target, why("unknown_tier", tier=resource.machine_type or ""))
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
            return unmapped(target, why("no_db_server"))
        parts, reasons = found
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
            why=(why("managed_db_missing", engine=resource.engine or "", nodes=nodes), *reasons),
            parts=tuple(parts),
            cost=total(parts),
        )
    if resource.engine not in {"postgres", "mysql"}:
        return unmapped(target, why("engine_unsupported", engine=resource.engine or ""))
    row = cheapest(prices, target, "db", resource.vcpu, resource.memory_gib, "x86_64")
    if row is None:
        return unmapped(target, why("no_db_node"))
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
    size = {"vcpu": float(resource.vcpu), "memory": float(resource.memory_gib)}
    reasons = [why("cheapest_db_node", offer=row.offer, **size), where]
    if resource.high_availability:
        reasons.append(why("standby"))
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=row.offer,
        why=tuple(reasons),
        parts=tuple(parts),
        cost=total(parts),
    )


def _bucket(resource: Resource, prices: PriceTable, target: Target, where: Why) -> Choice:
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
            why=(why("s3", offer=name), where, why("rclone")),
            cost=cost,
        )
    stored = part(prices, target, sku, "storage", size=resource.disk_gib)
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=name,
        why=(why("s3", offer=name), where),
        parts=(stored,),
        cost=total([stored]),
    )


def _kubernetes(resource: Resource, prices: PriceTable, target: Target, where: Why) -> Choice:
    parts: list[Part] = []
    notes: list[Why] = []
    if resource.kind is Kind.KUBERNETES:
        if target is Target.SCALEWAY:
            parts.append(part(prices, target, "k8s.control-plane", "control-plane"))
        else:
            found = server(prices, target, 2, 4, None, role="control-plane")
            assert found is not None
            parts += found[0]
    for pool in resource.pools:
        if pool.vcpu is None or pool.memory_gib is None or pool.nodes is None:
            return unmapped(target, why("pool_unknown", pool=pool.name))
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
            return unmapped(target, why("no_pool_server", target=target.value, pool=pool.name))
        parts += found[0]
        notes.append(why("pool", pool=pool.name, nodes=pool.nodes, offer=found[0][0].offer))
    if target is Target.SCALEWAY:
        offer = "Kapsule" if resource.kind is Kind.KUBERNETES else "Kapsule pool"
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=offer,
            why=(why("kapsule"), where, *notes),
            parts=tuple(parts),
            cost=total(parts),
        )
    return Choice(
        target=target,
        status=Status.SELF_MANAGED,
        offer="k3s",  # on servers you operate: the reason says so, in the reader's language
        why=(why("k3s"), *notes, where),
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


def _simple(resource: Resource, prices: PriceTable, target: Target, where: Why) -> Choice:
    scw, hz, shared = _LABELS[resource.kind]
    sku = _SKUS.get((resource.kind, target), shared)
    parts = [part(prices, target, sku, resource.kind.value)] if sku else []
    return Choice(
        target=target,
        status=Status.MAPPED,
        offer=scw if target is Target.SCALEWAY else hz,
        why=(why("same_role"), where),
        parts=tuple(parts),
        cost=total(parts),
    )


def choose(resource: Resource, prices: PriceTable, target: Target) -> Choice:
    """The equivalent of ``resource`` on ``target``, or why there is none."""
    where, reason = nearest(resource.region, target)
    choice = _choose(resource, prices, target, reason)
    return choice.model_copy(update={"location": where})


def _choose(resource: Resource, prices: PriceTable, target: Target, located: Why) -> Choice:
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
                why=(why("block_volume"), why("size_unknown"), located),
                cost=Cost(monthly_eur=None, detail="size unknown"),
            )
        parts = [part(prices, target, sku, "volume", size=resource.disk_gib)]
        return Choice(
            target=target,
            status=Status.MAPPED,
            offer=parts[0].offer,
            why=(why("block_volume"), located),
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
        return Choice(
            target=target,
            status=Status.MAPPED,
            # Where it lives on the target; the reason says so in the reader's language.
            offer=resource.parent or "—",
            why=(why("setting_of", on=resource.parent or ""),),
            cost=Cost(monthly_eur=0.0, detail="free"),
        )
    if kind is Kind.IDENTITY:
        return unmapped(target, why("identity"))
    if kind in _LABELS:
        return _simple(resource, prices, target, located)
    if resource.notes:  # the inventory's own notes, as its parser wrote them
        notes = "; ".join(resource.notes)
        return unmapped(target, why("no_rule_noted", type=resource.asset_type, notes=notes))
    return unmapped(target, why("no_rule", type=resource.asset_type))
