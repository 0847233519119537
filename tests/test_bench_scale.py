"""bench/scale.py runs end to end on both servers, reports each run, and exits 1 on a miss.

Its timing targets are not judged here (two cores shared with the rest of the suite), except
an impossible one, set on purpose to see the benchmark fail naming it.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import run_bench


def test_scale_benchmark_measures_each_process_count_on_both_servers_and_names_a_miss(
    tmp_path: Path,
) -> None:
    args = ("--quick", "--processes", "1,2", "--warmup", "0.25", "--seconds", "1")
    # Only the bound under test may miss.
    bounds = ("--target-cost-ratio-2", "1e9", "--target-cluster-ratio", "0")
    impossible = ("--target-speedup-2", "1000")
    ran = run_bench(tmp_path, "scale", *args, *bounds, *impossible, expect_ok=False, timeout=120)
    result = ran.result
    assert result["benchmark"] == "scale" and result["processes"] == [1, 2]
    assert result["embedded"]["server"].startswith("redis ")
    assert "3 masters and 3 replicas" in result["cluster"]["server"]
    for on in ("embedded", "cluster"):
        side = result[on]
        assert [run["processes"] for run in side["runs"]] == [1, 2]
        for run in side["runs"]:
            assert run["unanswered"] == 0, run
            assert run["envelopes_per_s"] > 0 and run["answered"] > 0
            assert 0 < run["hop"]["p50_ms"] <= run["hop"]["p99_ms"] <= run["hop"]["max_ms"]
            assert run["cpu_ms_per_envelope"]["pools"] > 0
            assert len(run["cores_busy_per_pool"]) == run["processes"]
        assert side["model"]["masters"] == (1 if on == "embedded" else 3)
        assert set(side["model"]["predicted_per_s"]) == {"1", "2"}
    assert result["unanswered"] == 0
    miss = f"speedup_2 {result['speedup_2']} < target 1000.0"
    assert result["missed"] == [miss]
    assert ran.verdict == f"bench/scale.py: {miss}"
    assert result["target_speedup_2"] == 1000.0 and result["target_unanswered"] == 0
