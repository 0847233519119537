"""The bus benchmark runs end to end and reports what it measured; it judges no target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).parent.parent / "bench"


def run_bench(tmp_path: Path, name: str, *args: str, timeout: float = 120) -> Any:
    """Run ``bench/<name>.py`` with ``args``; its JSON, checked equal to the file it wrote."""
    out = tmp_path / f"{name}.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    return result


def test_bus_benchmark_prints_framework_and_raw_latencies_and_their_ratio(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "bus", "--hops", "200", "--warmup", "50")
    assert result["benchmark"] == "bus_hop"
    assert result["hops"] == 200
    assert result["server"].startswith("redis ")
    assert result["mode"] == "worker"
    for kind in ("framework", "raw"):
        assert all(result[kind][stat] > 0 for stat in ("p50_ms", "p99_ms", "mean_ms"))
    framework, raw = result["framework"], result["raw"]
    assert result["ratio_p50"] == pytest.approx(framework["p50_ms"] / raw["p50_ms"], abs=1e-3)
    assert result["ratio_p99"] == pytest.approx(framework["p99_ms"] / raw["p99_ms"], abs=1e-3)
    assert result["ok"] == (result["ratio_p50"] <= result["target_ratio_p50"])


def test_llm_benchmark_reports_cached_share_and_cost_with_and_without_caching(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "llm", timeout=180)
    cached, plain = result["with_caching"], result["without_caching"]
    assert cached["calls"] == plain["calls"] > 0
    assert 0 < cached["cached_share_steady"] <= 1 and plain["cached_share_steady"] == 0
    assert result["cost_ratio"] == pytest.approx(
        cached["cost_per_turn"] / plain["cost_per_turn"], abs=1e-4
    )


def test_ingress_benchmark_reports_webhook_latencies_and_lost_requests(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "ingress", "--seconds", "2")
    assert result["benchmark"] == "ingress"
    assert result["rate_per_s"] == 50 and result["seconds"] == 2
    assert result["model_latency_s"] == 5 and result["target_p99_ms"] == 100
    assert result["sent"] == 100
    assert isinstance(result["lost"], int) and isinstance(result["responses_2xx"], int)
    assert isinstance(result["ok"], bool)
    for kind in ("slack", "telegram", "all"):
        assert 0 <= result[kind]["p50_ms"] <= result[kind]["p99_ms"]


def test_live_assist_benchmark_times_suggestions_without_the_model_against_a_raw_hop(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "live_assist", "--seconds", "3", "--ask-every", "5")
    assert result["benchmark"] == "live_assist"
    assert result["server"].startswith("redis ")
    assert result["rate_per_s"] == 5 and result["segments"] == 15
    assert result["target_p99_ms"] == 100
    # Three of the fifteen segments are asks: every one of them is answered.
    assert result["asked"] == 3 and result["segments_taken"] == 12
    assert result["suggestions"] == result["suggestions_timed"] == result["model_calls"]
    assert sum(result["by_kind"].values()) == result["suggestions"]
    assert isinstance(result["dropped_rate_limit"], int)
    for kind in ("suggestion_latency", "segment_step_latency", "baseline_xadd_xread"):
        stats = result[kind]
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    latency, baseline = result["suggestion_latency"], result["baseline_xadd_xread"]
    # The model sleeps 300 ms a call: had it been counted, no suggestion would be this fast.
    assert latency["p50_ms"] < 1000 * result["model_latency_s"]
    assert result["ratio_p50"] == pytest.approx(latency["p50_ms"] / baseline["p50_ms"], abs=1e-3)
    assert result["ok"] == (latency["p99_ms"] <= result["target_p99_ms"])
