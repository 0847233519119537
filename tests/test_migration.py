"""The migration workflow on real Asset Inventory and Terraform samples: inventory, prices,
generated OpenTofu, runbook gating, and the whole run on the offline model."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, get_args

import hcl2
import pytest
import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from equipage.config import Profile
from equipage.crew import serializer, state_types
from equipage.envelope import Answer, Kind, Question
from equipage.errors import InputRejected
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message
from equipage.llm.offline import OfflineModel
from equipage.testing import ScriptedModel, call
from equipage.workflow import WorkflowContext, load_workflow
from tests.conftest import FIXTURES
from tests.test_crew import crew_running
from tests.test_workflows import with_workflows
from workflows.migration import WORKFLOW, MigrationInput, MigrationOutput
from workflows.migration.gcpcost import gcp_cost
from workflows.migration.inventory import Inventory, read_inventory
from workflows.migration.location import Target
from workflows.migration.machines import machine_spec, sql_tier_spec
from workflows.migration.mapping import Status, choose
from workflows.migration.plan import MigrationPlan, build_plan
from workflows.migration.prices import PriceTable, Provider, load_prices
from workflows.migration.resource import Kind as RKind
from workflows.migration.resource import NodePool, Resource, Rule
from workflows.migration.runbook import build_runbook, transfer_hours
from workflows.migration.terraform import generate
from workflows.migration.why import Why, WhyCode
from workflows.migration.words import said

GCP = FIXTURES / "gcp"
SAMPLES = sorted(str(p) for p in GCP.iterdir() if p.suffix in {".json", ".tfstate"})
BOTH = (Target.SCALEWAY, Target.HETZNER)


def records_in(path: str) -> int:
    """How many resource records a sample holds, counted straight from its JSON."""
    doc: Any = json.loads(Path(path).read_text())
    if isinstance(doc, list):
        return len(doc)
    if "asset_type" in doc:
        return 1
    if "planned_values" in doc:

        def walk(module: dict[str, Any]) -> int:
            own = [r for r in module.get("resources", []) if r.get("mode") == "managed"]
            return len(own) + sum(walk(c) for c in module.get("child_modules", []))

        return walk(doc["planned_values"]["root_module"])
    return sum(len(r["instances"]) for r in doc["resources"] if r["mode"] == "managed")


def full_plan(prices: PriceTable | None = None) -> MigrationPlan:
    return build_plan(read_inventory(SAMPLES), prices or load_prices(), BOTH)


def context(
    redis: aioredis.Redis, keys: Keys, files: Path, language: str = "en"
) -> WorkflowContext:
    return WorkflowContext(
        company="acme",
        redis=redis,
        keys=keys,
        model=OfflineModel(),
        profile=Profile(sells="a SaaS", languages=(language,)),
        files=files,
        name="migration",
    )


def compiled(ctx: WorkflowContext) -> CompiledStateGraph[Any, Any, Any, Any]:
    # The crew's serializer: only Input/Output types survive a checkpoint, as in production.
    types = state_types(MigrationInput) | state_types(MigrationOutput)
    return WORKFLOW.build(ctx).compile(checkpointer=InMemorySaver(serde=serializer(*types)))


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def question_of(state: dict[str, Any]) -> Question | None:
    pauses = state.get("__interrupt__") or []
    return Question.model_validate(pauses[0].value) if pauses else None


# --- inventory -------------------------------------------------------------------------


def test_every_record_of_the_real_samples_is_mapped_or_listed_unmapped_with_a_reason() -> None:
    plan = full_plan()
    expected = sum(records_in(p) for p in SAMPLES)
    assert expected > 40  # the samples are all there
    assert plan.inventory.records == expected == len(plan.planned)
    assert set(plan.inventory.formats) == {
        "cai-json",
        "terraform-plan",
        "terraform-state",
    }
    names = [p.resource.name for p in plan.planned]
    assert len(set(names)) == len(names)  # repeated names got a suffix, none was lost
    for item in plan.planned:
        for target in BOTH:
            choice = item.choice(target)
            assert choice is not None and choice.reason
            if choice.status is Status.UNMAPPED:
                assert choice.cost.monthly_eur is None
            else:
                assert choice.offer
    unmapped = plan.unmapped(Target.SCALEWAY)
    assert [r.asset_type for r, _ in unmapped] == ["google_service_account"]
    assert "service accounts do not carry over" in unmapped[0][1].reason


def test_an_ndjson_export_and_the_same_json_array_give_the_same_resources(
    tmp_path: Path,
) -> None:
    source = GCP / "cai_export_policy-library_enforce_labels_gke.json"
    records = json.loads(source.read_text())
    ndjson = tmp_path / "export.ndjson"
    ndjson.write_text("".join(json.dumps(r) + "\n" for r in records))
    array = read_inventory([source])
    lines = read_inventory([ndjson])
    assert (array.formats, lines.formats) == (("cai-json",), ("cai-ndjson",))

    def without_source(inventory: Inventory) -> list[dict[str, Any]]:
        return [r.model_dump(exclude={"source"}) for r in inventory.resources]

    assert without_source(array) == without_source(lines)
    assert lines.records == len(records)


def test_inline_content_reads_like_a_file() -> None:
    text = (GCP / "cai_export_policy-library_enforce_labels_cloudsql.json").read_text()
    inventory = read_inventory(inline=text)
    assert inventory.files == ("inline content",)
    assert [r.engine for r in inventory.resources] == ["mysql"] * 5


@pytest.mark.parametrize(
    ("name", "vcpu", "memory"),
    [
        ("n1-standard-4", 4, 15),
        ("n1-standard-1", 1, 3.75),
        ("n1-highmem-8", 8, 52),
        ("n1-highcpu-16", 16, 14.4),
        ("n2-standard-8", 8, 32),
        ("n2-highmem-4", 4, 32),
        ("e2-micro", 0.25, 1),
        ("e2-small", 0.5, 2),
        ("e2-medium", 1, 4),
        ("e2-highcpu-8", 8, 8),
        ("c2-standard-60", 60, 240),
        ("custom-6-23040", 6, 22.5),
        ("n2-custom-4-10240", 4, 10),
        ("e2-custom-2-4096-ext", 2, 4),
        (
            "https://www.googleapis.com/compute/v1/projects/p/zones/z/machineTypes/n1-standard-2",
            2,
            7.5,
        ),
    ],
)
def test_machine_types_resolve_to_their_vcpu_and_memory(
    name: str, vcpu: float, memory: float
) -> None:
    spec = machine_spec(name)
    assert spec is not None
    assert spec.vcpu == vcpu and spec.memory_gib == pytest.approx(memory)
    assert spec.custom == ("custom" in name)


def test_unknown_machine_types_and_sql_tiers_resolve_to_nothing() -> None:
    assert machine_spec("test-min_cpu_platform") is None
    assert machine_spec("n1-standard-3") is None  # not a size Google sells
    tier = sql_tier_spec("db-n1-standard-1")
    assert tier is not None and (tier.vcpu, tier.memory_gib) == (1, 3.75)


def test_machine_types_of_the_samples_carry_their_size_into_the_inventory() -> None:
    plan = full_plan()
    by_name = {p.resource.name: p.resource for p in plan.planned}
    assert (by_name["valid-instance-8hz5"].vcpu, by_name["valid-instance-8hz5"].memory_gib) == (
        4,
        15,
    )
    cluster = by_name["joe-clust5-valid"]
    assert [(p.machine_type, p.nodes) for p in cluster.pools] == [("n1-standard-1", 4)]
    database = by_name["main-instance"]
    assert (database.engine, database.engine_version, database.machine_type) == (
        "postgres",
        "9.6",
        "db-f1-micro",
    )
    pool = by_name["my-node-pool"]
    assert pool.parent == "my-gke-cluster"
    assert pool.pools[0].nodes == 3  # one node per zone of a regional pool
    assert by_name["global-example"].asset_type == "compute.googleapis.com/Network"
    assert by_name["ext-ip"].region == "us-east1"  # read from the asset name


def test_go_template_placeholders_read_as_unknown_values_not_a_crash(tmp_path: Path) -> None:
    state = GCP / "tfstate_terraform-validator_example_project_update.tfstate"
    [project] = read_inventory([state]).resources
    assert project.kind is RKind.PROJECT
    assert project.name == "My Project"  # project_id is a placeholder
    assert "project_id" in project.unknown
    bare = tmp_path / "bare.tfstate"
    bare.write_text(state.read_text().replace('"{{.Project.Number}}"', "{{.Project.Number}}"))
    assert "{{.Project.Number}}," in bare.read_text()  # a bare placeholder: not JSON any more
    [again] = read_inventory([bare]).resources
    assert again.name == "My Project"


def test_unknown_asset_types_are_kept_and_listed_without_equivalent() -> None:
    record = {
        "name": "//pubsub.googleapis.com/projects/p/topics/orders",
        "asset_type": "pubsub.googleapis.com/Topic",
        "resource": {"data": {"name": "projects/p/topics/orders"}},
    }
    plan = build_plan(read_inventory(inline=json.dumps(record)), load_prices(), BOTH)
    [item] = plan.planned
    assert item.resource.kind is RKind.OTHER
    for target in BOTH:
        choice = item.choice(target)
        assert choice is not None and choice.status is Status.UNMAPPED
        assert choice.reason == "no equivalent rule for pubsub.googleapis.com/Topic"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("name,asset_type\nvm,compute", "is not JSON"),
        ('{"kind": "compute#instanceList", "items": []}', "not a format this workflow reads"),
        ('{"version": 3, "resources": []}', "only version 4 is read"),
        ('{"asset_type": "x"}\nnot json', "line 2 is not JSON"),
        ('{"a": 1}\n{"b": 2}', "not Asset Inventory records"),
        ("   ", "no inventory was given"),
    ],
)
def test_bad_input_is_rejected_with_the_formats_it_reads(content: str, says: str) -> None:
    with pytest.raises(InputRejected, match=says) as caught:
        read_inventory(inline=content)
    message = str(caught.value)
    if "version 4" not in says and "line 2" not in says:
        assert "Cloud Asset Inventory export" in message and "terraform show -json" in message


def test_a_missing_file_or_no_inventory_at_all_is_rejected_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match=r"there is no file at .*nope\.json; check the path"):
        read_inventory([tmp_path / "nope.json"])
    with pytest.raises(InputRejected, match="no inventory was given"):
        read_inventory()
    empty = tmp_path / "export.json"
    empty.write_text("\n")
    with pytest.raises(InputRejected, match=r"export\.json is empty; send a Cloud Asset"):
        read_inventory([empty])


def test_an_inventory_over_its_limit_is_refused_before_it_is_read_with_the_fix(
    tmp_path: Path,
) -> None:
    export = GCP / "cai_policy-library_compute_disks.json"
    size = export.stat().st_size
    assert read_inventory([export], max_bytes=size).resources  # at the limit: read
    with pytest.raises(InputRejected) as caught:
        read_inventory([export], max_bytes=size - 1)
    message = str(caught.value)
    assert message.startswith(f"the inventory {export.name} is ")
    assert "limit of the migration workflow, so it was not read" in message
    assert "export one project or asset type at a time" in message
    assert "workflows.migration.max_bytes: <bytes> in company.yaml" in message
    with pytest.raises(InputRejected, match="inventory content is 2 bytes, over the 1 bytes"):
        read_inventory(inline="[]", max_bytes=1)
    assert MigrationInput().max_bytes == 20 * 1024 * 1024


# --- prices and mapping ----------------------------------------------------------------


def test_every_price_row_cites_its_page_and_the_date_it_was_checked() -> None:
    prices = load_prices()
    assert {r.provider for r in prices.rows} == {"gcp", "scaleway", "hetzner"}
    for row in prices.rows:
        assert row.url.startswith("https://"), row.sku
        assert row.checked >= prices.checked  # the table is as old as its oldest row
        assert row.currency == ("USD" if row.provider == "gcp" else "EUR")
    pages = prices.pages()
    assert any("scaleway.com" in u for u in pages["scaleway"])
    assert any("hetzner.com" in u for u in pages["hetzner"])
    assert any("cloud.google.com" in u for u in pages["gcp"])
    text = (Path(__file__).parents[1] / "workflows/migration/prices.yaml").read_text()
    assert "PRICES CHANGE" in text and "checked" in text


def test_gcp_cost_of_a_machine_is_computed_from_the_vcpu_and_memory_rows() -> None:
    prices = load_prices()
    plan = full_plan(prices)
    item = next(p for p in plan.planned if p.resource.name == "test1")  # n1-standard-1, 42 GiB
    rate, hours = prices.usd_to_eur.rate, prices.hours_per_month
    vcpu = prices.row("gcp", "compute.n1.vcpu").price
    memory = prices.row("gcp", "compute.n1.memory").price
    disk = prices.row("gcp", "disk.pd-standard").price
    expected = (1 * vcpu + 3.75 * memory) * hours * rate + 42 * disk * rate
    assert item.before.monthly_eur == pytest.approx(expected)


def test_each_equivalent_is_the_cheapest_offer_that_meets_the_spec() -> None:
    prices = load_prices()
    plan = full_plan(prices)
    provider: dict[Target, tuple[Provider, str]] = {
        Target.SCALEWAY: ("scaleway", "instance"),
        Target.HETZNER: ("hetzner", "server"),
    }
    for item in plan.planned:
        resource = item.resource
        if resource.kind is not RKind.COMPUTE or resource.vcpu is None:
            continue
        assert resource.memory_gib is not None
        for target, (name, prefix) in provider.items():
            choice = item.choice(target)
            assert choice is not None and choice.status is Status.MAPPED
            chosen = prices.row(name, f"{prefix}.{choice.offer}")
            assert chosen.vcpu is not None and chosen.vcpu >= resource.vcpu
            assert chosen.memory_gib is not None and chosen.memory_gib >= resource.memory_gib
            fitting = [
                r
                for r in prices.offers(name, prefix)
                if (r.vcpu or 0) >= resource.vcpu
                and (r.memory_gib or 0) >= (resource.memory_gib or 0)
                and r.arch == "x86_64"
            ]
            assert prices.monthly(chosen) == min(prices.monthly(r) for r in fitting)
            # The cost is the sum of its parts, each priced from its own row.
            parts = sum(
                prices.monthly(prices.row(name, p.sku), p.count * (p.size_gib or 1))
                for p in choice.parts
            )
            assert choice.cost.monthly_eur == pytest.approx(parts)


def test_costs_follow_the_table_when_a_price_changes() -> None:
    prices = load_prices()
    vm = next(p.resource for p in full_plan(prices).planned if p.resource.name == "test2")
    before = choose(vm, prices, Target.HETZNER)

    def doubled(sku: str, provider: str) -> PriceTable:
        rows = tuple(
            r.model_copy(update={"price": r.price * 2})
            if (r.provider, r.sku) == (provider, sku)
            else r
            for r in prices.rows
        )
        return prices.model_copy(update={"rows": rows})

    dearer = doubled(before.parts[0].sku, "hetzner")
    after = choose(vm, dearer, Target.HETZNER)
    fitting = [
        r
        for r in dearer.offers("hetzner", "server")
        if (r.vcpu or 0) >= (vm.vcpu or 0)
        and (r.memory_gib or 0) >= (vm.memory_gib or 0)
        and r.arch == "x86_64"
    ]
    assert after.offer == min(fitting, key=dearer.monthly).offer
    assert after.cost.monthly_eur != before.cost.monthly_eur
    # Google's side too: doubling the N1 vCPU rate adds exactly one more vCPU-month.
    gcp = doubled("compute.n1.vcpu", "gcp")
    row = prices.row("gcp", "compute.n1.vcpu")
    old, new = gcp_cost(vm, prices).monthly_eur, gcp_cost(vm, gcp).monthly_eur
    assert old is not None and new is not None
    assert new - old == pytest.approx(prices.monthly(row, vm.vcpu or 0))


def test_totals_add_up_the_resources_priced_on_both_sides() -> None:
    plan = full_plan()
    for totals in plan.totals:
        before = after = 0.0
        unpriced = 0
        for item in plan.planned:
            choice = item.choice(totals.target)
            assert choice is not None
            if choice.status is Status.UNMAPPED:
                continue
            if item.before.monthly_eur is None or choice.cost.monthly_eur is None:
                unpriced += 1
                continue
            before += item.before.monthly_eur
            after += choice.cost.monthly_eur
        assert (totals.before_eur, totals.after_eur) == (round(before, 2), round(after, 2))
        assert totals.unpriced == unpriced > 0  # buckets have no size in an export
        assert totals.savings_eur == pytest.approx(totals.before_eur - totals.after_eur)


def test_hetzner_has_no_managed_database_or_kubernetes_and_says_what_instead() -> None:
    plan = full_plan()
    kinds = {RKind.DATABASE: "no managed database", RKind.KUBERNETES: "no managed Kubernetes"}
    for item in plan.planned:
        if item.resource.kind in kinds:
            choice = item.choice(Target.HETZNER)
            assert choice is not None and choice.status is Status.SELF_MANAGED
            assert kinds[item.resource.kind] in choice.reason
            scaleway = item.choice(Target.SCALEWAY)
            assert scaleway is not None and scaleway.status is Status.MAPPED


def test_european_regions_map_to_the_nearest_target_location() -> None:
    prices = load_prices()
    for region, scaleway, hetzner in [
        ("europe-west9", "fr-par", "nbg1"),
        ("europe-west4", "nl-ams", "fsn1"),  # Eemshaven: Falkenstein is 40 km nearer
        ("europe-central2", "pl-waw", "fsn1"),
        ("europe-north1", "pl-waw", "hel1"),
    ]:
        disk = Resource(
            kind=RKind.DISK, name="d", asset_type="t", source="s", region=region, disk_gib=10
        )
        assert choose(disk, prices, Target.SCALEWAY).location == scaleway
        assert choose(disk, prices, Target.HETZNER).location == hetzner
    far = Resource(kind=RKind.DISK, name="d", asset_type="t", source="s", region="us-east1")
    assert "latency for its users will change" in choose(far, prices, Target.HETZNER).reason


def test_mapping_reasons_are_data_said_in_french_or_english() -> None:
    prices = load_prices()
    disk = Resource(kind=RKind.DISK, name="d", asset_type="t", source="s",
                    region="europe-west9", disk_gib=10)  # fmt: skip
    choice = choose(disk, prices, Target.SCALEWAY)
    place = Why(code="nearest", values={"location": "fr-par", "region": "europe-west9", "km": 0})
    assert choice.why == (Why(code="block_volume"), place)
    assert said(choice.why, "en") == "block volume; fr-par is nearest to europe-west9 (0 km)"
    assert said(choice.why, "fr") == (
        "volume bloc ; fr-par est le plus proche de europe-west9 (0 km)"
    )
    far = disk.model_copy(update={"region": "us-east1"})
    assert said(choose(far, prices, Target.HETZNER).why, "fr") == (
        "volume bloc ; us-east1 est hors des régions européennes que nous plaçons : fsn1 par "
        "défaut ; la latence pour ses utilisateurs changera"
    )
    pool = Resource(kind=RKind.NODE_POOL, name="p", asset_type="t", source="s",
                    pools=(NodePool(name="web"),))  # fmt: skip
    [unknown] = choose(pool, prices, Target.SCALEWAY).why
    assert said([unknown], "fr") == "pool web : type de machine ou nombre de nœuds inconnu"
    assert said([unknown], "en") == "pool web: machine type or node count unknown"


def test_every_mapping_reason_has_a_french_and_an_english_sentence() -> None:
    for code in get_args(WhyCode):
        values: dict[str, str | int | float] = {
            "offer": "x", "vcpu": 1.5, "memory": 2.0, "gib": 20.0, "engine": "", "nodes": 2,
            "pool": "p", "on": "", "location": "fr-par", "region": "r", "km": 3, "type": "t",
            "target": "scaleway", "tier": "db", "notes": "n", "status": "TERMINATED",
            "running": 12.5,
        }  # fmt: skip
        reason = [Why(code=code, values=values)]
        french, english = said(reason, "fr"), said(reason, "en")
        assert french and english and french != english, code
    assert said([Why(code="cheapest_server", values={"offer": "x", "vcpu": 1.5, "memory": 2.0})],
                "fr") == "x est le moins cher avec ≥ 1,5 vCPU et ≥ 2 Gio"  # fmt: skip


# --- generated OpenTofu ----------------------------------------------------------------


def resources_of(text: str) -> dict[str, list[str]]:
    """Resource type → identifiers, as python-hcl2 parses the file."""
    parsed = hcl2.loads(text)
    out: dict[str, list[str]] = {}
    for block in parsed.get("resource", []):
        for rtype, named in block.items():
            out.setdefault(rtype.strip('"'), []).extend(n.strip('"') for n in named)
    return out


def test_generated_hcl_parses_for_both_targets_and_holds_the_mapped_resources() -> None:
    plan = full_plan()
    files = generate(plan)
    assert set(files) == {"scaleway/main.tf", "hetzner/main.tf"}
    count = {k: sum(1 for p in plan.planned if p.resource.kind is k) for k in RKind}
    scaleway = resources_of(files["scaleway/main.tf"])
    assert len(scaleway["scaleway_instance_server"]) == count[RKind.COMPUTE]
    assert len(scaleway["scaleway_rdb_instance"]) == count[RKind.DATABASE]
    assert len(scaleway["scaleway_object_bucket"]) == count[RKind.BUCKET]
    assert len(scaleway["scaleway_k8s_cluster"]) == count[RKind.KUBERNETES]
    assert len(scaleway["scaleway_lb"]) == count[RKind.LOAD_BALANCER]
    assert len(scaleway["scaleway_block_volume"]) == count[RKind.DISK]
    assert "scaleway_vpc_private_network" in scaleway
    assert "scaleway_instance_security_group" in scaleway
    hetzner = resources_of(files["hetzner/main.tf"])
    assert len(hetzner["hcloud_load_balancer"]) == count[RKind.LOAD_BALANCER]
    assert "hcloud_network_subnet" in hetzner and "hcloud_firewall" in hetzner
    # Servers: one per VM and database, a control plane per cluster, one per node pool.
    assert len(hetzner["hcloud_server"]) == (
        count[RKind.COMPUTE]
        + count[RKind.DATABASE]
        + 2 * count[RKind.KUBERNETES]
        - 1
        + count[RKind.NODE_POOL]
    )  # my-gke-cluster has no inline pool: its nodes are the separate node pool
    assert "NOT MIGRATED: identity service-account-id" in files["hetzner/main.tf"]


def test_generated_files_hold_no_credentials_only_variables() -> None:
    files = generate(full_plan())
    scaleway = hcl2.loads(files["scaleway/main.tf"])
    [provider] = [p['"scaleway"'] for p in scaleway["provider"]]
    assert provider["access_key"] == "${var.scaleway_access_key}"
    assert provider["secret_key"] == "${var.scaleway_secret_key}"
    for block in scaleway["resource"]:
        for body in block.get('"scaleway_rdb_instance"', {}).values():
            assert body["password"].startswith("${var.db_password_")
    secrets = [v for b in scaleway["variable"] for v in b.values() if v.get("sensitive")]
    assert len(secrets) == 2 + sum(
        1 for b in scaleway["resource"] if '"scaleway_rdb_instance"' in b
    )
    hetzner = hcl2.loads(files["hetzner/main.tf"])
    assert hetzner["provider"][0]['"hcloud"']["token"] == "${var.hcloud_token}"


def test_names_and_strings_from_outside_are_escaped_and_made_identifiers() -> None:
    nasty = 'x"${file("/etc/passwd")}%{if}\nend'
    record = {
        "name": "//compute.googleapis.com/projects/p/zones/europe-west9-a/instances/9vm",
        "asset_type": "compute.googleapis.com/Instance",
        "resource": {
            "data": {
                "name": nasty,
                "machineType": "zones/europe-west9-a/machineTypes/e2-medium",
                "zone": "projects/p/zones/europe-west9-a",
            }
        },
    }
    firewall = {
        "name": "//compute.googleapis.com/projects/p/global/firewalls/" + nasty,
        "asset_type": "compute.googleapis.com/Firewall",
        "resource": {
            "data": {
                "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
                "sourceRanges": ['10.0.0.0/8"}'],
            }
        },
    }
    content = json.dumps(record) + "\n" + json.dumps(firewall) + "\n"
    plan = build_plan(read_inventory(inline=content), load_prices(), BOTH)
    for path, text in generate(plan).items():
        parsed = resources_of(text)
        for named in parsed.values():
            for ident in named:
                assert ident.replace("_", "a").isalnum() and ident[0].isalpha(), (path, ident)
    scaleway = hcl2.loads(generate(plan)["scaleway/main.tf"])
    groups = [
        b['"scaleway_instance_security_group"']
        for b in scaleway["resource"]
        if '"scaleway_instance_security_group"' in b
    ]
    [group] = [g for named in groups for g in named.values()]
    assert group["inbound_rule"][0]["ip_range"] == '"10.0.0.0/8\\"}"'


def test_a_firewall_protocol_without_equivalent_is_left_out_not_widened() -> None:
    rule = Resource(
        kind=RKind.FIREWALL,
        name="sctp-only",
        asset_type="compute.googleapis.com/Firewall",
        source="test",
        rules=(Rule(protocol="sctp", sources=("0.0.0.0/0",)), Rule(protocol="tcp", ports=("443",))),
    )
    plan = build_plan(Inventory(resources=(rule,), records=1), load_prices(), BOTH)
    files = generate(plan)
    scaleway = files["scaleway/main.tf"]
    assert '"ANY"' not in scaleway and "protocol sctp has no security group rule" in scaleway
    assert '"443-443"' in scaleway
    hetzner = files["hetzner/main.tf"]
    assert "protocol sctp has no Hetzner firewall rule" in hetzner and '"443"' in hetzner


# --- runbook ---------------------------------------------------------------------------


def test_runbook_estimates_transfer_from_the_sizes_it_knows_and_says_what_it_does_not() -> None:
    prices = load_prices()
    disks = GCP / "cai_policy-library_compute_disks.json"
    buckets = GCP / "cai_export_policy-library_enforce_labels_buckets.json"
    plan = build_plan(read_inventory([disks, buckets]), prices, BOTH)
    steps = build_runbook(plan, prices, 200)
    titles = [s.title for s in steps]
    assert titles[0] == "Prepare the target accounts and network"
    assert titles[-2:] == ["Switch DNS to the target", "Decommission Google Cloud"]
    copy = next(s for s in steps if s.title == "Copy the buckets")
    assert copy.transfer_gib is None and copy.hours is None
    assert copy.transfer_note.startswith("unknown: size of bucket-with-valid-labels")
    assert "gcloud storage du -s" in copy.transfer_note
    deploy = next(s for s in steps if s.title.startswith("Deploy"))
    gib = sum(float(r["resource"]["data"]["sizeGb"]) for r in json.loads(disks.read_text()))
    assert deploy.transfer_gib == gib
    assert deploy.hours == pytest.approx(gib * 8 * 2**30 / 200e6 / 3600)
    assert deploy.egress_eur == pytest.approx(
        gib * prices.row("gcp", "egress.internet").price * prices.usd_to_eur.rate
    )
    assert math.isclose(transfer_hours(1, 8 * 2**30 / 1e6 / 3600), 1)
    vms = GCP / "cai_export_policy-library_enforce_labels_compute_instances.json"
    mixed = build_runbook(build_plan(read_inventory([disks, vms]), prices, BOTH), prices, 200)
    partial = next(s for s in mixed if s.title.startswith("Deploy"))
    assert partial.transfer_gib == gib  # the known disks: a floor, said as such
    assert partial.transfer_note.startswith("at least this: size of valid-instance-8hz5")
    for step in steps:
        assert step.risks and step.rollback


async def test_approving_step_one_then_rejecting_step_two_stops_the_runbook_there(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    params = MigrationInput(paths=SAMPLES, targets=[Target.HETZNER], bandwidth_mbps=50)
    first = question_of(await graph.ainvoke({"input": params}, config))
    assert first is not None and first.options == ("approve", "reject")
    assert first.text.startswith("Migration runbook, step 1 of ")
    state = await graph.ainvoke(
        Command(resume=Answer(question_id=first.id, approved=True, member="alice")), config
    )
    second = question_of(state)
    assert second is not None and second.id != first.id
    assert "step 2 of" in second.text and "Create the databases" in second.text
    state = await graph.ainvoke(
        Command(resume=Answer(question_id=second.id, approved=False, text="not before Q3")),
        config,
    )
    assert question_of(state) is None  # step 3 is never offered
    output: MigrationOutput = state["output"]
    assert [(d.step, d.approved) for d in output.decisions] == [(1, True), (2, False)]
    summary = output.summary()
    assert (
        "Steps approved: 1. Step 2 (Create the databases and copy the data) was rejected "
        "(not before Q3): the runbook stops there" in summary
    )
    assert "executes nothing" in summary
    assert "3. **Copy the buckets** — sign-off: not offered." in summary
    folder = Path(output.folder)
    record = (folder / "runbook-state.md").read_text()
    assert "step 1: approved by alice" in record and "step 2: rejected: not before Q3" in record


async def test_the_whole_workflow_on_the_offline_model_writes_the_plan_and_tf_files(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path, language="fr"))
    config: RunnableConfig = {"configurable": {"thread_id": "t2"}}
    state = await graph.ainvoke({"input": MigrationInput(paths=SAMPLES)}, config)
    first = question_of(state)
    assert first is not None  # a French company: the step questions are French
    assert first.text.startswith("Runbook de migration, étape 1 sur ")
    assert "Préparer les comptes et le réseau cibles" in first.text
    assert "\nRisques : " in first.text and "\nRetour arrière : " in first.text
    assert "Donnez-vous votre accord pour cette étape ?" in first.text
    asked = 0
    while (question := question_of(state)) is not None:
        asked += 1
        state = await graph.ainvoke(
            Command(resume=Answer(question_id=question.id, approved=True)), config
        )
    output: MigrationOutput = state["output"]
    assert asked == len(output.steps) >= 5
    assert output.overview_by == "template"
    assert output.overview.startswith("L'inventaire compte")
    folder = Path(output.folder)
    assert folder.parent == tmp_path
    for name in ("plan.md", "scaleway/main.tf", "hetzner/main.tf", "runbook-state.md"):
        assert (folder / name).is_file(), name
        assert name in output.files
    hcl2.loads((folder / "scaleway/main.tf").read_text())
    hcl2.loads((folder / "hetzner/main.tf").read_text())
    report = (folder / "plan.md").read_text()
    assert output.plan is not None
    for item in output.plan.planned:
        assert f"| {item.resource.name} |" in report
    assert "## Sans équivalent" in report and "service-account-id" in report
    # Mapping reasons, the unmapped list and the price notes are French too.
    assert "les comptes de service ne se transposent pas : créez à la main une clé d'API" in (
        report
    )
    assert " est le moins cher avec ≥ " in report and "Gio (vCPU partagés)" in report
    assert "Les prix Scaleway sont les mêmes dans toutes les régions" in report
    untranslated = ("is the cheapest", "do not carry over", "nearest to", "Scaleway prices are")
    for sentence in untranslated:
        assert sentence not in report, sentence
    assert "## Coût mensuel" in report and "| Ressource | Genre |" in report
    summary = output.summary()
    assert summary.startswith("**Plan de migration cloud : Google Cloud → Scaleway et Hetzner**")
    assert f"Les {asked} étapes sont approuvées" in summary
    assert "**Coût mensuel (EUR, HT)**" in summary and "**Hetzner** : " in summary
    assert "\u00a0€ par mois" in summary  # 1 234,56 €: French amounts
    assert "— accord : approuvée. Données : " in summary
    assert f"**Fichiers** dans {folder} :" in summary
    for english in ("Monthly cost", "sign-off", "Without equivalent", "Steps approved"):
        assert english not in summary, english
    assert "- étape 1 : approuvée" in (folder / "runbook-state.md").read_text()


async def test_bad_input_ends_the_run_with_a_message_instead_of_failing(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    graph = compiled(context(redis, keys, tmp_path))
    config: RunnableConfig = {"configurable": {"thread_id": "t3"}}
    state = await graph.ainvoke({"input": MigrationInput(content="<html>oops</html>")}, config)
    output: MigrationOutput = state["output"]
    assert output.plan is None and "inline content is not JSON" in output.problem
    assert output.summary().startswith("**Cloud migration plan: not made.**")
    assert "terraform show -json" in output.summary()
    assert files_in(tmp_path) == []


def test_the_workflow_is_registered_and_its_input_validates() -> None:
    workflow = load_workflow("migration")
    assert workflow.name == "migration" and workflow.untrusted_output
    assert {"scaleway", "hetzner", "cloud souverain", "migrer"} <= set(workflow.handles)
    with pytest.raises(ValueError, match="targets"):
        MigrationInput.model_validate({"targets": ["aws"]})
    assert MigrationInput.model_validate({"targets": ["hetzner", "hetzner"]}).targets == [
        Target.HETZNER
    ]


def ceo_and_writer(sample: str) -> Callable[[Sequence[Message]], Completion]:
    """One model for the CEO and the workflow's prose (they share it), whatever the order."""

    def step(messages: Sequence[Message]) -> Completion:
        last = messages[-1]
        if last.content.startswith("<material>"):
            return Completion(content="Overview written by the model from the figures.")
        marker = "Result from workflow.migration (call w1):\n"
        if last.role == "user" and marker in last.content:
            # Fenced as untrusted (the inventory came from outside): relay the text inside.
            text = last.content.split(marker, 1)[1].removesuffix("\n</untrusted>")
            return call("reply", "r1", text=text)
        if last.role == "user":
            return call(
                "start_workflow",
                "w1",
                name="migration",
                input={"paths": [sample], "targets": ["scaleway"]},
            )
        return Completion(content="")  # after a tool result: the turn is over

    return step


async def test_an_agent_starts_the_migration_and_the_founder_signs_off_through_the_crew(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the crew writes its files under ./.equipage
    # A path an agent gives names a file among the crew's files (.equipage/files/<company>).
    sample = "cai_export_policy-library_enforce_labels_compute_instances.json"
    shared = tmp_path / ".equipage" / "files" / "acme"
    shared.mkdir(parents=True)
    shutil.copy(GCP / sample, shared / sample)
    ceo = ScriptedModel([ceo_and_writer(sample)] * 5)
    async with crew_running(redis, keys, with_workflows("migration"), models={"ceo": ceo}) as crew:
        await crew.tell("Prépare la migration vers Scaleway")
        [question] = await crew.outbox(1)
        assert question.question is not None and "step 1 of" in question.text
        await crew.answer(question, approved=False, text="later")
        _, reply = await crew.outbox(2)
    assert reply.kind is Kind.REPLY
    assert "Step 1 (Prepare the target accounts and network) was rejected" in reply.text
    assert "Overview written by the model from the figures." in reply.text
    [plan] = list((tmp_path / ".equipage").rglob("plan.md"))
    assert "_Overview written by: scripted._" in plan.read_text()


async def test_offline_ceo_starts_the_migration_on_a_french_request_and_says_what_it_needs(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with crew_running(redis, keys, with_workflows("migration")) as crew:
        await crew.tell("On veut quitter Google Cloud pour un cloud souverain, Scaleway ou Hetzner")
        ack, summary = await crew.outbox(2)
    assert "au workflow migration" in ack.text
    assert "**Cloud migration plan: not made.** no inventory was given" in summary.text
    assert "Cloud Asset Inventory export" in summary.text


async def test_an_export_sent_with_a_chat_request_is_planned_and_step_one_is_asked(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from equipage.envelope import Attachment

    monkeypatch.chdir(tmp_path)
    export = GCP / "cai_export_policy-library_enforce_labels_compute_instances.json"
    sent = Attachment(name=export.name, mime="application/json", ref="F1", text=export.read_text())
    async with crew_running(redis, keys, with_workflows("migration")) as crew:
        text = "On veut quitter Google Cloud pour Scaleway ou Hetzner : voici l'export"
        await crew.tell(text, files=(sent,))
        _ack, question = await crew.outbox(2)
    assert question.kind is Kind.QUESTION and question.question is not None
    assert question.text.startswith("Migration runbook, step 1 of 4")
    [plan] = list((tmp_path / ".equipage").rglob("plan.md"))
    assert "The inventory holds 5 resources (5 compute)" in plan.read_text()


async def test_input_language_overrides_the_company_language_for_the_migration_report(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    vms = str(GCP / "cai_export_policy-library_enforce_labels_compute_instances.json")
    english = compiled(context(redis, keys, tmp_path / "en", language="fr"))
    config: RunnableConfig = {"configurable": {"thread_id": "en"}}
    params = MigrationInput(paths=[vms], targets=[Target.SCALEWAY], language="en")
    question = question_of(await english.ainvoke({"input": params}, config))
    assert question is not None
    assert question.text.startswith("Migration runbook, step 1 of 4: Prepare the target")
    state = await english.ainvoke(
        Command(resume=Answer(question_id=question.id, approved=False, text="later")), config
    )
    summary = state["output"].summary()
    assert summary.startswith("**Cloud migration plan: Google Cloud → Scaleway**")
    assert "Step 1 (Prepare the target accounts and network) was rejected (later)" in summary
    assert "L'inventaire" not in summary and "The inventory holds 5 resources" in summary

    french = compiled(context(redis, keys, tmp_path / "fr"))
    config = {"configurable": {"thread_id": "fr"}}
    params = params.model_copy(update={"language": "fr"})
    question = question_of(await french.ainvoke({"input": params}, config))
    assert question is not None
    assert question.text.startswith("Runbook de migration, étape 1 sur 4 : Préparer")
    state = await french.ainvoke(
        Command(resume=Answer(question_id=question.id, approved=False, text="plus tard")), config
    )
    summary = state["output"].summary()
    assert "L'étape 1 (Préparer les comptes et le réseau cibles) a été refusée (plus tard)" in (
        summary
    )
    assert "2. **Déployer les serveurs" in summary and "accord : non proposée." in summary
