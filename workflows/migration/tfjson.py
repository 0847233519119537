"""Terraform plan and state JSON (``google_*`` resources) → ``Resource``.

Reads ``terraform show -json`` of a plan (``planned_values.root_module`` and its
``child_modules``; ``resource_changes[].change.after`` when there are no planned values),
of a state (``values.root_module``), and raw state files v4 (``resources[].instances[]``).
Every managed resource instance becomes one Resource; data sources are lookups, not
infrastructure, and are not counted as records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from workflows.migration.cai import GKE_DEFAULT_DISK_GIB, GKE_DEFAULT_MACHINE, sql_engine
from workflows.migration.carried import left_over
from workflows.migration.location import split_location
from workflows.migration.machines import machine_spec, sized, sql_tier_spec
from workflows.migration.resource import Kind, NodePool, Resource, Rule
from workflows.migration.values import Fields, last_segment

__all__ = ["from_plan", "from_state", "managed_instances"]

_Handler = Callable[[Fields, list[str]], dict[str, Any]]


def _instance(v: Fields, notes: list[str]) -> dict[str, Any]:
    region, zone = split_location(v.text("zone"))
    machine = last_segment(v.text("machine_type"))
    boot = v.sub("boot_disk").sub("initialize_params")
    size = boot.num("size")
    attached = v.items("attached_disk")
    nics = v.items("network_interface")
    if size is None:
        notes.append("boot disk size not given: the image's default applies")
    if attached:
        notes.append(f"{len(attached)} attached disk(s) are sized by their own disk resources")
    return {
        "region": region,
        "zone": zone,
        "machine_type": machine,
        **sized(machine, v.num("guest_cpus"), v.num("memory_mb")),
        "disk_gib": size,
        "disk_type": boot.text("type"),
        # A stopped VM in a state says so in current_status; a plan or config in desired_status.
        "status": v.text("current_status") or v.text("desired_status"),
        "public_ip": any(n.items("access_config") for n in nics) if nics else None,
    }


def _disk(v: Fields, notes: list[str]) -> dict[str, Any]:
    region, zone = split_location(v.text("zone") or v.text("region"))
    return {"region": region, "zone": zone, "disk_gib": v.num("size"), "disk_type": v.text("type")}


def _sql(v: Fields, notes: list[str]) -> dict[str, Any]:
    settings = v.sub("settings")
    tier = settings.text("tier")
    spec = sql_tier_spec(tier)
    engine, version = sql_engine(v.text("database_version"))
    if settings.num("disk_size") is None:
        notes.append("data disk size not given: Cloud SQL starts at 10 GiB")
    return {
        "region": v.text("region"),
        "machine_type": tier,
        "vcpu": spec.vcpu if spec else None,
        "memory_gib": spec.memory_gib if spec else None,
        "disk_gib": settings.num("disk_size") or 10.0,
        "disk_type": (settings.text("disk_type") or "PD_SSD").lower(),
        "engine": engine,
        "engine_version": version,
        "high_availability": settings.text("availability_type") == "REGIONAL",
    }


def _bucket(v: Fields, notes: list[str]) -> dict[str, Any]:
    location = (v.text("location") or "").lower() or None
    return {"region": location, "storage_class": v.text("storage_class") or "STANDARD"}


def _pool(v: Fields, name: str | None = None) -> NodePool:
    config = v.sub("node_config")
    machine = config.text("machine_type") or GKE_DEFAULT_MACHINE
    spec = machine_spec(machine)
    nodes = v.num("node_count")
    if nodes is None:
        nodes = v.num("initial_node_count")
    if nodes is None:
        nodes = v.sub("autoscaling").num("min_node_count")
    return NodePool(
        name=name or v.text("name") or "pool",
        machine_type=machine,
        vcpu=spec.vcpu if spec else None,
        memory_gib=spec.memory_gib if spec else None,
        disk_gib=config.num("disk_size_gb") or GKE_DEFAULT_DISK_GIB,
        nodes=int(nodes) if nodes is not None else None,
    )


def _cluster(v: Fields, notes: list[str]) -> dict[str, Any]:
    region, zone = split_location(v.text("location"))
    pools = [_pool(p) for p in v.items("node_pool")]
    if not pools and not v.flag("remove_default_node_pool"):
        pools = [_pool(v, "default-pool")]
    if zone is None and region and pools and not v.strings("node_locations"):
        notes.append("regional cluster: each pool's node count runs in each of 3 zones")
        pools = [p.model_copy(update={"nodes": (p.nodes or 0) * 3}) for p in pools]
    return {"region": region, "zone": zone, "pools": tuple(pools)}


def _node_pool(v: Fields, notes: list[str]) -> dict[str, Any]:
    region, zone = split_location(v.text("location"))
    pool = _pool(v)
    if zone is None and region and pool.nodes and not v.strings("node_locations"):
        notes.append(f"regional pool: {pool.nodes} node(s) in each of 3 zones")
        pool = pool.model_copy(update={"nodes": pool.nodes * 3})
    return {
        "region": region,
        "zone": zone,
        "machine_type": pool.machine_type,
        "vcpu": pool.vcpu,
        "memory_gib": pool.memory_gib,
        "disk_gib": pool.disk_gib,
        "node_count": pool.nodes,
        "pools": (pool,),
        "parent": last_segment(v.text("cluster")),
    }


def _firewall(v: Fields, notes: list[str]) -> dict[str, Any]:
    if v.flag("disabled"):
        notes.append("disabled rule: nothing to translate")
        return {}
    if (v.text("direction") or "INGRESS") != "INGRESS":
        notes.append("egress rule: the target allows all outbound traffic by default")
        return {}
    sources = tuple(v.strings("source_ranges"))
    rules = tuple(
        Rule(protocol=a.text("protocol") or "all", ports=tuple(a.strings("ports")), sources=sources)
        for a in v.items("allow")
    )
    return {"rules": rules}


def _regional(v: Fields, notes: list[str]) -> dict[str, Any]:
    region, zone = split_location(v.text("zone") or v.text("region") or v.text("location"))
    return {"region": region, "zone": zone}


def _zone(v: Fields, notes: list[str]) -> dict[str, Any]:
    return {"dns_name": v.text("dns_name")}


def _part_of(attribute: str) -> _Handler:
    def handler(v: Fields, notes: list[str]) -> dict[str, Any]:
        return {**_regional(v, notes), "parent": last_segment(v.text(attribute))}

    return handler


_HANDLERS: dict[str, tuple[Kind, _Handler]] = {
    "google_compute_instance": (Kind.COMPUTE, _instance),
    "google_compute_disk": (Kind.DISK, _disk),
    "google_sql_database_instance": (Kind.DATABASE, _sql),
    "google_sql_database": (Kind.PART, _part_of("instance")),
    "google_sql_user": (Kind.PART, _part_of("instance")),
    "google_storage_bucket": (Kind.BUCKET, _bucket),
    "google_container_cluster": (Kind.KUBERNETES, _cluster),
    "google_container_node_pool": (Kind.NODE_POOL, _node_pool),
    "google_compute_network": (Kind.NETWORK, _regional),
    "google_compute_subnetwork": (Kind.SUBNET, _regional),
    "google_compute_firewall": (Kind.FIREWALL, _firewall),
    "google_compute_forwarding_rule": (Kind.LOAD_BALANCER, _regional),
    "google_compute_global_forwarding_rule": (Kind.LOAD_BALANCER, _regional),
    "google_compute_backend_service": (Kind.PART, _regional),
    "google_compute_region_backend_service": (Kind.PART, _regional),
    "google_compute_url_map": (Kind.PART, _regional),
    "google_compute_target_http_proxy": (Kind.PART, _regional),
    "google_compute_target_https_proxy": (Kind.PART, _regional),
    "google_compute_health_check": (Kind.PART, _regional),
    "google_compute_address": (Kind.ADDRESS, _regional),
    "google_compute_global_address": (Kind.ADDRESS, _regional),
    "google_dns_managed_zone": (Kind.DNS_ZONE, _zone),
    "google_dns_record_set": (Kind.PART, _part_of("managed_zone")),
    "google_project": (Kind.PROJECT, _regional),
    "google_service_account": (Kind.IDENTITY, _regional),
}


def to_resource(rtype: str, address: str, values: Any, source: str) -> Resource:
    """One Terraform resource instance as a Resource (``Kind.OTHER`` when we have no rule)."""
    unknown: list[str] = []
    v = Fields(values, unknown)
    notes: list[str] = []
    kind, handler = _HANDLERS.get(rtype, (Kind.OTHER, _regional))
    if kind is Kind.OTHER and not rtype.startswith("google"):
        notes.append("not a Google Cloud resource")
    fields = handler(v, notes)
    if rtype == "google_project":
        name = v.text("project_id") or v.text("name")
    elif rtype == "google_service_account":
        name = v.text("account_id") or v.text("email")
    else:
        name = v.text("name")
    return Resource(
        kind=kind,
        name=name or address,
        asset_type=rtype,
        source=f"{source} {address}",
        unknown=tuple(unknown),
        notes=tuple(notes),
        dropped=left_over(kind, v.data),
        **fields,
    )


def _module_resources(module: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(module, dict):
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, dict):
            yield resource
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


def managed_instances(doc: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(type, address, values) of every managed resource in a plan or ``show -json`` state."""
    root = (doc.get("planned_values") or doc.get("values") or {}).get("root_module")
    found = [
        (str(r.get("type")), str(r.get("address") or r.get("name")), r.get("values"))
        for r in _module_resources(root)
        if r.get("mode", "managed") == "managed"
    ]
    if found:
        return found
    # A plan without planned values still says what each change leads to.
    return [
        (str(c.get("type")), str(c.get("address")), (c.get("change") or {}).get("after"))
        for c in doc.get("resource_changes") or []
        if isinstance(c, dict)
        and c.get("mode", "managed") == "managed"
        and "delete" not in ((c.get("change") or {}).get("actions") or [])
    ]


def from_plan(doc: dict[str, Any], source: str) -> list[Resource]:
    """Resources of a ``terraform show -json`` plan or state."""
    return [to_resource(t, a, v, source) for t, a, v in managed_instances(doc)]


def from_state(doc: dict[str, Any], source: str) -> list[Resource]:
    """Resources of a raw state file, format v4 (``terraform.tfstate``)."""
    out: list[Resource] = []
    for resource in doc.get("resources") or []:
        if not isinstance(resource, dict) or resource.get("mode", "managed") != "managed":
            continue
        rtype = str(resource.get("type"))
        prefix = f"{resource['module']}." if resource.get("module") else ""
        base = f"{prefix}{rtype}.{resource.get('name')}"
        instances = [i for i in resource.get("instances") or [] if isinstance(i, dict)]
        for instance in instances:
            key = instance.get("index_key")
            address = base if key is None else f"{base}[{key!r}]".replace("'", '"')
            out.append(to_resource(rtype, address, instance.get("attributes"), source))
    return out
