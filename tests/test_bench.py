"""The bench's own judgement: which figures miss the targets the issues set (bench/suite.py `misses`)."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def _suite():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_suite", ROOT / "bench" / "suite.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_lists_each_figure_that_misses_its_target_and_no_other() -> None:
    figures = {
        "machine": {"cpus": 2},
        "quote_shown_ms": {"p50": 420.0, "p95": 1200.0, "target": {"p50": 500, "p95": 1000}},
        "decode": {"ratio": 0.9, "target_ratio": 0.97},
        "ingest": {"ratio": 0.95, "target_ratio": 0.9},
        "memory": {"peak_rss_mb": 864.0, "target_mb": 800},
        "startup": {
            "version_ms": {"median": 68.0, "target": 300},
            "tui_accepting_keys_ms": {"median": 827.0, "bare_textual_median": 249.0, "target": 500},
        },
        "cli_search_ms": {"cold_p50": 1210.0, "with_the_app_open_p50": 242.0, "target": 500},
        "skipped": {"target": 500},  # nothing measured: nothing to judge
    }
    assert sorted(_suite().misses(figures)) == [
        "cli_search_ms.cold_p50: 1210.0 vs 500",
        "decode.ratio: 0.9 vs 0.97",
        "memory.peak_rss_mb: 864.0 vs 800",
        "quote_shown_ms.p95: 1200.0 vs 1000",
        "startup.tui_accepting_keys_ms.median: 827.0 vs 500",
    ]
