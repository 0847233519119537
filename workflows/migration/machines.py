"""Google Cloud machine types and Cloud SQL tiers → vCPU and memory (GiB).

Predefined types follow fixed ratios per family (n1-standard: 3.75 GiB per vCPU...), so the
table is built from those ratios and the sizes Google sells. Custom types spell their size in
their name: ``[family-]custom-<vCPU>-<memory MiB>[-ext]`` (no family means n1), e.g.
``custom-6-23040`` is 6 vCPU and 22.5 GiB; a family without ratios here
(``n4-custom-4-16384``) still has its size, though the price table may have no row to price
it. Shared-core types (e2-micro/small/medium, f1-micro, g1-small) count the fraction of a
vCPU they are billed for.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["MachineSpec", "machine_spec", "sized", "sql_tier_spec"]


class MachineSpec(BaseModel):
    """What a machine type offers, and the price family it is billed in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: str  # n1, n2, n2d, e2, c2, or the name itself for fixed-price shared cores
    vcpu: float
    memory_gib: float
    custom: bool = False
    shared: bool = False


# family -> shape -> GiB per vCPU, and the vCPU counts Google sells in that shape.
_FAMILIES: dict[str, dict[str, tuple[float, tuple[int, ...]]]] = {
    "n1": {
        "standard": (3.75, (1, 2, 4, 8, 16, 32, 64, 96)),
        "highmem": (6.5, (2, 4, 8, 16, 32, 64, 96)),
        "highcpu": (0.9, (2, 4, 8, 16, 32, 64, 96)),
    },
    "n2": {
        "standard": (4.0, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
        "highmem": (8.0, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)),
        "highcpu": (1.0, (2, 4, 8, 16, 32, 48, 64, 80, 96)),
    },
    "n2d": {
        "standard": (4.0, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
        "highmem": (8.0, (2, 4, 8, 16, 32, 48, 64, 80, 96)),
        "highcpu": (1.0, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)),
    },
    "e2": {
        "standard": (4.0, (2, 4, 8, 16, 32)),
        "highmem": (8.0, (2, 4, 8, 16)),
        "highcpu": (1.0, (2, 4, 8, 16, 32)),
    },
    "c2": {"standard": (4.0, (4, 8, 16, 30, 60))},
}

# Shared-core types: the billed vCPU fraction and memory.
_SHARED: dict[str, MachineSpec] = {
    "e2-micro": MachineSpec(name="e2-micro", family="e2", vcpu=0.25, memory_gib=1, shared=True),
    "e2-small": MachineSpec(name="e2-small", family="e2", vcpu=0.5, memory_gib=2, shared=True),
    "e2-medium": MachineSpec(name="e2-medium", family="e2", vcpu=1, memory_gib=4, shared=True),
    "f1-micro": MachineSpec(
        name="f1-micro", family="f1-micro", vcpu=0.2, memory_gib=0.6, shared=True
    ),
    "g1-small": MachineSpec(
        name="g1-small", family="g1-small", vcpu=0.5, memory_gib=1.7, shared=True
    ),
}


def _table() -> dict[str, MachineSpec]:
    table = dict(_SHARED)
    for family, shapes in _FAMILIES.items():
        for shape, (ratio, sizes) in shapes.items():
            for vcpu in sizes:
                name = f"{family}-{shape}-{vcpu}"
                table[name] = MachineSpec(
                    name=name, family=family, vcpu=vcpu, memory_gib=vcpu * ratio
                )
    return table


MACHINE_TYPES: dict[str, MachineSpec] = _table()

# Any family's custom type spells its size, so a family this table has no ratios for (n4,
# c3...) still has a size; e2's shared-core customs name their fraction (e2-custom-small-2048).
_CUSTOM = re.compile(r"^(?:([a-z][a-z0-9]*)-)?custom-(micro|small|medium|\d+)-(\d+)(-ext)?$")
_SHARED_FRACTION = {"micro": 0.25, "small": 0.5, "medium": 1.0}


def machine_spec(machine_type: str | None) -> MachineSpec | None:
    """The spec of a machine type name or URL, or None when it is not one we know."""
    if not machine_type:
        return None
    name = machine_type.rstrip("/").rsplit("/", 1)[-1].strip().lower()
    known = MACHINE_TYPES.get(name)
    if known is not None:
        return known
    custom = _CUSTOM.match(name)
    if custom is None:
        return None
    family, vcpu, memory_mib, _ = custom.groups()
    shared = vcpu in _SHARED_FRACTION
    return MachineSpec(
        name=name,
        family=family or "n1",
        vcpu=_SHARED_FRACTION[vcpu] if shared else int(vcpu),
        memory_gib=int(memory_mib) / 1024,
        custom=True,
        shared=shared,
    )


def sized(
    machine_type: str | None, vcpu: float | None, memory_mib: float | None
) -> dict[str, float | str | None]:
    """A VM's ``vcpu``, ``memory_gib`` and ``sized_from``: from its type when it is a known
    or custom one, else from vCPU and memory fields the record gives (``guestCpus`` and
    ``memoryMb``, as the Compute API's machine type spells them); ``sized_from`` says which,
    None for a predefined type."""
    spec = machine_spec(machine_type)
    if spec is not None:
        origin = "custom" if spec.custom else None
        return {"vcpu": spec.vcpu, "memory_gib": spec.memory_gib, "sized_from": origin}
    if vcpu and memory_mib:
        return {"vcpu": vcpu, "memory_gib": memory_mib / 1024, "sized_from": "fields"}
    return {"vcpu": None, "memory_gib": None, "sized_from": None}


def sql_tier_spec(tier: str | None) -> MachineSpec | None:
    """A Cloud SQL tier (``db-n1-standard-1``, ``db-custom-2-7680``, ``db-f1-micro``)."""
    if not tier or not tier.startswith("db-"):
        return None
    spec = machine_spec(tier.removeprefix("db-"))
    if spec is None:
        return None
    # Cloud SQL bills its own shared cores and vCPU/memory rates: only the size carries over.
    return spec.model_copy(update={"name": tier})
