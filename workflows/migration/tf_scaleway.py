"""OpenTofu/Terraform for Scaleway (provider ``scaleway/scaleway``) from a migration plan.

Credentials are variables, never literals. One VPC and Private Network per region used;
servers, databases and clusters join it. What has no Scaleway resource (an IAM identity,
a DNS zone to import, an unmapped type) is written as a comment that says why.
"""

from __future__ import annotations

import math

from workflows.migration.hcl import Block, Names, dns_label, quote, render
from workflows.migration.location import Target, scaleway_zone
from workflows.migration.mapping import Choice, Status
from workflows.migration.plan import MigrationPlan, Planned
from workflows.migration.resource import Kind, Resource

__all__ = ["scaleway_files"]

_T = Target.SCALEWAY
_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "all": "ANY"}
_ENGINES = {"postgres": ("PostgreSQL", (13, 14, 15, 16), 16), "mysql": ("MySQL", (8,), 8)}


def _header(regions: list[str]) -> list[Block | str]:
    providers = Block("required_providers").set(
        "scaleway", '{ source = "scaleway/scaleway", version = "~> 2.40" }'
    )
    terraform = Block("terraform").set("required_version", quote(">= 1.6")).add(providers)
    provider = (
        Block("provider", ("scaleway",))
        .set("access_key", "var.scaleway_access_key")
        .set("secret_key", "var.scaleway_secret_key")
        .set("project_id", "var.scaleway_project_id")
        .set("region", quote(regions[0]))
        .set("zone", quote(scaleway_zone(regions[0])))
    )
    variables: list[Block | str] = [
        Block("variable", (name,)).set("type", "string").set("sensitive", "true")
        for name in ("scaleway_access_key", "scaleway_secret_key")
    ]
    variables.append(Block("variable", ("scaleway_project_id",)).set("type", "string"))
    variables.append(
        Block("variable", ("kubernetes_version",))
        .set("type", "string")
        .set("default", quote("1.31"))
        .set("description", quote("a Kapsule version; check 'scw k8s version list'"))
    )
    return [terraform, provider, *variables]


def _engine(resource: Resource) -> tuple[str, str]:
    name, supported, latest = _ENGINES[resource.engine or "postgres"]
    try:
        major = int(float((resource.engine_version or "").split(".")[0] or 0))
    except ValueError:
        major = 0
    if major in supported:
        return f"{name}-{major}", ""
    return f"{name}-{latest}", (
        f"{resource.engine} {resource.engine_version or '?'} → {name} {latest}: a major "
        "upgrade, test the dump and restore first"
    )


class _Writer:
    def __init__(self, plan: MigrationPlan) -> None:
        self.plan = plan
        self.names = Names()
        self.parts: list[Block | str] = []
        self.networks: dict[str, str] = {}  # region -> private network identifier
        self.clusters: dict[str, str] = {}  # GCP cluster name -> identifier
        self.secrets: list[str] = []

    def network(self, region: str) -> str:
        if region not in self.networks:
            vpc = self.names.ident("scaleway_vpc", f"main_{region}")
            pn = self.names.ident("scaleway_vpc_private_network", f"main_{region}")
            self.parts.append(
                Block("resource", ("scaleway_vpc", vpc))
                .set("name", quote(f"main-{region}"))
                .set("region", quote(region))
            )
            self.parts.append(
                Block("resource", ("scaleway_vpc_private_network", pn))
                .set("name", quote(f"main-{region}"))
                .set("vpc_id", f"scaleway_vpc.{vpc}.id")
                .set("region", quote(region))
            )
            self.networks[region] = f"scaleway_vpc_private_network.{pn}.id"
        return self.networks[region]

    def server(self, resource: Resource, choice: Choice) -> None:
        zone = scaleway_zone(choice.location)
        volume = next((p for p in choice.parts if p.role == "volume"), None)
        size = str(math.ceil(volume.size_gib or 20) if volume else 20)
        if resource.stopped:
            # Stopped at source: keep its disk as a volume; the server is not created.
            ident = self.names.ident("scaleway_block_volume", resource.name)
            self.parts.append(
                Block("resource", ("scaleway_block_volume", ident), comments=[choice.reason])
                .set("name", quote(dns_label(resource.name)))
                .set("iops", "5000")
                .set("size_in_gb", size)
                .set("zone", quote(zone))
            )
            return
        ident = self.names.ident("scaleway_instance_server", resource.name)
        pn = self.network(zone.rsplit("-", 1)[0])
        server = Block("resource", ("scaleway_instance_server", ident), comments=[choice.reason])
        server.set("name", quote(dns_label(resource.name))).set("type", quote(choice.offer))
        server.set("image", quote("debian_bookworm")).set("zone", quote(zone))
        # Keep the network shape: an external IP only where the VM had one.
        if any(p.role == "ip" for p in choice.parts):
            self.parts.append(
                Block("resource", ("scaleway_instance_ip", ident)).set("zone", quote(zone))
            )
            server.set("ip_id", f"scaleway_instance_ip.{ident}.id")
        root = Block("root_volume").set("volume_type", quote("sbs_volume"))
        root.set("size_in_gb", size)
        self.parts.append(server.add(root).add(Block("private_network").set("pn_id", pn)))

    def database(self, resource: Resource, choice: Choice) -> None:
        region = choice.location
        ident = self.names.ident("scaleway_rdb_instance", resource.name)
        secret = f"db_password_{ident}"
        self.secrets.append(secret)
        engine, upgrade = _engine(resource)
        volume = next(p for p in choice.parts if p.role == "volume")
        self.parts.append(
            Block(
                "resource",
                ("scaleway_rdb_instance", ident),
                comments=[choice.reason, *([upgrade] if upgrade else [])],
            )
            .set("name", quote(dns_label(resource.name)))
            .set("node_type", quote(choice.offer.lower()))
            .set("engine", quote(engine))
            .set("is_ha_cluster", "true" if resource.high_availability else "false")
            .set("disable_backup", "false")
            .set("user_name", quote("admin"))
            .set("password", f"var.{secret}")
            .set("volume_type", quote("sbs_5k"))
            .set("volume_size_in_gb", str(math.ceil(volume.size_gib or 10)))
            .set("region", quote(region))
            .add(
                Block("private_network")
                .set("pn_id", self.network(region))
                .set("enable_ipam", "true")
            )
        )

    def cluster(self, resource: Resource, choice: Choice) -> None:
        region = choice.location
        cluster_id = self.clusters.get(resource.parent or "")
        if resource.kind is Kind.KUBERNETES:
            ident = self.names.ident("scaleway_k8s_cluster", resource.name)
            self.clusters[resource.name] = f"scaleway_k8s_cluster.{ident}.id"
            cluster_id = self.clusters[resource.name]
            self.parts.append(
                Block("resource", ("scaleway_k8s_cluster", ident), comments=[choice.reason])
                .set("name", quote(dns_label(resource.name)))
                .set("version", "var.kubernetes_version")
                .set("cni", quote("cilium"))
                .set("region", quote(region))
                .set("private_network_id", self.network(region))
                .set("delete_additional_resources", "false")
            )
        if cluster_id is None:
            self.parts.append(
                f"node pool {resource.name}: its cluster {resource.parent} is not "
                "in the inventory; add the pool to that Kapsule cluster by hand"
            )
            return
        for pool in resource.pools:
            node = next(p for p in choice.parts if p.role == f"node:{pool.name}")
            ident = self.names.ident("scaleway_k8s_pool", f"{resource.name}_{pool.name}")
            self.parts.append(
                Block("resource", ("scaleway_k8s_pool", ident))
                .set("cluster_id", cluster_id)
                .set("name", quote(dns_label(pool.name)))
                .set("node_type", quote(node.offer))
                .set("size", str(node.count))
                .set("region", quote(region))
            )

    def simple(self, resource: Resource, choice: Choice) -> None:
        region = choice.location
        zone = scaleway_zone(region)
        kind = resource.kind
        if kind is Kind.DISK:
            ident = self.names.ident("scaleway_block_volume", resource.name)
            size = math.ceil(resource.disk_gib) if resource.disk_gib else 20
            self.parts.append(
                Block(
                    "resource",
                    ("scaleway_block_volume", ident),
                    comments=[] if resource.disk_gib else ["size unknown: 20 GB assumed"],
                )
                .set("name", quote(dns_label(resource.name)))
                .set("iops", "5000")
                .set("size_in_gb", str(size))
                .set("zone", quote(zone))
            )
        elif kind is Kind.BUCKET:
            ident = self.names.ident("scaleway_object_bucket", resource.name)
            self.parts.append(
                Block(
                    "resource",
                    ("scaleway_object_bucket", ident),
                    comments=["bucket names are global: change it if it is taken"],
                )
                .set("name", quote(dns_label(resource.name)))
                .set("region", quote(region))
            )
        elif kind is Kind.LOAD_BALANCER:
            ident = self.names.ident("scaleway_lb", resource.name)
            self.parts.append(Block("resource", ("scaleway_lb_ip", ident)).set("zone", quote(zone)))
            self.parts.append(
                Block(
                    "resource",
                    ("scaleway_lb", ident),
                    comments=["add backends and frontends from the GCP backend services"],
                )
                .set("name", quote(dns_label(resource.name)))
                .set("ip_ids", f"[scaleway_lb_ip.{ident}.id]")
                .set("type", quote("LB-S"))
                .set("zone", quote(zone))
            )
        elif kind is Kind.ADDRESS:
            ident = self.names.ident("scaleway_instance_ip", resource.name)
            self.parts.append(
                Block("resource", ("scaleway_instance_ip", ident)).set("zone", quote(zone))
            )
        elif kind is Kind.FIREWALL:
            self.firewall(resource, zone)
        elif kind in {Kind.NETWORK, Kind.SUBNET}:
            self.network(region)
            self.parts.append(f"{kind} {resource.name} → the private network main-{region}")
        else:
            self.parts.append(f"{kind} {resource.name} → {choice.offer}: {choice.reason}")

    def firewall(self, resource: Resource, zone: str) -> None:
        ident = self.names.ident("scaleway_instance_security_group", resource.name)
        group = (
            Block(
                "resource",
                ("scaleway_instance_security_group", ident),
                comments=[*resource.notes, "attach it to the servers the GCP rule targeted"],
            )
            .set("name", quote(dns_label(resource.name)))
            .set("zone", quote(zone))
            .set("inbound_default_policy", quote("drop"))
            .set("outbound_default_policy", quote("accept"))
        )
        for rule in resource.rules:
            protocol = _PROTOCOLS.get(rule.protocol.lower())
            if protocol is None:
                # Never widen an unknown protocol to ANY: leave it out and say so.
                group.comments.append(f"protocol {rule.protocol} has no security group rule")
                continue
            for source in rule.sources or ("0.0.0.0/0",):
                for port in rule.ports or ("",):
                    inbound = Block("inbound_rule").set("action", quote("accept"))
                    inbound.set("protocol", quote(protocol)).set("ip_range", quote(source))
                    if port and protocol in {"TCP", "UDP"}:
                        inbound.set("port_range", quote(port if "-" in port else f"{port}-{port}"))
                    group.add(inbound)
        self.parts.append(group)

    def write(self, item: Planned) -> None:
        resource, choice = item.resource, item.choice(_T)
        if choice is None:
            return
        if choice.status is Status.UNMAPPED:
            self.parts.append(f"NOT MIGRATED: {resource.kind} {resource.name}: {choice.reason}")
        elif resource.kind is Kind.COMPUTE:
            self.server(resource, choice)
        elif resource.kind is Kind.DATABASE:
            self.database(resource, choice)
        elif resource.kind in {Kind.KUBERNETES, Kind.NODE_POOL}:
            self.cluster(resource, choice)
        else:
            self.simple(resource, choice)


def scaleway_files(plan: MigrationPlan) -> dict[str, str]:
    """File name → HCL text: one main.tf."""
    writer = _Writer(plan)
    # Clusters first, so node pools can point at them whatever the inventory order.
    order = sorted(plan.planned, key=lambda p: p.resource.kind is not Kind.KUBERNETES)
    for item in order:
        writer.write(item)
    regions = list(writer.networks) or ["fr-par"]
    secrets: list[Block | str] = [
        Block("variable", (name,)).set("type", "string").set("sensitive", "true")
        for name in writer.secrets
    ]
    return {"main.tf": render([*_header(regions), *secrets, *writer.parts])}
