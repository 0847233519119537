"""deploy/ checked offline: the Helm chart rendered by Helm's own engine and validated
against the Kubernetes schemas, its ScaledObject against KEDA's CRD, compose.yaml against
the Compose spec, and the Dockerfile's promises (multi-stage, uv.lock, non-root)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import helm_python
import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from typer.testing import CliRunner

from equipage.cli import app
from equipage.health import LAG_PATH, LIVENESS_PATH, READINESS_PATH, Lag
from equipage.llm.options import ProviderOptions

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "equipage"
SCHEMAS = Path(__file__).parent / "fixtures" / "deploy"
COMPANY = (ROOT / "examples" / "company.yaml").read_text(encoding="utf-8")


def render(**values: Any) -> list[dict[str, Any]]:
    """Every object the chart makes with ``values`` (company.yaml given), as dicts."""
    given = {"config": {"files": {"company.yaml": COMPANY}}, **values}
    chart = helm_python.Chart.load(CHART)
    rendered = chart.render(given, name="acme", namespace="crew", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return dict(found)


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def kubernetes_versions() -> list[str]:
    """The newest Kubernetes minor kubernetes-validate ships, and the one before it."""
    minors = sorted(
        {
            kubernetes_validate.utils.major_minor(v)
            for v in kubernetes_validate.utils.all_versions()
        },
        key=lambda v: tuple(int(part) for part in v.split(".")),
    )
    return minors[-2:]


MODES = [
    pytest.param({}, id="company-keda"),
    pytest.param({"keda": {"enabled": False}}, id="company-fixed-workers"),
    pytest.param({"mode": "farm", "home": {"persistentVolumeClaim": "equipage-home"}}, id="farm"),
]


def test_helm_lints_the_chart_strictly() -> None:
    values = {"config": {"files": {"company.yaml": COMPANY}}}
    report = helm_python.lint(CHART, values, strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("values", MODES)
@pytest.mark.parametrize("version", kubernetes_versions())
def test_every_manifest_validates_against_the_kubernetes_schemas_strictly(
    values: dict[str, Any], version: str
) -> None:
    docs = render(**values)
    kinds = sorted(d["kind"] for d in docs if d["apiVersion"] != "keda.sh/v1alpha1")
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "Deployment", "Service"] + ["PodDisruptionBudget"] * 2
    )
    for doc in docs:
        if doc["apiVersion"] != "keda.sh/v1alpha1":
            kubernetes_validate.validate(doc, version, strict=True)


def strict(schema: Any) -> Any:
    """``schema`` refusing unknown fields wherever it lists the known ones: a CRD's
    structural schema drops them silently, so a misspelt field would pass unseen."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(item) for item in schema]
    return schema


def test_scaled_object_validates_against_kedas_crd_schema() -> None:
    crd = yaml.safe_load((SCHEMAS / "keda.sh_scaledobjects.yaml").read_text(encoding="utf-8"))
    [served] = [v for v in crd["spec"]["versions"] if v["served"] and v["storage"]]
    schema = strict(copy.deepcopy(served["schema"]["openAPIV3Schema"]))
    scaled = one(render(), "ScaledObject", "acme-equipage-worker")

    assert scaled["apiVersion"] == f"{crd['spec']['group']}/{served['name']}"
    jsonschema.Draft7Validator(schema).validate(scaled)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({**scaled, "spec": {"minReplicas": 0}})


def test_scaled_object_reads_the_lag_route_the_gateway_serves() -> None:
    docs = render()
    scaled = one(docs, "ScaledObject", "acme-equipage-worker")
    gateway = one(docs, "Deployment", "acme-equipage-gateway")
    service = one(docs, "Service", "acme-equipage-gateway")
    [trigger] = scaled["spec"]["triggers"]
    url = urlsplit(trigger["metadata"]["url"])

    assert trigger["type"] == "metrics-api"
    assert url.path == LAG_PATH
    assert trigger["metadata"]["valueLocation"] in Lag.model_fields
    # Served by the gateway's Service, on the port the gateway's health server listens on:
    # it is there when the workers are scaled to zero.
    assert url.hostname == f"{service['metadata']['name']}.crew.svc"
    health = {p["name"]: p["port"] for p in service["spec"]["ports"]}["health"]
    env = {e["name"]: e.get("value") for e in container(gateway)["env"]}
    assert url.port == health == int(env["EQUIPAGE_HEALTH_PORT"])
    assert scaled["spec"]["scaleTargetRef"]["name"] == "acme-equipage-worker"
    assert scaled["spec"]["minReplicaCount"] == 0
    assert "replicas" not in one(docs, "Deployment", "acme-equipage-worker")["spec"]


def test_pods_probe_health_run_unprivileged_and_take_tokens_only_from_secrets() -> None:
    docs = render(secrets={"shared": "equipage", "gateway": "equipage-bots"})
    for part in ("gateway", "worker"):
        deployment = one(docs, "Deployment", f"acme-equipage-{part}")
        pod = deployment["spec"]["template"]["spec"]
        box = container(deployment)
        assert box["livenessProbe"]["httpGet"]["path"] == LIVENESS_PATH
        assert box["startupProbe"]["httpGet"]["path"] == LIVENESS_PATH
        assert box["readinessProbe"]["httpGet"]["path"] == READINESS_PATH
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == dockerfile_user()
        assert box["securityContext"]["readOnlyRootFilesystem"] is True
        assert box["securityContext"]["allowPrivilegeEscalation"] is False
        assert set(box["resources"]["requests"]) == {"cpu", "memory"}
        # Plain values only: nothing secret-looking, every secret by a Secret's name.
        assert not [e for e in box["env"] if re.search(r"KEY|TOKEN|SECRET|PASS|URL", e["name"])]
        secrets = [s["secretRef"]["name"] for s in box["envFrom"]]
        assert secrets == (["equipage", "equipage-bots"] if part == "gateway" else ["equipage"])
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"} == {
        "acme-equipage-gateway",
        "acme-equipage-worker",
    }


def test_workers_have_time_to_finish_a_model_call_before_they_are_killed() -> None:
    docs = render()
    worker = one(docs, "Deployment", "acme-equipage-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > ProviderOptions().timeout


def test_pods_split_gateway_and_workers_with_flags_equipage_up_accepts() -> None:
    docs = render()
    gateway = container(one(docs, "Deployment", "acme-equipage-gateway"))["args"]
    worker = container(one(docs, "Deployment", "acme-equipage-worker"))["args"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]

    assert gateway == compose["gateway"]["command"] == ["up", "--no-console", "--no-workers"]
    assert worker == compose["workers"]["command"] == ["up", "--no-console", "--no-gateway"]
    helped = CliRunner().invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0
    assert all(flag in helped.output for flag in ("--no-console", "--no-workers", "--no-gateway"))


def test_a_farm_splits_the_same_way_on_a_shared_folder_seeded_from_the_configmap() -> None:
    with pytest.raises(Exception, match=r"home\.persistentVolumeClaim"):
        render(mode="farm")
    docs = render(
        mode="farm",
        home={"persistentVolumeClaim": "equipage-home"},
        farm={"admins": ["telegram:1000"]},
        secrets={"shared": "equipage", "gateway": "equipage-bots"},
    )
    farm = "/srv/equipage/farm"
    pods = {
        part: one(docs, "Deployment", f"acme-equipage-{part}")["spec"]["template"]["spec"]
        for part in ("gateway", "worker")
    }
    assert container({"spec": {"template": {"spec": pods["gateway"]}}})["args"] == [
        *("farm", "up", "--farm", farm, "--no-workers")
    ]
    worker = container({"spec": {"template": {"spec": pods["worker"]}}})
    assert worker["args"] == ["farm", "up", "--farm", farm, "--no-gateway"]
    assert [s["secretRef"]["name"] for s in worker["envFrom"]] == ["equipage"]
    for pod in pods.values():
        [seed] = pod["initContainers"]
        assert seed["args"] == [
            *("farm", "init", farm, "--from", "/etc/equipage", "--admin", "telegram:1000")
        ]
        mounts = {m["name"]: m["mountPath"] for m in seed["volumeMounts"]}
        assert farm.startswith(mounts["home"]) and mounts["config"] == "/etc/equipage"
        assert pod["volumes"][1]["persistentVolumeClaim"]["claimName"] == "equipage-home"
    for command, flags in (
        (["farm", "up"], ("--no-workers", "--no-gateway", "--farm")),
        (["farm", "init"], ("--from", "--admin")),
    ):
        helped = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert helped.exit_code == 0
        assert all(flag in helped.output for flag in flags), helped.output


def test_values_hold_no_secret() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    flat = json.dumps(values)
    assert not re.search(r"(?i)(token|password|api_key|apikey)\"\s*:\s*\"[^\"]", flat)
    assert values["secrets"] == {"shared": "equipage", "gateway": ""}


def test_compose_file_validates_against_the_compose_spec() -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))

    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    assert "--appendonly" in services["valkey"]["command"]
    assert "valkey-data:/data" in services["valkey"]["volumes"]
    assert services["workers"]["deploy"]["replicas"] == 2
    assert all("healthcheck" in service for service in services.values())
    for name in ("gateway", "workers"):
        environment = services[name]["environment"]
        assert set(environment) == {"REDIS_URL", "EQUIPAGE_HEALTH_PORT"}  # secrets: env_file
        assert "8081/readyz" in services[name]["healthcheck"]["test"][-1]


def dockerfile_user() -> int:
    [user] = re.findall(r"^USER (\S+)$", (DEPLOY / "Dockerfile").read_text(), re.M)
    return int(user.split(":")[0])


def test_dockerfile_is_multi_stage_locked_and_runs_unprivileged() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.M)
    syncs = re.findall(r"^RUN uv sync .*$", text, re.M)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [uv] = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.M)
    [extras] = re.findall(r'^ARG EXTRAS="(.*)"$', text, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")

    assert stages == ["build", "runtime"]
    assert "COPY --from=build /opt/equipage /opt/equipage" in text
    assert "COPY pyproject.toml uv.lock ./" in text
    assert syncs and all("--locked" in line or "--frozen" in line for line in syncs)
    assert f"ARG UV_VERSION={uv}" in text
    assert dockerfile_user() != 0
    assert text.index("USER ") > text.index("AS runtime")
    assert re.search(r'^ENTRYPOINT \["equipage"\]$', text, re.M)
    # Runtime extras only, each one pyproject declares; tests and linters stay out.
    named = extras.replace("--extra ", "").split()
    assert "dev" not in named
    assert all(re.search(rf"^{name} = \[", pyproject, re.M) for name in named)
    # Nothing secret baked in: no ENV or ARG names a key, token or password.
    assert not re.search(r"^(ENV|ARG)\b[^\n]*(KEY|TOKEN|SECRET|PASSWORD)", text, re.M)
    # The build context lets in only what the image installs: no .venv, data or .env.
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignored and {"**/.equipage", "**/.env"} <= set(ignored)
