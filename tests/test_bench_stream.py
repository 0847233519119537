"""bench/stream.py runs end to end, reports what it measured, and exits 1 on a miss."""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import run_bench

QUICK = ("--replies", "3", "--tokens", "60", "--stream-s", "2.5")


def test_stream_benchmark_times_the_first_visible_text_against_the_whole_answer(
    tmp_path: Path,
) -> None:
    result = run_bench(tmp_path, "stream", *QUICK).result
    assert result["benchmark"] == "stream" and result["replies"] == 3
    assert result["whole_at_the_end"] == 3 and result["sent_twice"] == 0
    first, whole = result["first_visible"], result["baseline_whole_answer"]
    assert 0 < first["p50_ms"] <= first["p99_ms"] < whole["p50_ms"]
    assert result["shown_per_reply"]["min"] >= 2  # a first message, then edits
    assert result["target_p99_ms"] == 1500 and result["target_edits_per_s"] == 1


def test_stream_benchmark_missing_its_latency_target_exits_1_naming_the_figure(
    tmp_path: Path,
) -> None:
    ran = run_bench(tmp_path, "stream", *QUICK, "--target-p99-ms", "0.001", expect_ok=False)
    value = ran.result["first_visible"]["p99_ms"]
    assert ran.result["missed"] == [f"first_visible.p99_ms {value} > target 0.001"]
