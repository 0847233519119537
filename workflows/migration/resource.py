"""One normalized cloud resource, whatever file it came from (Asset Inventory, Terraform).

The parsers return ``Resource``; mapping, pricing, the generated Terraform and the runbook
read nothing else. Sizes are in GiB because Google's "GB" is a gibibyte (2^30 bytes).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["STOPPED", "Dropped", "Kind", "NodePool", "Resource", "Rule"]

#: VM states in which Google bills the disks but not the machine type.
STOPPED = frozenset({"TERMINATED", "STOPPED", "STOPPING", "SUSPENDED", "SUSPENDING"})


class Kind(StrEnum):
    """What a resource is, in terms a migration cares about."""

    COMPUTE = "compute"
    DISK = "disk"
    DATABASE = "database"
    BUCKET = "bucket"
    KUBERNETES = "kubernetes"
    NODE_POOL = "node_pool"
    NETWORK = "network"
    SUBNET = "subnet"
    FIREWALL = "firewall"
    LOAD_BALANCER = "load_balancer"
    PART = "part"  # configured on a parent: a backend service on its LB, a user on its DB
    ADDRESS = "address"
    DNS_ZONE = "dns_zone"
    PROJECT = "project"
    IDENTITY = "identity"  # service accounts and other IAM principals
    OTHER = "other"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodePool(_Model):
    """A group of identical Kubernetes nodes."""

    name: str
    machine_type: str | None = None
    vcpu: float | None = None
    memory_gib: float | None = None
    disk_gib: float | None = None
    nodes: int | None = None


class Rule(_Model):
    """One inbound firewall rule: protocol, ports ("22", "8000-8080"; empty: all), sources."""

    protocol: str
    ports: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


class Dropped(_Model):
    """An attribute of the source that the mapping does not carry over to the target.

    ``code`` picks what to do about it (``carried_text`` says it in French or English);
    ``detail`` holds the source's own values ("2 × nvidia-tesla-t4", "1-5 nodes").
    """

    attribute: str = Field(description="as the source names it: guest_accelerator, ...")
    code: str
    detail: str = ""


class Resource(_Model):
    """A resource to migrate, with the sizes that decide its equivalent."""

    kind: Kind
    name: str = Field(description="the resource's own name, unique within an inventory")
    asset_type: str = Field(description="CAI asset type or Terraform resource type")
    source: str = Field(description="file and record it was read from")
    region: str | None = None
    zone: str | None = None
    machine_type: str | None = None
    vcpu: float | None = None
    memory_gib: float | None = None
    disk_gib: float | None = None
    disk_type: str | None = None
    engine: str | None = Field(None, description="postgres, mysql or sqlserver")
    engine_version: str | None = None
    high_availability: bool = False
    node_count: int | None = None
    pools: tuple[NodePool, ...] = ()
    parent: str | None = Field(None, description="the cluster of a node pool")
    storage_class: str | None = None
    dns_name: str | None = Field(None, description="the domain a DNS zone serves")
    rules: tuple[Rule, ...] = ()
    status: str | None = Field(None, description="a VM's state at source: RUNNING, TERMINATED")
    public_ip: bool | None = Field(None, description="has an external IP; None: not said")
    sized_from: str | None = Field(
        None, description="what gave vCPU and memory when the type is not a predefined one"
    )
    dropped: tuple[Dropped, ...] = Field((), description="attributes not carried over")
    unknown: tuple[str, ...] = Field((), description="fields whose value was a placeholder")
    notes: tuple[str, ...] = ()

    @property
    def stopped(self) -> bool:
        """A VM that does not run at source: Google bills its disks, not its machine."""
        return (self.status or "").upper() in STOPPED

    @property
    def location(self) -> str:
        """The zone, else the region, else ``unknown``."""
        return self.zone or self.region or "unknown"
