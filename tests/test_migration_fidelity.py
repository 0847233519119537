"""The migration plan keeps what runs, the network shape and every attribute in sight.

Real inputs where they hold the case: the terraform-validator plan (``test1`` has GPUs,
preemptible scheduling, local SSDs, two interfaces and an external IP; ``test2`` has no
external IP), its node pool (preemptible), the policy-library Asset Inventory exports (VMs
with an external IP, a GKE cluster). None of the real samples holds a stopped VM, an
autoscaled pool, a spot VM, a SCRATCH disk in CAI form or a placeholder machine type: those
inputs are built here from a real record's shape, changing only the fields named.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import hcl2

from tests.test_migration import GCP, full_plan, resources_of
from workflows.migration.carried_text import dropped_count, dropped_lines
from workflows.migration.contract import MigrationOutput
from workflows.migration.gcpcost import gcp_cost
from workflows.migration.inventory import Inventory, parse_text
from workflows.migration.location import Target
from workflows.migration.mapping import Status, choose
from workflows.migration.plan import MigrationPlan, build_plan
from workflows.migration.prices import load_prices
from workflows.migration.report import cost_lines, plan_markdown
from workflows.migration.resource import Resource
from workflows.migration.terraform import generate
from workflows.migration.words import said

TFPLAN = GCP / "tfplan_terraform-validator_full_compute_instance.tfplan.json"
CAI_VMS = GCP / "cai_export_policy-library_enforce_labels_compute_instances.json"
CAI_GKE = GCP / "cai_export_policy-library_enforce_labels_gke.json"
POOL_PLAN = GCP / "tfplan_terraform-validator_example_container_cluster.tfplan.json"
BOTH = (Target.SCALEWAY, Target.HETZNER)


def tf_vm(vm: str, **changes: Any) -> dict[str, Any]:
    """The real plan's VM ``vm`` (test1, test2), alone, with ``changes`` to its values."""
    doc = json.loads(TFPLAN.read_text())
    resources = doc["planned_values"]["root_module"]["resources"]
    kept = copy.deepcopy(next(r for r in resources if r["values"]["name"] == vm))
    kept["values"].update(changes)
    return {"format_version": "0.1", "planned_values": {"root_module": {"resources": [kept]}}}


def cai_vm(**changes: Any) -> list[dict[str, Any]]:
    """The real export's first VM record, with ``changes`` to its data."""
    record = copy.deepcopy(json.loads(CAI_VMS.read_text())[0])
    record["resource"]["data"].update(changes)
    return [record]


def read(doc: Any) -> list[Resource]:
    return parse_text(json.dumps(doc), "built.json")[0]


def plan_of(resources: list[Resource]) -> MigrationPlan:
    inventory = Inventory(resources=tuple(resources), records=len(resources), files=("x",))
    return build_plan(inventory, load_prices(), BOTH)


# --- 7. price what runs ----------------------------------------------------------------


def test_a_stopped_vm_costs_its_disks_at_source_and_only_its_kept_disk_on_the_target() -> None:
    prices = load_prices()
    [vm] = read(tf_vm("test1", desired_status="TERMINATED"))  # 42 GiB pd-standard boot disk
    assert vm.stopped and vm.status == "TERMINATED"
    disk = prices.monthly(prices.row("gcp", "disk.pd-standard"), 42)
    before = gcp_cost(vm, prices)
    assert before.monthly_eur == disk and "TERMINATED: machine not billed" in before.detail
    [running] = read(tf_vm("test1"))
    machine = gcp_cost(running, prices).monthly_eur
    assert machine is not None and machine > disk
    for target, sku in ((Target.SCALEWAY, "volume.sbs-5k"), (Target.HETZNER, "volume.block")):
        choice = choose(vm, prices, target)
        started = choose(running, prices, target)
        assert choice.status is Status.MAPPED and choice.offer == started.offer
        assert [(p.role, p.sku, p.size_gib) for p in choice.parts] == [("volume", sku, 42)]
        assert choice.why[0].code == "stopped_source"
        assert "stopped at source (TERMINATED): sized as" in said(choice.why, "en")
        assert "arrêtée à la source (TERMINATED) : dimensionnée en" in said(choice.why, "fr")
        assert started.cost.monthly_eur is not None
        assert f"€{round(started.cost.monthly_eur, 2):g} a month running" in choice.reason


def test_the_totals_say_how_many_vms_are_stopped_and_the_files_create_no_server() -> None:
    [vm] = read(tf_vm("test1", desired_status="TERMINATED", name="parked"))
    [live] = read(tf_vm("test2"))
    plan = plan_of([vm, live])
    assert [t.stopped for t in plan.totals] == [1, 1]
    english, french = cost_lines(plan, "en"), cost_lines(plan, "fr")
    assert all("1 stopped at source, priced by their disks" in line for line in english[:2])
    assert all("1 arrêtée(s) à la source, chiffrée(s) par leurs disques" in x for x in french[:2])
    files = generate(plan)
    scaleway = resources_of(files["scaleway/main.tf"])
    assert len(scaleway["scaleway_instance_server"]) == 1  # test2 only
    assert scaleway["scaleway_block_volume"] == ["parked"]
    hetzner = resources_of(files["hetzner/main.tf"])
    assert len(hetzner["hcloud_server"]) == 1 and "parked" in hetzner["hcloud_volume"]


def test_a_terminated_vm_in_an_asset_inventory_export_is_priced_without_its_machine() -> None:
    [vm] = read(cai_vm(status="TERMINATED"))  # disk sizes live on the Disk assets
    assert vm.stopped
    cost = gcp_cost(vm, load_prices())
    assert cost.monthly_eur == 0.0 and "disk size unknown, not counted" in cost.detail
    [running] = read(cai_vm())
    assert not running.stopped and (gcp_cost(running, load_prices()).monthly_eur or 0) > 100


# --- 8. keep the network shape ---------------------------------------------------------


def test_a_vm_without_an_external_ip_gets_none_and_one_with_an_ip_keeps_one() -> None:
    plan = full_plan()
    vms = {p.resource.name: p for p in plan.planned if p.resource.kind == "compute"}
    assert vms["test1"].resource.public_ip is True  # access_config with a nat_ip
    assert vms["test2"].resource.public_ip is False  # access_config: []
    assert vms["valid-instance-8hz5"].resource.public_ip is True  # CAI accessConfigs
    for target in BOTH:
        with_ip, without = vms["test1"].choice(target), vms["test2"].choice(target)
        assert with_ip is not None and without is not None
        assert any(p.role == "ip" for p in with_ip.parts)
        assert not any(p.role == "ip" for p in without.parts)
        assert "no external IP at source: none on the target" in without.reason
    files = generate(plan)
    scaleway = hcl2.loads(files["scaleway/main.tf"])
    servers = {
        name.strip('"'): body
        for block in scaleway["resource"]
        for rtype, named in block.items()
        if rtype.strip('"') == "scaleway_instance_server"
        for name, body in named.items()
    }
    assert "ip_id" in servers["test1"] and "ip_id" not in servers["test2"]
    ips = resources_of(files["scaleway/main.tf"])["scaleway_instance_ip"]
    assert "test1" in ips and "test2" not in ips
    hetzner = hcl2.loads(files["hetzner/main.tf"])
    nets = {
        name.strip('"'): body["public_net"][0]
        for block in hetzner["resource"]
        for rtype, named in block.items()
        if rtype.strip('"') == "hcloud_server"
        for name, body in named.items()
    }
    assert nets["test1"]["ipv4_enabled"] is True
    assert (nets["test2"]["ipv4_enabled"], nets["test2"]["ipv6_enabled"]) == (False, False)


def test_a_vm_whose_interfaces_are_not_in_the_record_keeps_an_ip_and_says_so() -> None:
    record = cai_vm()
    del record[0]["resource"]["data"]["networkInterfaces"]
    [vm] = read(record)
    assert vm.public_ip is None
    choice = choose(vm, load_prices(), Target.HETZNER)
    assert any(p.role == "ip" for p in choice.parts)
    assert "one is planned; remove it if the VM had none" in choice.reason


# --- 9. nothing silently dropped -------------------------------------------------------


def test_gpus_preemptible_local_ssds_and_the_rest_of_a_real_vm_are_listed_not_carried() -> None:
    [test1] = [r for r in read(json.loads(TFPLAN.read_text())) if r.name == "test1"]
    found = {d.attribute: d for d in test1.dropped}
    gpu = found["guest_accelerator"]
    assert gpu.code == "gpu"
    assert gpu.detail == "42 × test-guest_accelerator-type1, 42 × test-guest_accelerator-type2"
    assert found["scheduling.preemptible"].code == "preemptible"
    assert found["scheduling.node_affinities"].code == "sole_tenant"
    assert (found["scratch_disk"].code, found["scratch_disk"].detail) == ("local_ssd", "2")
    assert found["network_interface"].code == "nics"
    assert found["network_interface.alias_ip_range"].code == "alias_ip"
    others = ("labels", "metadata", "service_account", "shielded_instance_config", "tags",
              "min_cpu_platform", "can_ip_forward", "deletion_protection", "hostname")  # fmt: skip
    for other in others:
        assert other in found, other
    # Carried by the mapping or output-only: never listed.
    for carried in ("machine_type", "boot_disk", "zone", "name", "attached_disk"):
        assert carried not in found, carried


def test_a_real_preemptible_node_pool_and_a_built_autoscaled_one_are_listed() -> None:
    pools = [r for r in read(json.loads(POOL_PLAN.read_text())) if r.kind == "node_pool"]
    assert [d.code for d in pools[0].dropped if d.attribute == "node_config.preemptible"] == [
        "preemptible"
    ]
    doc = json.loads(POOL_PLAN.read_text())
    for resource in doc["planned_values"]["root_module"]["resources"]:
        if resource["type"] == "google_container_node_pool":
            resource["values"]["autoscaling"] = [{"min_node_count": 1, "max_node_count": 5}]
            resource["values"]["node_config"][0].pop("preemptible")
            resource["values"]["node_config"][0]["spot"] = True
    [pool] = [r for r in read(doc) if r.kind == "node_pool"]
    found = {d.attribute: d for d in pool.dropped}
    assert (found["autoscaling"].code, found["autoscaling"].detail) == ("autoscaling", "1-5")
    assert found["node_config.spot"].code == "spot"
    gke = json.loads(CAI_GKE.read_text())[:1]
    gke[0]["resource"]["data"]["nodePools"][0]["autoscaling"] = {
        "enabled": True, "minNodeCount": 2, "maxNodeCount": 4,
    }  # fmt: skip
    [cluster] = read(gke)
    auto = [d for d in cluster.dropped if d.code == "autoscaling"]
    assert [(d.attribute, d.detail) for d in auto] == [("node_pools[default-pool].autoscaling",
                                                        "2-4")]  # fmt: skip


def test_spot_vms_and_local_ssds_in_an_export_are_listed() -> None:
    record = cai_vm(scheduling={"provisioningModel": "SPOT", "preemptible": True})
    disks = record[0]["resource"]["data"]["disk"]
    disks.append({"type": "SCRATCH", "interface": "NVME", "diskSizeGb": "375"})
    [vm] = read(record)
    codes = {d.code: d for d in vm.dropped}
    assert "spot" in codes and "preemptible" not in codes  # one line for the one fact
    assert codes["local_ssd"].detail == "1"
    assert vm.disk_gib is None  # a local SSD is not a disk to move


def test_the_count_of_attributes_not_carried_is_in_the_summary_in_both_languages() -> None:
    plan = full_plan()
    n = dropped_count(plan)
    assert n == sum(len(p.resource.dropped) for p in plan.planned) > 20
    english = MigrationOutput(plan=plan, language="en").summary()
    french = MigrationOutput(plan=plan, language="fr").summary()
    assert f"**Not carried over**: {n} attribute(s) of " in english
    assert f"**Non reporté** : {n} attribut(s) de " in french
    lines = dropped_lines(plan, "fr")
    assert any("guest_accelerator : non reporté : 42 × test-guest_accelerator-type1" in x
               for x in lines)  # fmt: skip
    for line in lines:
        assert "not carried over" not in line and "check whether" not in line, line
    report = plan_markdown(plan, [], [], "", "template", 100, {}, "fr")
    assert f"## Non reporté ({n} attribut(s))" in report


def test_a_placeholder_machine_type_maps_from_the_other_fields_when_they_are_enough() -> None:
    prices = load_prices()
    [custom] = read(tf_vm("test2", machine_type="zones/x/machineTypes/n4-custom-4-16384"))
    assert (custom.vcpu, custom.memory_gib, custom.sized_from) == (4, 16, "custom")
    choice = choose(custom, prices, Target.SCALEWAY)
    assert choice.status is Status.MAPPED
    assert said(choice.why[:1], "en") == (
        "machine type n4-custom-4-16384 is not a predefined type: sized from its name "
        "(4 vCPU, 16 GiB)"
    )
    assert "dimensionné d'après son nom (4 vCPU, 16 Gio)" in said(choice.why, "fr")
    # Google's side: the table has no N4 row, so the cost today is unknown, not invented.
    assert gcp_cost(custom, prices).detail == "no n4 row in the price table"
    [template] = read(tf_vm("test2", machine_type="{{.Provider.machine_type}}"))
    assert template.vcpu is None and "machine_type" in template.unknown
    choice = choose(template, prices, Target.HETZNER)
    assert choice.status is Status.UNMAPPED
    assert "the machine type is a template placeholder" in choice.reason
    [given] = read(cai_vm(machineType="{{.MachineType}}", guestCpus=2, memoryMb=8192))
    assert (given.vcpu, given.memory_gib, given.sized_from) == (2, 8, "fields")
    choice = choose(given, prices, Target.HETZNER)
    assert choice.status is Status.MAPPED
    assert "sized from the record's vCPU and memory fields (2 vCPU, 8 GiB)" in choice.reason
    assert gcp_cost(given, prices).monthly_eur is not None
