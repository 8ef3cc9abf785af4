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
@click.option(
    "--engine-url",
    default=None,
    metavar="URL",
    help="Measure the server path on this inference server (default: llama.cpp's server on loopback).",
)
@home_option
@json_option
@reports_errors
def bench(quick: bool, engine_url: str | None, home: str | None, as_json: bool) -> None:
    """Measure first-token latency, decode speed (locally and through a site server), start-up, ingest, memory."""
    path = shipped("bench/suite.py")
    if not path.exists():
        raise FieldmindError(f"{path}: the benchmark suite is not installed")
    spec = importlib.util.spec_from_file_location("fieldmind_bench_suite", path)
    assert spec and spec.loader
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    figures = suite.run(quick=quick, engine_url=engine_url)
    if as_json:
        emit_json(figures)
    else:
        click.echo(json.dumps(figures, indent=2))
