"""The bus benchmark runs end to end and reports what it measured; it judges no target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench" / "bus.py"


def test_bus_benchmark_prints_framework_and_raw_latencies_and_their_ratio(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bus.json"
    run = subprocess.run(
        [sys.executable, str(BENCH), "--hops", "200", "--warmup", "50", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
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
    out = tmp_path / "llm.json"
    run = subprocess.run(
        [sys.executable, str(BENCH.parent / "llm.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    cached, plain = result["with_caching"], result["without_caching"]
    assert cached["calls"] == plain["calls"] > 0
    assert 0 < cached["cached_share_steady"] <= 1 and plain["cached_share_steady"] == 0
    assert result["cost_ratio"] == pytest.approx(
        cached["cost_per_turn"] / plain["cost_per_turn"], abs=1e-4
    )


def test_ingress_benchmark_reports_webhook_latencies_and_lost_requests(tmp_path: Path) -> None:
    out = tmp_path / "ingress.json"
    run = subprocess.run(
        [sys.executable, str(BENCH.parent / "ingress.py"), "--seconds", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    assert result["benchmark"] == "ingress"
    assert result["rate_per_s"] == 50 and result["seconds"] == 2
    assert result["model_latency_s"] == 5 and result["target_p99_ms"] == 100
    assert result["sent"] == 100
    assert isinstance(result["lost"], int) and isinstance(result["responses_2xx"], int)
    assert isinstance(result["ok"], bool)
    for kind in ("slack", "telegram", "all"):
        assert 0 <= result[kind]["p50_ms"] <= result[kind]["p99_ms"]
