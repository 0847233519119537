"""The benchmarks run end to end, report what they measured and exit 1 on a missed target.

Timing targets are never judged here (a loaded CI box is slow for reasons of its own),
except impossible ones, set on purpose to see a benchmark fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

BENCH = Path(__file__).parent.parent / "bench"


class Ran(NamedTuple):
    result: Any  # the JSON it printed, checked equal to the file it wrote
    verdict: str  # its last stderr line


def run_bench(
    tmp_path: Path, name: str, *args: str, expect_ok: bool | None = None, timeout: float = 120
) -> Ran:
    """Run ``bench/<name>.py`` with ``args``; exit code 0 if its JSON says ok, else 1.

    ``expect_ok`` pins the verdict; ``None`` leaves it to the machine's speed.
    """
    out = tmp_path / f"{name}.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.stdout, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text()) == result
    assert run.returncode == (0 if result["ok"] else 1), run.stderr
    if expect_ok is not None:
        assert result["ok"] is expect_ok, run.stderr
    verdict = run.stderr.splitlines()[-1]
    assert verdict.startswith(f"bench/{name}.py: "), run.stderr
    return Ran(result, verdict)


def test_bus_benchmark_prints_framework_and_raw_latencies_and_their_ratio(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "bus", "--hops", "200", "--warmup", "50").result
    assert result["benchmark"] == "bus_hop"
    assert result["hops"] == 200
    assert result["server"].startswith("redis ")
    assert result["mode"] == "worker"
    for kind in ("framework", "raw"):
        assert all(result[kind][stat] > 0 for stat in ("p50_ms", "p99_ms", "mean_ms"))
    framework, raw = result["framework"], result["raw"]
    assert result["ratio_p50"] == pytest.approx(framework["p50_ms"] / raw["p50_ms"], abs=1e-3)
    assert result["ratio_p99"] == pytest.approx(framework["p99_ms"] / raw["p99_ms"], abs=1e-3)
    assert result["target_ratio_p50"] == 2.5
    assert result["ok"] == (result["ratio_p50"] <= result["target_ratio_p50"])


def test_llm_benchmark_reports_cached_share_and_cost_with_and_without_caching(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "llm", timeout=180).result
    cached, plain = result["with_caching"], result["without_caching"]
    assert cached["calls"] == plain["calls"] > 0
    assert 0 < cached["cached_share_steady"] <= 1 and plain["cached_share_steady"] == 0
    assert result["cost_ratio"] == pytest.approx(
        cached["cost_per_turn"] / plain["cost_per_turn"], abs=1e-4
    )
    assert (result["target_cached_share"], result["target_cost_ratio"]) == (0.8, 0.35)


def test_ingress_benchmark_loses_no_request_and_answers_every_one_with_a_2xx(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "ingress", "--seconds", "2").result
    assert result["benchmark"] == "ingress"
    assert result["rate_per_s"] == 50 and result["seconds"] == 2
    assert result["model_latency_s"] == 5 and result["target_p99_ms"] == 100
    assert result["sent"] == result["responses_2xx"] == 100
    assert result["lost"] == result["duplicated"] == 0
    for kind in ("slack", "telegram", "all"):
        assert 0 <= result[kind]["p50_ms"] <= result[kind]["p99_ms"]
    # What is left to decide the verdict is the latency, which this test does not judge.
    assert result["ok"] == (result["all"]["p99_ms"] <= result["target_p99_ms"])


def test_live_assist_benchmark_times_suggestions_without_the_model_against_a_raw_hop(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "live_assist", "--seconds", "3", "--ask-every", "5").result
    assert result["benchmark"] == "live_assist"
    assert result["server"].startswith("redis ")
    assert result["path"] == "worker pool -> WorkflowRunner -> live_assist graph"
    assert result["rate_per_s"] == 5 and result["segments"] == 15
    assert result["target_p99_ms"] == 100
    # Three of the fifteen segments are asks: every one of them is answered.
    assert result["asked"] == 3 and result["segments_taken"] == 12
    assert result["suggestions"] == result["suggestions_timed"] == result["model_calls"]
    assert sum(result["by_kind"].values()) == result["suggestions"]
    assert isinstance(result["dropped_rate_limit"], int)
    assert 0 <= result["suggestions_queued_behind_model"] <= result["suggestions"]
    for kind in ("suggestion_latency", "segment_step_latency", "baseline_xadd_xread"):
        stats = result[kind]
        assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    latency, baseline = result["suggestion_latency"], result["baseline_xadd_xread"]
    # The model sleeps 300 ms a call: had a segment's own call been counted, no suggestion
    # would be this fast (a call it queued behind does count).
    assert latency["p50_ms"] < 1000 * result["model_latency_s"]
    assert result["ratio_p50"] == pytest.approx(latency["p50_ms"] / baseline["p50_ms"], abs=1e-3)
    assert result["ok"] == (latency["p99_ms"] <= result["target_p99_ms"])


def test_checkpoint_benchmark_times_turns_on_both_savers_and_bounds_a_pruned_thread(
    tmp_path: Path,
) -> None:
    args = ("--threads", "4", "--turns", "3", "--warmup", "2", "--memory-turns", "8")
    result = run_bench(tmp_path, "checkpoint", *args).result
    assert result["benchmark"] == "checkpoint_turn"
    assert result["server"].startswith("redis ")
    assert (result["threads"], result["turns_per_thread"], result["turns"]) == (4, 3, 12)
    assert result["durability"] == "sync"
    stats_of = (result["in_memory"], result["floor"], result["redis"])
    for stats in (*stats_of, *result["async_durability"].values()):
        if isinstance(stats, dict):
            assert 0 < stats["p50_ms"] <= stats["p95_ms"]
    redis, in_memory = result["redis"], result["in_memory"]
    assert result["ratio_p50"] == pytest.approx(redis["p50_ms"] / in_memory["p50_ms"], abs=1e-3)
    floor = result["floor"]
    assert result["floor_ratio_p50"] == pytest.approx(redis["p50_ms"] / floor["p50_ms"], abs=1e-3)
    memory = result["memory"]
    assert memory["turns"] == 8
    assert 0 < memory["pruned"]["keys"] < memory["unpruned"]["keys"]
    assert 0 < memory["pruned"]["bytes"] < memory["unpruned"]["bytes"]
    assert memory["prune_per_turn"]["p50_ms"] > 0
    assert (result["target_ratio_p50"], result["target_floor_ratio_p50"]) == (2.8, 1.8)
    kept = (
        result["ratio_p50"] <= result["target_ratio_p50"]
        and result["floor_ratio_p50"] <= result["target_floor_ratio_p50"]
    )
    assert result["ok"] == kept


@pytest.mark.parametrize(
    ("name", "args", "figure", "miss"),
    [
        (
            "bus",
            ("--hops", "50", "--warmup", "10", "--target-ratio-p50", "0.01"),
            "ratio_p50",
            "ratio_p50 {} > target 0.01",
        ),
        (
            "live_assist",
            ("--seconds", "1", "--ask-every", "5", "--target-p99-ms", "0.001"),
            "suggestion_latency.p99_ms",
            "suggestion_latency.p99_ms {} > target 0.001",
        ),
        (
            "checkpoint",
            (
                *("--threads", "2", "--turns", "2", "--warmup", "1", "--memory-turns", "2"),
                # Only the bound under test may miss.
                *("--target-floor-ratio-p50", "1000"),
                *("--target-ratio-p50", "0.01"),
            ),
            "ratio_p50",
            "ratio_p50 {} > target 0.01",
        ),
    ],
    ids=["bus", "live_assist", "checkpoint"],
)
def test_a_benchmark_missing_its_target_exits_1_naming_the_figure_after_writing_its_json(
    tmp_path: Path, name: str, args: tuple[str, ...], figure: str, miss: str
) -> None:
    ran = run_bench(tmp_path, name, *args, expect_ok=False)
    value: Any = ran.result
    for part in figure.split("."):
        value = value[part]
    assert ran.verdict == f"bench/{name}.py: {miss.format(value)}"
    assert ran.result["missed"] == [miss.format(value)]
    target = "target_" + args[-2].removeprefix("--target-").replace("-", "_")
    assert ran.result[target] == float(args[-1])


def test_farm_benchmark_spins_up_crews_prices_idle_ones_and_compares_a_flood_with_none(
    tmp_path: Path,
) -> None:
    args = ("--quick", "--crews", "6", "--active", "3", "--queued", "10", "--messages", "2")
    result = run_bench(tmp_path, "farm", *args, timeout=180).result
    assert result["benchmark"] == "farm"
    assert result["server"].startswith("redis ")
    spin_up, density, fairness = result["spin_up"], result["density"], result["fairness"]
    assert spin_up["crews"] == density["crews"] == 6
    assert 0 < spin_up["p50_ms"] <= spin_up["p99_ms"] <= spin_up["max_ms"]
    # Every crew answered, then the pool unloaded them all: their keys are what is left.
    assert density["unloaded"] == density["loaded_at_the_end_of_spin_up"] > 0
    assert density["keys_per_crew"] > 0 and density["redis_bytes_per_crew"] > 0
    assert density["sample_crew"]["keys"] > 0 and density["sample_crew"]["by_kind"]
    assert (fairness["active_crews"], fairness["messages_per_crew"]) == (3, 2)
    assert fairness["flood_queued"] == 10 and fairness["model_latency_s"] == 0.5
    for phase in ("alone", "flooded"):
        # Each reply waited for the 0.5 s model.
        assert 500 <= fairness[phase]["p50_ms"] <= fairness[phase]["p99_ms"]
    ratio = fairness["flooded"]["p99_ms"] / fairness["alone"]["p99_ms"]
    assert fairness["ratio_p99"] == pytest.approx(ratio, abs=1e-3)
    assert spin_up["errors_logged"]["count"] == fairness["errors_logged"]["count"] == 0
    baseline = result["single_company_baseline"]
    assert baseline["rss_bytes"] > 0 and baseline["start_to_first_answer_s"] > 0
    assert result["target_crews_per_gb"] == 1000
    kept = (
        spin_up["p99_ms"] <= result["target_spin_up_p99_ms"]
        and density["crews_per_gb"] >= result["target_crews_per_gb"]
        and fairness["ratio_p99"] <= result["target_fairness_ratio_p99"]
    )
    assert result["ok"] == kept


def test_farm_benchmark_missing_its_density_target_exits_1_naming_the_figure(
    tmp_path: Path,
) -> None:
    args = ("--crews", "3", "--active", "2", "--queued", "4", "--messages", "1")
    # Only the bound under test may miss.
    bounds = ("--target-spin-up-p99-ms", "1e9", "--target-fairness-ratio-p99", "1e9")
    ran = run_bench(
        tmp_path, "farm", *args, *bounds, "--target-crews-per-gb", "1e12", expect_ok=False
    )
    figure = ran.result["density"]["crews_per_gb"]
    miss = f"density.crews_per_gb {figure} < target 1000000000000.0"
    assert ran.result["missed"] == [miss]
    assert ran.verdict == f"bench/farm.py: {miss}"


def test_web_benchmark_times_pages_with_threads_stored_and_every_live_delivery(
    tmp_path: Path,
) -> None:
    small = ("--threads", "300", "--events", "300", "--requests", "10", "--warmup", "2")
    live = ("--browsers", "5", "--live-events", "10", "--rate", "50")
    ran = run_bench(tmp_path, "web", *small, *live, "--target-page-p99-ms", "0.001")
    result = ran.result
    assert result["threads_stored"] == 300 and not result["ok"]
    assert set(result["pages"]) == {"threads_list", "timeline", "baseline_login_page"}
    assert result["live"]["deliveries"] == result["live"]["expected_deliveries"] == 50
    assert result["live"]["baseline_raw_xread"]["p99_ms"] > 0
    assert "page_p99_ms" in ran.verdict and "> target 0.001" in ran.verdict
