"""What starting a command imports: ``equipage --help``, ``up`` and ``status`` begin without
LangGraph, the model SDKs or any workflow's graph; those load when a crew is built.

Judged by ``sys.modules`` in a fresh interpreter, never by time (``bench/imports.py``
times it): a module that pulls one of these back in at import fails here, named.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# What the start path of the CLI leaves to the moment a crew, a model or a channel is built.
HEAVY = (
    "langgraph",
    "langchain_core",
    "langsmith",
    "anthropic",
    "openai",
    "mcp",
    "httpx",
    "starlette",
    "websockets",
    "croniter",
)
# The CLI renders with these; the library layer under it does not need them.
CLI_ONLY = ("rich", "typer")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` once ``code`` ran in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    names: list[str] = json.loads(run.stdout.splitlines()[-1])
    return set(names)


def _heavy_in(loaded: set[str], heavy: tuple[str, ...]) -> list[str]:
    """The packages of ``heavy`` that ``loaded`` holds a module of."""
    return sorted({name.split(".")[0] for name in loaded} & set(heavy))


@pytest.mark.parametrize(
    ("module", "heavy"),
    [("equipage.app", HEAVY + CLI_ONLY), ("equipage.cli", HEAVY)],
)
def test_importing_the_start_path_loads_no_heavy_package(
    module: str, heavy: tuple[str, ...]
) -> None:
    assert _heavy_in(_loaded_after(f"import {module}"), heavy) == []


def test_importing_the_cli_builds_no_crew_and_loads_no_workflow() -> None:
    loaded = _loaded_after("import equipage.cli")

    assert {"equipage.crew", "equipage.agent", "equipage.workflow"} & loaded == set()
    assert sorted(name for name in loaded if name.startswith("workflows.")) == []


def test_the_workflows_chat_commands_are_collected_without_their_graphs() -> None:
    loaded = _loaded_after("from equipage.commands import installed\ninstalled()")

    assert _heavy_in(loaded, HEAVY) == []
    assert "workflows.live_assist.commands" in loaded
    # Neither the live call's graph and loop, nor any workflow without commands.
    assert {"workflows.live_assist.graph", "workflows.live_assist.session"} & loaded == set()
    assert {"workflows.digest", "workflows.tenders", "workflows.migration"} & loaded == set()


def test_a_workflow_package_still_exports_what_its_graph_module_defines() -> None:
    from workflows import live_assist
    from workflows.live_assist.feeders import feed_stdin
    from workflows.live_assist.graph import session_for

    assert live_assist.feed_stdin is feed_stdin
    assert live_assist.session_for is session_for
    assert set(live_assist.__all__) <= set(dir(live_assist))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        live_assist.nope  # noqa: B018


def test_the_import_benchmark_reports_both_modules_and_fails_an_impossible_target(
    tmp_path: Path,
) -> None:
    out = tmp_path / "imports.json"
    bench = Path(__file__).parent.parent / "bench" / "imports.py"
    run = subprocess.run(
        [
            sys.executable,
            str(bench),
            "--runs",
            "1",
            "--target-app-s",
            "0.000001",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    assert run.returncode == 1, run.stderr
    assert result["benchmark"] == "start_imports"
    for module in ("equipage.app", "equipage.cli"):
        assert result[module]["median_s"] > 0 and result[module]["modules"] > 0
    app_s = result["equipage.app"]["median_s"]
    assert result["missed"] == [f"equipage.app.median_s {app_s} > target 1e-06"]
