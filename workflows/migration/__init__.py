"""The ``migration`` workflow: plan a move from Google Cloud to Scaleway and/or Hetzner.

Reads Cloud Asset Inventory exports and Terraform plans or states, maps every resource to
its cheapest equivalent per target from a dated, sourced price table (``prices.yaml``),
writes a Markdown plan and OpenTofu files, then offers the runbook's steps to the founder
one at a time. It executes nothing outside: approving a step is a recorded sign-off.

Modules: resource (the normalized model), machines, values, carried (what a record holds
that the mapping does not carry), cai, tfjson, inventory (reading), prices, location,
gcpcost, sizing, mapping, plan (costing), hcl, tf_scaleway, tf_hetzner, terraform
(generated files), runbook, overview, carried_text, report, contract, graph.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph

from equipage.workflow import WorkflowContext
from workflows.migration.contract import MigrationInput, MigrationOutput
from workflows.migration.graph import build_graph

__all__ = ["WORKFLOW", "MigrationInput", "MigrationOutput"]


class Migration:
    name = "migration"
    description = (
        "Plans a cloud migration from Google Cloud to Scaleway and/or Hetzner: reads Asset "
        "Inventory exports or Terraform plan/state JSON (input: paths, or content pasted; "
        "targets; bandwidth_mbps; language fr|en of the report), prices each resource "
        "before and after, writes the plan and OpenTofu files, and asks the founder to sign "
        "off each runbook step in order"
    )
    handles = (
        "migration",
        "migrate",
        "migrer",
        "cloud migration",
        "cloud souverain",
        "sovereign cloud",
        "souveraineté",
        "scaleway",
        "hetzner",
        "quitter google cloud",
        "leave google cloud",
        "opentofu",
    )
    # Writes only its own plan files; the runbook's sign-offs are asked inside the run.
    read_only = True
    # Inventories come from outside: names and values in the output are not ours.
    untrusted_output = True
    Input = MigrationInput
    Output = MigrationOutput

    def build(self, ctx: WorkflowContext) -> StateGraph[Any]:
        return build_graph(ctx, self.name)


WORKFLOW = Migration()
