"""What a resource holds that the mapping does not carry over, so the plan lists it.

The mapping carries a resource's size, location, state, external IP, engine and rules; the
rest of the record (GPUs, preemptible or spot scheduling, local SSDs, a pool's autoscaling,
labels, service accounts...) would silently vanish. ``left_over`` reads the raw record, CAI
(camelCase) or Terraform (snake_case) alike, and returns every attribute with a value that
is neither carried nor output-only, each with the code of what to do about it. Kinds mapped
by role only (networks, load balancers, DNS zones...) are rebuilt by hand from the runbook,
so their attributes are not listed one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflows.migration.resource import Dropped, Kind

__all__ = ["LISTED", "left_over"]

#: The kinds whose attributes are checked one by one.
LISTED = frozenset(
    {Kind.COMPUTE, Kind.DISK, Kind.DATABASE, Kind.BUCKET, Kind.KUBERNETES, Kind.NODE_POOL}
)

# Identity, output-only or carried by every mapping: never listed.
_COMMON = {
    "id", "name", "kind", "self_link", "self_link_with_id", "creation_timestamp", "create_time",
    "fingerprint", "label_fingerprint", "etag", "status", "status_message", "zone", "region",
    "location", "locations", "project", "description", "timeouts", "unique_id", "time_created",
    "updated", "project_number", "metageneration", "network", "subnetwork", "network_config",
    "effective_labels", "terraform_labels", "users", "last_attach_timestamp",
}  # fmt: skip

_CARRIED: dict[Kind, set[str]] = {
    Kind.COMPUTE: {
        "machine_type", "disks", "disk", "boot_disk", "attached_disk", "cpu_platform",
        "desired_status", "current_status", "allow_stopping_for_update", "start_restricted",
        "guest_cpus", "memory_mb", "instance_id", "satisfies_pzs", "satisfies_pzi",
    },
    Kind.DISK: {"size_gb", "size", "type", "physical_block_size_bytes", "source_image_id",
                "source_image", "image", "last_detach_timestamp", "disk_id"},
    Kind.DATABASE: {"database_version", "tier", "data_disk_size_gb", "data_disk_type",
                    "disk_size", "disk_type", "availability_type", "gce_zone", "backend_type",
                    "instance_type", "connection_name", "service_account_email_address",
                    "ip_addresses", "server_ca_cert", "settings_version", "first_ip_address",
                    "public_ip_address", "private_ip_address", "master_instance_name",
                    "database_installed_version", "maintenance_version", "dns_name",
                    "pricing_plan", "replication_type"},
    Kind.BUCKET: {"storage_class", "project_number", "url", "force_destroy"},
    Kind.KUBERNETES: {"current_master_version", "current_node_count", "current_node_version",
                      "initial_cluster_version", "endpoint", "instance_group_urls",
                      "node_pools", "node_pool", "initial_node_count",
                      "remove_default_node_pool", "master_version", "min_master_version",
                      "node_version", "node_locations", "services_ipv4_cidr", "label_fingerprint",
                      "cluster_ipv4_cidr", "node_ipv4_cidr_size", "operation"},
    Kind.NODE_POOL: {"node_count", "initial_node_count", "instance_group_urls", "cluster",
                     "version", "node_locations", "managed_instance_group_urls",
                     "max_pods_constraint", "pod_ipv4_cidr_size", "upgrade_settings"},
}  # fmt: skip
# Inside a pool's node config: the machine and its disk are carried.
_NODE_CONFIG_CARRIED = {"machine_type", "disk_size_gb", "disk_type", "image_type"}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _blocks(value: Any) -> list[dict[str, Any]]:
    """A nested object, or Terraform's list of blocks, as a list of objects."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _get(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]`` under its snake_case or camelCase name."""
    for name, value in obj.items():
        if _snake(name) == key:
            return value
    return None


def _empty(value: Any) -> bool:
    """Nothing set: a default the target shares, so nothing to carry."""
    if value is None or value is False or value in ("", 0):
        return True
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return False


def _gpus(attribute: str, value: Any) -> list[Dropped]:
    found = []
    for gpu in _blocks(value):
        count = _get(gpu, "count") or _get(gpu, "accelerator_count") or 1
        kind = _get(gpu, "type") or _get(gpu, "accelerator_type") or "?"
        found.append(f"{count} × {str(kind).rsplit('/', 1)[-1]}")
    return [Dropped(attribute=attribute, code="gpu", detail=", ".join(found))] if found else []


def _scheduling(attribute: str, value: Any) -> list[Dropped]:
    out: list[Dropped] = []
    for block in _blocks(value):
        model = str(_get(block, "provisioning_model") or "").upper()
        if model == "SPOT":
            out.append(Dropped(attribute=f"{attribute}.provisioning_model", code="spot"))
        elif _get(block, "preemptible") in (True, "true"):
            out.append(Dropped(attribute=f"{attribute}.preemptible", code="preemptible"))
        if not _empty(_get(block, "node_affinities")):
            out.append(Dropped(attribute=f"{attribute}.node_affinities", code="sole_tenant"))
    return out


def _scratch(attribute: str, value: Any) -> list[Dropped]:
    n = len(_blocks(value)) or (int(value) if isinstance(value, int | float) else 0)
    return [Dropped(attribute=attribute, code="local_ssd", detail=f"{n}")] if n else []


def _interfaces(attribute: str, value: Any) -> list[Dropped]:
    """The external IP is carried; a second interface and alias ranges are not."""
    nics = _blocks(value)
    out = []
    if len(nics) > 1:
        out.append(Dropped(attribute=attribute, code="nics", detail=f"{len(nics)}"))
    if any(not _empty(_get(n, "alias_ip_range") or _get(n, "alias_ip_ranges")) for n in nics):
        out.append(Dropped(attribute=f"{attribute}.alias_ip_range", code="alias_ip"))
    return out


def _autoscaling(attribute: str, value: Any) -> list[Dropped]:
    for block in _blocks(value):
        low = _get(block, "min_node_count") or _get(block, "total_min_node_count")
        high = _get(block, "max_node_count") or _get(block, "total_max_node_count")
        if _get(block, "enabled") in (True, "true") or low is not None or high is not None:
            detail = f"{low if low is not None else '?'}-{high if high is not None else '?'}"
            return [Dropped(attribute=attribute, code="autoscaling", detail=detail)]
    return []


def _node_config(attribute: str, value: Any) -> list[Dropped]:
    out: list[Dropped] = []
    for block in _blocks(value):
        out += _attributes(block, _NODE_CONFIG_CARRIED, f"{attribute}.")
    return out


def _disks(attribute: str, value: Any) -> list[Dropped]:
    """CAI lists local SSDs among the disks, typed SCRATCH."""
    scratch = [d for d in _blocks(value) if str(_get(d, "type") or "").upper() == "SCRATCH"]
    return _scratch(attribute, scratch) if scratch else []


def _pools(attribute: str, value: Any) -> list[Dropped]:
    """A cluster's inline pools: what each holds beyond its machine and node count."""
    out: list[Dropped] = []
    carried = _CARRIED[Kind.NODE_POOL] | {"status", "self_link"}
    for pool in _blocks(value):
        name = _get(pool, "name") or "pool"
        out += _attributes(pool, carried, f"{attribute}[{name}].")
    return out


def _activation(attribute: str, value: Any) -> list[Dropped]:
    """ALWAYS is a running database; anything else is not carried."""
    if _empty(value) or str(value).upper() == "ALWAYS":
        return []
    return [Dropped(attribute=attribute, code="attribute", detail=str(value))]


_Reader = Callable[[str, Any], list[Dropped]]
_SPECIAL: dict[str, _Reader] = {
    "guest_accelerator": _gpus,
    "guest_accelerators": _gpus,
    "accelerators": _gpus,
    "scheduling": _scheduling,
    "scratch_disk": _scratch,
    "local_ssd_count": _scratch,
    "network_interface": _interfaces,
    "network_interfaces": _interfaces,
    "autoscaling": _autoscaling,
    "node_config": _node_config,
    "config": _node_config,
    "disks": _disks,
    "disk": _disks,
    "node_pools": _pools,
    "node_pool": _pools,
    "activation_policy": _activation,
}
# Read for what they hold even when the rest of the key is carried.
_SPOT = {"preemptible": "preemptible", "spot": "spot"}


def _attributes(record: dict[str, Any], carried: set[str], prefix: str = "") -> list[Dropped]:
    out: list[Dropped] = []
    for raw, value in record.items():
        key = _snake(raw)
        special = _SPECIAL.get(key)
        if special is not None:
            out += special(prefix + key, value)
            continue
        if key in _COMMON or key in carried or _empty(value):
            continue
        if key == "settings":  # Cloud SQL keeps most of its configuration one level down
            for block in _blocks(value):
                out += _attributes(block, carried, prefix + "settings.")
            continue
        code = _SPOT.get(key, "attribute")
        out.append(Dropped(attribute=prefix + key, code=code))
    return out


def left_over(kind: Kind, record: Any) -> tuple[Dropped, ...]:
    """Every attribute of ``record`` (a resource's raw data) the mapping of ``kind`` drops."""
    if kind not in LISTED or not isinstance(record, dict):
        return ()
    return tuple(_attributes(record, _CARRIED.get(kind, set())))
