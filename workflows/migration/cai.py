"""Cloud Asset Inventory records (``gcloud asset export`` output) → ``Resource``.

A record is ``{name, asset_type, resource: {data: {...}}}``; ``data`` is the resource as its
own API returns it (camelCase). Every record becomes exactly one Resource: types without a
rule become ``Kind.OTHER`` so the plan lists them, never drops them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.migration.carried import left_over
from workflows.migration.location import split_location
from workflows.migration.machines import machine_spec, sized, sql_tier_spec
from workflows.migration.resource import Kind, NodePool, Resource, Rule
from workflows.migration.values import Fields, last_segment

__all__ = ["from_cai", "sql_engine"]

_Handler = Callable[[Fields, dict[str, Any]], dict[str, Any]]

# GKE's default node machine type and disk when a pool does not say.
GKE_DEFAULT_MACHINE = "e2-medium"
GKE_DEFAULT_DISK_GIB = 100.0


def sql_engine(version: str | None) -> tuple[str | None, str | None]:
    """``POSTGRES_9_6`` → (``postgres``, ``9.6``); ``MYSQL_8_0`` → (``mysql``, ``8.0``)."""
    if not version:
        return None, None
    head, _, rest = version.upper().partition("_")
    engine = {"POSTGRES": "postgres", "MYSQL": "mysql", "SQLSERVER": "sqlserver"}.get(head)
    return engine, rest.replace("_", ".").lower() or None


def _instance(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    region, zone = split_location(last_segment(data.text("zone")))
    machine = last_segment(data.text("machineType"))
    # Local SSDs (SCRATCH) are not persistent disks: listed as not carried, not sized here.
    disks = [
        d
        for d in data.items("disks") or data.items("disk")
        if (d.text("type") or "").upper() != "SCRATCH"
    ]
    sizes = [d.num("diskSizeGb") for d in disks]
    known = [s for s in sizes if s is not None]
    if disks and len(known) < len(disks):
        out["notes"].append("disk sizes are not in the export; size them from the Disk assets")
    nics = data.items("networkInterfaces")
    return {
        "region": region,
        "zone": zone,
        "machine_type": machine,
        **sized(machine, data.num("guestCpus"), data.num("memoryMb")),
        "disk_gib": sum(known) if known else None,
        "status": data.text("status"),
        "public_ip": any(n.items("accessConfigs") for n in nics) if nics else None,
    }


def _disk(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    region, zone = split_location(
        last_segment(data.text("zone")) or last_segment(data.text("region"))
    )
    return {
        "region": region,
        "zone": zone,
        "disk_gib": data.num("sizeGb"),
        "disk_type": last_segment(data.text("type")),
    }


def _sql(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    settings = data.sub("settings")
    tier = settings.text("tier")
    spec = sql_tier_spec(tier)
    engine, version = sql_engine(data.text("databaseVersion"))
    disk_type = settings.text("dataDiskType")
    return {
        "region": data.text("region"),
        "zone": data.text("gceZone"),
        "machine_type": tier,
        "vcpu": spec.vcpu if spec else None,
        "memory_gib": spec.memory_gib if spec else None,
        "disk_gib": settings.num("dataDiskSizeGb"),
        "disk_type": disk_type.lower() if disk_type else None,
        "engine": engine,
        "engine_version": version,
        "high_availability": settings.text("availabilityType") == "REGIONAL",
    }


def _pool(pool: Fields) -> NodePool:
    config = pool.sub("config")
    machine = config.text("machineType") or GKE_DEFAULT_MACHINE
    spec = machine_spec(machine)
    nodes = pool.num("initialNodeCount")
    autoscaling = pool.sub("autoscaling")
    if autoscaling.flag("enabled"):
        nodes = autoscaling.num("minNodeCount") or nodes
    return NodePool(
        name=pool.text("name") or "pool",
        machine_type=machine,
        vcpu=spec.vcpu if spec else None,
        memory_gib=spec.memory_gib if spec else None,
        disk_gib=config.num("diskSizeGb") or GKE_DEFAULT_DISK_GIB,
        nodes=int(nodes) if nodes is not None else None,
    )


def _cluster(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    region, zone = split_location(data.text("location") or data.text("zone"))
    pools = [_pool(p) for p in data.items("nodePools")]
    running = data.num("currentNodeCount")
    declared = sum(p.nodes or 0 for p in pools)
    if running is not None and len(pools) == 1 and int(running) != declared:
        # The cluster's live count beats the pool's initial one: that is what runs today.
        out["notes"].append(f"pool declares {declared} node(s), {int(running)} run now")
        pools = [pools[0].model_copy(update={"nodes": int(running)})]
    return {
        "region": region,
        "zone": zone,
        "pools": tuple(pools),
        "node_count": int(running) if running is not None else declared,
        "engine_version": data.text("currentMasterVersion"),
    }


def _node_pool(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    pool = _pool(data)
    return {
        "machine_type": pool.machine_type,
        "vcpu": pool.vcpu,
        "memory_gib": pool.memory_gib,
        "disk_gib": pool.disk_gib,
        "node_count": pool.nodes,
        "pools": (pool,),
    }


def _bucket(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    location = (data.text("location") or "").lower() or None
    return {"region": location, "storage_class": data.text("storageClass")}


def _firewall(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    if data.flag("disabled"):
        out["notes"].append("disabled rule: nothing to translate")
        return {}
    if (data.text("direction") or "INGRESS") != "INGRESS":
        out["notes"].append("egress rule: the target allows all outbound traffic by default")
        return {}
    sources = tuple(data.strings("sourceRanges"))
    rules = tuple(
        Rule(
            protocol=a.text("IPProtocol") or "all", ports=tuple(a.strings("ports")), sources=sources
        )
        for a in data.items("allowed")
    )
    return {"rules": rules}


def _regional(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    region, zone = split_location(
        last_segment(data.text("region")) or last_segment(data.text("zone"))
    )
    return {"region": region, "zone": zone}


def _zone(data: Fields, out: dict[str, Any]) -> dict[str, Any]:
    return {"dns_name": data.text("dnsName")}


_HANDLERS: dict[str, tuple[Kind, _Handler]] = {
    "compute.googleapis.com/Instance": (Kind.COMPUTE, _instance),
    "compute.googleapis.com/Disk": (Kind.DISK, _disk),
    "sqladmin.googleapis.com/Instance": (Kind.DATABASE, _sql),
    "storage.googleapis.com/Bucket": (Kind.BUCKET, _bucket),
    "container.googleapis.com/Cluster": (Kind.KUBERNETES, _cluster),
    "container.googleapis.com/NodePool": (Kind.NODE_POOL, _node_pool),
    "compute.googleapis.com/Network": (Kind.NETWORK, _regional),
    "compute.googleapis.com/Subnetwork": (Kind.SUBNET, _regional),
    "compute.googleapis.com/Firewall": (Kind.FIREWALL, _firewall),
    "compute.googleapis.com/ForwardingRule": (Kind.LOAD_BALANCER, _regional),
    "compute.googleapis.com/GlobalForwardingRule": (Kind.LOAD_BALANCER, _regional),
    "compute.googleapis.com/BackendService": (Kind.PART, _regional),
    "compute.googleapis.com/RegionBackendService": (Kind.PART, _regional),
    "compute.googleapis.com/UrlMap": (Kind.PART, _regional),
    "compute.googleapis.com/TargetHttpProxy": (Kind.PART, _regional),
    "compute.googleapis.com/TargetHttpsProxy": (Kind.PART, _regional),
    "compute.googleapis.com/TargetPool": (Kind.PART, _regional),
    "compute.googleapis.com/HealthCheck": (Kind.PART, _regional),
    "compute.googleapis.com/Address": (Kind.ADDRESS, _regional),
    "compute.googleapis.com/GlobalAddress": (Kind.ADDRESS, _regional),
    "dns.googleapis.com/ManagedZone": (Kind.DNS_ZONE, _zone),
    "cloudresourcemanager.googleapis.com/Project": (Kind.PROJECT, _regional),
    "iam.googleapis.com/ServiceAccount": (Kind.IDENTITY, _regional),
}


# Older exports name types the legacy way: google.compute.Network, google.cloud.sql.Instance.
_LEGACY = {
    "google.cloud.sql.": "sqladmin.googleapis.com/",
    "google.cloud.storage.": "storage.googleapis.com/",
    "google.cloud.resourcemanager.": "cloudresourcemanager.googleapis.com/",
    "google.cloud.dns.": "dns.googleapis.com/",
    "google.compute.": "compute.googleapis.com/",
    "google.container.": "container.googleapis.com/",
    "google.iam.": "iam.googleapis.com/",
}


def asset_type_of(record: dict[str, Any]) -> str:
    """The record's asset type, legacy names translated to today's."""
    raw = str(record.get("asset_type") or record.get("assetType") or "unknown")
    for legacy, current in _LEGACY.items():
        if raw.startswith(legacy):
            return current + raw.removeprefix(legacy)
    return raw


def _name(record: dict[str, Any], data: Fields, asset_type: str) -> str:
    if asset_type == "cloudresourcemanager.googleapis.com/Project":
        return data.text("projectId") or data.text("name") or "project"
    if asset_type == "iam.googleapis.com/ServiceAccount":
        return data.text("email") or data.text("name") or "service-account"
    # The asset name's last segment is the resource id: unique where data.name may not be.
    return last_segment(str(record.get("name") or "")) or data.text("name") or "unnamed"


def _location_in(asset_name: str) -> tuple[str | None, str | None]:
    """``//compute.googleapis.com/projects/p/regions/us-east1/...`` → its region and zone."""
    parts = asset_name.split("/")
    for key in ("zones", "regions", "locations"):
        if key in parts and parts.index(key) + 1 < len(parts):
            return split_location(parts[parts.index(key) + 1])
    return None, None


def _parent(asset_name: str, kind: Kind) -> str | None:
    if kind is Kind.NODE_POOL and "/clusters/" in asset_name:
        return asset_name.split("/clusters/", 1)[1].split("/", 1)[0]
    return None


def from_cai(records: list[Any], source: str) -> list[Resource]:
    """One Resource per Asset Inventory record; ``source`` names the file."""
    resources: list[Resource] = []
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            record = {}
        asset_type = asset_type_of(record)
        resource = record.get("resource")
        unknown: list[str] = []
        data = Fields(resource.get("data") if isinstance(resource, dict) else {}, unknown)
        kind, handler = _HANDLERS.get(asset_type, (Kind.OTHER, _regional))
        out: dict[str, Any] = {"notes": []}
        fields = handler(data, out)
        asset_name = str(record.get("name") or "")
        if not fields.get("region") and not fields.get("zone"):
            fields["region"], fields["zone"] = _location_in(asset_name)
        resources.append(
            Resource(
                kind=kind,
                name=_name(record, data, asset_type),
                asset_type=asset_type,
                source=f"{source} record {index}",
                parent=_parent(asset_name, kind),
                unknown=tuple(unknown),
                notes=tuple(out["notes"]),
                dropped=left_over(kind, data.data),
                **fields,
            )
        )
    return resources
