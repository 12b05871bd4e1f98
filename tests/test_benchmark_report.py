"""The benchmark's Markdown report: one row per step, ratios of medians, failed steps named."""

from __future__ import annotations

from benchmarks.run import report


def _runs(step_seconds: dict[str, list[float]]) -> dict[str, list[dict]]:
    return {
        step: [
            {
                "seconds": s,
                "peak_rss_mb": 100.0,
                "base_rss_mb": 40.0,
                **({"insert_seconds": s / 4} if step == "raw_insert" else {}),
            }
            for s in secs
        ]
        for step, secs in step_seconds.items()
    }


def test_ratios_are_of_medians_with_the_speedup():
    results = _runs({
        "json_load": [2.0, 2.0, 9.0], "raw_insert": [8.0, 8.0, 8.0], "fo_builtin_import": [300.0, 320.0, 310.0],
        "ours_import": [5.0, 6.0, 100.0],
    })  # fmt: skip
    text = report(results, 1000, ["# title"])
    assert "| ours_import | 6.000 (5.000–100.000) | 167 | 100 | 60 |  |" in text
    assert "| raw_insert: insert_many only | 2.000 (2.000–2.000) |" in text
    assert "| ours_import / fo_builtin_import | 0.019 (51.7x faster) |" in text  # 6 / 310
    assert "| ours_import / raw_insert | 0.750 (1.3x faster) |" in text
    assert "| ours_import / json_load + insert_many | 1.500 |" in text  # 6 / (2 + 2)
    assert "| ours_export / fo_builtin_export | n/a |" in text


def test_a_failed_step_is_named_not_timed():
    results = {"json_load": [{"error": "exit 1: MemoryError"}]}
    assert "| json_load | error: exit 1: MemoryError | | | | |" in report(results, 10, ["# t"])


def test_ab_report_gives_medians_ratios_and_floors():
    from pathlib import Path

    from benchmarks.ab import ab_report

    def runs(*secs):
        return [{"seconds": s, "cpu_seconds": s / 2} for s in secs]

    results = {
        "A": {"raw_insert": runs(1.0, 1.0, 1.0), "ours_import": runs(2.0, 3.0, 9.0)},
        "B": {"ours_import": runs(1.5, 1.5, 1.0)},
    }
    text = ab_report({"A": Path("/a"), "B": Path("/b")}, results, ["ours_import"], Path("x.json"))
    assert "# A/B: x.json, 3 interleaved runs" in text
    assert "| ours_import | wall s | 3.000 (2.000–9.000) | 1.500 (1.000–1.500) | 0.500 | 3.000 | 1.500 |" in text
    assert "| ours_import | CPU s | 1.500 (1.000–4.500) | 0.750 (0.500–0.750) | 0.500 |  |  |" in text
    assert "| raw_insert (floor, A's tree) | wall s | 1.000 (1.000–1.000) | | | | |" in text


def test_merge_rows_count_every_source_and_give_the_merge_ratio():
    results = _runs({"ours_merge": [6.0, 7.0, 8.0], "ours_merged_export": [5.0, 5.0, 6.0]})
    text = report(results, 1000, ["# t"], merged=4)
    assert "| ours_merge | 7.000 (6.000–8.000) | 571 | 100 | 60 |  |" in text  # 4 x 1000 samples
    assert "| ours_merge / ours_merged_export | 1.400 |" in text
    assert "ours_merge" not in report(results, 1000, ["# t"])  # without --merge: no rows


def test_rss_over_time_is_a_sparkline_per_step_and_a_plot(tmp_path):
    from benchmarks.run import plot_rss, sparkline

    assert sparkline([0, 50, 100, 100]) == "▁▅██"
    assert sparkline(list(range(1000)), width=10) == "▁▂▃▄▄▅▆▇██"  # each bar the peak of its span
    results = _runs({"ours_import": [5.0]})
    results["ours_import"][0]["rss_series_mb"] = [40.0, 80.0, 100.0, 100.0]
    text = report(results, 1000, ["# t"])
    assert "| ours_import | `▄▇██` | 40 → 100 | 4 |" in text
    assert plot_rss(results, tmp_path / "rss.png", "t") and (tmp_path / "rss.png").read_bytes()[:4] == b"\x89PNG"
