"""Generated OpenTofu/Terraform per target, each file checked to parse before it is used."""

from __future__ import annotations

from collections.abc import Callable

from workflows.migration.hcl import check_parses
from workflows.migration.location import Target
from workflows.migration.plan import MigrationPlan
from workflows.migration.tf_hetzner import hetzner_files
from workflows.migration.tf_scaleway import scaleway_files

__all__ = ["generate"]

_GENERATORS: dict[Target, Callable[[MigrationPlan], dict[str, str]]] = {
    Target.SCALEWAY: scaleway_files,
    Target.HETZNER: hetzner_files,
}


def generate(plan: MigrationPlan) -> dict[str, str]:
    """Relative path (``scaleway/main.tf``) → HCL text, for every target of the plan."""
    out: dict[str, str] = {}
    for target in plan.targets:
        for name, text in _GENERATORS[target](plan).items():
            path = f"{target.value}/{name}"
            check_parses(text, path)
            out[path] = text
    return out
