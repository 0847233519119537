"""The live_assist benchmark runs end to end and reports what it measured, against a baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench" / "live_assist.py"


def test_live_assist_benchmark_times_suggestions_without_the_model_against_a_raw_hop(
    tmp_path: Path,
) -> None:
    out = tmp_path / "live_assist.json"
    run = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "3", "--ask-every", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
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
