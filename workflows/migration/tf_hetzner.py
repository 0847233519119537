"""OpenTofu/Terraform for Hetzner Cloud (provider ``hetznercloud/hcloud``) from a plan.

The API token and SSH key are variables. One network with one subnet holds every server.
Self-managed equivalents (a database, k3s) are plain servers with a comment saying what
to install; Object Storage buckets and DNS zones are not managed by the hcloud provider
and are written as comments with the way to create them.
"""

from __future__ import annotations

import math

from workflows.migration.hcl import Block, Names, dns_label, quote, render
from workflows.migration.location import Target
from workflows.migration.mapping import Choice, Part, Status
from workflows.migration.plan import MigrationPlan, Planned
from workflows.migration.resource import Kind, Resource

__all__ = ["hetzner_files"]

_T = Target.HETZNER
_DATACENTERS = {"fsn1": "fsn1-dc14", "nbg1": "nbg1-dc3", "hel1": "hel1-dc2"}
_MIN_VOLUME_GIB = 10  # Hetzner volumes start at 10 GB


def _header() -> list[Block | str]:
    providers = Block("required_providers").set(
        "hcloud", '{ source = "hetznercloud/hcloud", version = "~> 1.49" }'
    )
    return [
        Block("terraform").set("required_version", quote(">= 1.6")).add(providers),
        Block("provider", ("hcloud",)).set("token", "var.hcloud_token"),
        Block("variable", ("hcloud_token",)).set("type", "string").set("sensitive", "true"),
        Block("variable", ("ssh_public_key",))
        .set("type", "string")
        .set("description", quote("the administrators' SSH public key")),
        Block("resource", ("hcloud_ssh_key", "admin"))
        .set("name", quote("admin"))
        .set("public_key", "var.ssh_public_key"),
        Block("resource", ("hcloud_network", "main"))
        .set("name", quote("main"))
        .set("ip_range", quote("10.0.0.0/16")),
        Block("resource", ("hcloud_network_subnet", "main"))
        .set("network_id", "hcloud_network.main.id")
        .set("type", quote("cloud"))
        .set("network_zone", quote("eu-central"))
        .set("ip_range", quote("10.0.1.0/24")),
    ]


class _Writer:
    def __init__(self) -> None:
        self.names = Names()
        self.parts: list[Block | str] = []

    def servers(
        self,
        name: str,
        server: Part,
        location: str,
        comments: list[str],
        public_ipv4: bool,
        public_ipv6: bool = True,
    ) -> str:
        """``server.count`` servers (with ``count`` when more than one); their address."""
        ident = self.names.ident("hcloud_server", name)
        block = Block("resource", ("hcloud_server", ident), comments=comments)
        if server.count > 1:
            block.set("count", str(server.count))
            block.set("name", f'format("%s-%d", {quote(dns_label(name, 58))}, count.index + 1)')
        else:
            block.set("name", quote(dns_label(name)))
        block.set("server_type", quote(server.offer)).set("image", quote("debian-12"))
        block.set("location", quote(location)).set("ssh_keys", "[hcloud_ssh_key.admin.id]")
        block.add(
            Block("public_net")
            .set("ipv4_enabled", "true" if public_ipv4 else "false")
            .set("ipv6_enabled", "true" if public_ipv6 else "false")
        )
        block.add(Block("network").set("network_id", "hcloud_network.main.id"))
        block.set("depends_on", "[hcloud_network_subnet.main]")
        self.parts.append(block)
        return f"hcloud_server.{ident}"

    def volume(self, name: str, size: float, location: str, server: str | None) -> None:
        ident = self.names.ident("hcloud_volume", name)
        block = Block("resource", ("hcloud_volume", ident))
        block.set("name", quote(dns_label(name)))
        block.set("size", str(max(_MIN_VOLUME_GIB, math.ceil(size))))
        if server is not None:
            block.set("server_id", f"{server}.id").set("automount", "true")
        else:
            block.set("location", quote(location))
        block.set("format", quote("ext4"))
        self.parts.append(block)

    def machine(self, resource: Resource, choice: Choice) -> None:
        """A VM: no public address where it had no external IP; only its disk if stopped."""
        if resource.stopped:
            volume = next(p for p in choice.parts if p.role == "volume")
            self.parts.append(choice.reason)
            self.volume(resource.name, volume.size_gib or _MIN_VOLUME_GIB, choice.location, None)
            return
        public = any(p.role == "ip" for p in choice.parts)
        self.placed(resource, choice, public, public)

    def placed(
        self, resource: Resource, choice: Choice, public_ipv4: bool = False, ipv6: bool = True
    ) -> None:
        """Servers for a VM or a database, with their data volume."""
        server = choice.parts[0]
        comments = [choice.reason]
        address = self.servers(resource.name, server, choice.location, comments, public_ipv4, ipv6)
        volume = next((p for p in choice.parts if p.role == "volume"), None)
        if volume is not None and volume.size_gib:
            # One volume per server: with several servers, attach each to its own by hand.
            target = address if server.count == 1 else None
            self.volume(f"{resource.name}-data", volume.size_gib, choice.location, target)

    def cluster(self, resource: Resource, choice: Choice) -> None:
        comments = [choice.reason, "install k3s on these servers (kube-hetzner, hetzner-k3s)"]
        for part in choice.parts:
            if part.role == "control-plane":
                self.servers(
                    f"{resource.name}-control-plane", part, choice.location, comments, True
                )
            elif part.role.startswith("node:"):
                pool = part.role.removeprefix("node:")
                self.servers(
                    f"{resource.name}-{pool}",
                    part,
                    choice.location,
                    [f"k3s agents of pool {pool}"],
                    True,
                )

    def firewall(self, resource: Resource) -> None:
        ident = self.names.ident("hcloud_firewall", resource.name)
        block = Block(
            "resource",
            ("hcloud_firewall", ident),
            comments=[*resource.notes, "apply it to the servers the GCP rule targeted"],
        )
        block.set("name", quote(dns_label(resource.name)))
        for rule in resource.rules:
            sources = list(rule.sources) or ["0.0.0.0/0", "::/0"]
            protocol = rule.protocol.lower()
            protocols = ["tcp", "udp", "icmp"] if protocol == "all" else [protocol]
            for proto in protocols:
                if proto not in {"tcp", "udp", "icmp"}:
                    block.comments.append(f"protocol {proto} has no Hetzner firewall rule")
                    continue
                ports = ["any"] if proto != "icmp" and not rule.ports else list(rule.ports)
                for port in ports or [""]:
                    entry = (
                        Block("rule").set("direction", quote("in")).set("protocol", quote(proto))
                    )
                    if port and proto != "icmp":
                        entry.set("port", quote(port))
                    entry.set("source_ips", "[" + ", ".join(quote(s) for s in sources) + "]")
                    block.add(entry)
        self.parts.append(block)

    def write(self, item: Planned) -> None:
        resource, choice = item.resource, item.choice(_T)
        if choice is None:
            return
        kind = resource.kind
        where = choice.location
        if choice.status is Status.UNMAPPED:
            self.parts.append(f"NOT MIGRATED: {kind} {resource.name}: {choice.reason}")
        elif kind is Kind.COMPUTE:
            self.machine(resource, choice)
        elif kind is Kind.DATABASE:
            self.placed(resource, choice)
        elif kind in {Kind.KUBERNETES, Kind.NODE_POOL}:
            self.cluster(resource, choice)
        elif kind is Kind.DISK:
            self.volume(resource.name, resource.disk_gib or _MIN_VOLUME_GIB, where, None)
        elif kind is Kind.FIREWALL:
            self.firewall(resource)
        elif kind is Kind.LOAD_BALANCER:
            ident = self.names.ident("hcloud_load_balancer", resource.name)
            self.parts.append(
                Block(
                    "resource",
                    ("hcloud_load_balancer", ident),
                    comments=["add targets and services from the GCP backend services"],
                )
                .set("name", quote(dns_label(resource.name)))
                .set("load_balancer_type", quote("lb11"))
                .set("location", quote(where))
            )
        elif kind is Kind.ADDRESS:
            ident = self.names.ident("hcloud_primary_ip", resource.name)
            self.parts.append(
                Block("resource", ("hcloud_primary_ip", ident))
                .set("name", quote(dns_label(resource.name)))
                .set("type", quote("ipv4"))
                .set("assignee_type", quote("server"))
                .set("datacenter", quote(_DATACENTERS.get(where, "fsn1-dc14")))
                .set("auto_delete", "false")
            )
        elif kind is Kind.BUCKET:
            self.parts.append(
                f"bucket {resource.name} → Hetzner Object Storage in {where}: the hcloud "
                "provider does not manage buckets; create it with 'rclone mkdir' or any S3 "
                f"client against https://{where}.your-objectstorage.com"
            )
        elif kind in {Kind.NETWORK, Kind.SUBNET}:
            self.parts.append(f"{kind} {resource.name} → the network main (10.0.0.0/16)")
        else:
            self.parts.append(f"{kind} {resource.name} → {choice.offer}: {choice.reason}")


def hetzner_files(plan: MigrationPlan) -> dict[str, str]:
    """File name → HCL text: one main.tf."""
    writer = _Writer()
    for item in plan.planned:
        writer.write(item)
    return {"main.tf": render([*_header(), *writer.parts])}
