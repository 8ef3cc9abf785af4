"""`fieldmind bench`: run the performance suite in bench/ and print its figures."""

from __future__ import annotations

import importlib.util
import json

import click

from fieldmind.cli.common import emit_json, home_option, json_option, reports_errors
from fieldmind.errors import FieldmindError
from fieldmind.locations import shipped


@click.command()
@click.option("--quick", is_flag=True, help="Only start-up and answering latency (skip ingest and memory).")
@home_option
@json_option
@reports_errors
def bench(quick: bool, home: str | None, as_json: bool) -> None:
    """Measure first-token latency, decode speed, start-up, ingest throughput and memory."""
    path = shipped("bench/suite.py")
    if not path.exists():
        raise FieldmindError(f"{path}: the benchmark suite is not installed")
    spec = importlib.util.spec_from_file_location("fieldmind_bench_suite", path)
    assert spec and spec.loader
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    figures = suite.run(quick=quick)
    if as_json:
        emit_json(figures)
    else:
        click.echo(json.dumps(figures, indent=2))
