"""What an equivalent is made of: priced parts, and the cheapest server that fits a size.

Shared by the per-kind rules in ``mapping``: a server of at least N vCPU and M GiB, with
its boot volume (Scaleway) or the disk beyond what is included (Hetzner) and its IP.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.migration.gcpcost import Cost
from workflows.migration.location import Target
from workflows.migration.prices import PriceRow, PriceTable, Provider
from workflows.migration.why import Why, WhyCode, why
from workflows.migration.words import said

__all__ = [
    "DEFAULT_DISK_GIB",
    "PROVIDER",
    "Choice",
    "Part",
    "Status",
    "cheapest",
    "part",
    "server",
    "total",
    "unmapped",
]


class Status(StrEnum):
    MAPPED = "mapped"
    SELF_MANAGED = "self-managed"
    UNMAPPED = "unmapped"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Model):
    """One priced piece of an equivalent: a server type × count, a volume, an IP."""

    role: str  # server, node, control-plane, volume, ip, db, storage, lb
    sku: str
    offer: str
    count: int = 1
    size_gib: float | None = None
    monthly_eur: float


class Choice(_Model):
    """The equivalent of one resource on one target, and why (``words.said`` says it)."""

    target: Target
    status: Status
    offer: str = ""
    location: str = ""
    why: tuple[Why, ...]
    parts: tuple[Part, ...] = ()
    cost: Cost

    @property
    def reason(self) -> str:
        """Why, in English: for the OpenTofu comments (code); reports use ``words.said``."""
        return said(self.why, "en")


PROVIDER: dict[Target, Provider] = {Target.SCALEWAY: "scaleway", Target.HETZNER: "hetzner"}
_SERVERS = {Target.SCALEWAY: "instance", Target.HETZNER: "server"}
DEFAULT_DISK_GIB = 20.0


def cheapest(
    prices: PriceTable, target: Target, prefix: str, vcpu: float, memory_gib: float, arch: str
) -> PriceRow | None:
    """The cheapest offer with at least ``vcpu`` and ``memory_gib`` of that architecture."""
    fits = [
        r
        for r in prices.offers(PROVIDER[target], prefix)
        if (r.vcpu or 0) >= vcpu and (r.memory_gib or 0) >= memory_gib and r.arch == arch
    ]
    return min(fits, key=lambda r: (prices.monthly(r), r.vcpu or 0), default=None)


def unmapped(target: Target, reason: Why) -> Choice:
    return Choice(
        target=target,
        status=Status.UNMAPPED,
        why=(reason,),
        cost=Cost(monthly_eur=None, detail="no equivalent"),
    )


def total(parts: list[Part]) -> Cost:
    detail = " + ".join(
        f"{p.count} × {p.offer}"
        + (f" {p.size_gib:g} GiB" if p.size_gib else "")
        + f" €{p.monthly_eur:.2f}"
        for p in parts
    )
    return Cost(monthly_eur=sum(p.monthly_eur for p in parts), detail=detail or "free")


def part(prices: PriceTable, target: Target, sku: str, role: str, **kw: float) -> Part:
    row = prices.row(PROVIDER[target], sku)
    count = int(kw.get("count", 1))
    size = kw.get("size")
    quantity = count * (size if size is not None else 1.0)
    return Part(
        role=role,
        sku=sku,
        offer=row.offer,
        count=count,
        size_gib=size,
        monthly_eur=prices.monthly(row, quantity),
    )


def server(
    prices: PriceTable,
    target: Target,
    vcpu: float,
    memory_gib: float,
    disk_gib: float | None,
    *,
    count: int = 1,
    role: str = "server",
    public_ip: bool = True,
) -> tuple[list[Part], list[Why]] | None:
    """Parts for ``count`` servers of that size, their disks and IPs; None if none fits."""
    row = cheapest(prices, target, _SERVERS[target], vcpu, memory_gib, "x86_64")
    if row is None:
        return None
    parts = [part(prices, target, row.sku, role, count=count)]
    disk = disk_gib if disk_gib is not None else DEFAULT_DISK_GIB
    code: WhyCode = "cheapest_shared" if row.shared else "cheapest_server"
    reasons = [why(code, offer=row.offer, vcpu=float(vcpu), memory=float(memory_gib))]
    if target is Target.SCALEWAY:
        # Scaleway instances boot from a block volume billed on its own.
        parts.append(part(prices, target, "volume.sbs-5k", "volume", count=count, size=disk))
        if public_ip:
            parts.append(part(prices, target, "ip.flexible", "ip", count=count))
    else:
        extra = disk - (row.disk_gib or 0)
        if extra > 0:
            parts.append(part(prices, target, "volume.block", "volume", count=count, size=extra))
        if public_ip:
            parts.append(part(prices, target, "ip.primary-ipv4", "ip", count=count))
        arm = cheapest(prices, target, "server", vcpu, memory_gib, "arm64")
        if arm is not None and prices.monthly(arm) < prices.monthly(row):
            reasons.append(why("arm_cheaper", offer=arm.offer))
    if disk_gib is None:
        reasons.append(why("disk_assumed", gib=DEFAULT_DISK_GIB))
    return parts, reasons
