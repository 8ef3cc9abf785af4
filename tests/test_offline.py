"""Offline is a guarantee: the guard refuses and logs stray connections; the app works with no network."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldmind import netguard

from conftest import DEMO_PDF, fieldmind_command


@pytest.fixture
def http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "network.log"
    yield log
    netguard.uninstall()


def test_guard_allows_the_configured_source_and_refuses_the_rest(guard: Path, http_server: int) -> None:
    netguard.install([("127.0.0.1", http_server)], guard)
    with urllib.request.urlopen(f"http://127.0.0.1:{http_server}/", timeout=5) as response:
        assert response.status == 200
    with pytest.raises(OSError, match="connects only to its configured sync source"):
        urllib.request.urlopen("http://127.0.0.1:9/telemetry", timeout=5)
    log = guard.read_text()
    assert f"allowed ('127.0.0.1', {http_server})" in log
    assert "refused ('127.0.0.1', 9)" in log
    assert netguard.describe()["refused_this_run"] == 1


def test_unix_sockets_are_not_network(guard: Path, tmp_path: Path) -> None:
    import socket

    netguard.install([], guard)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "s.sock"))
    server.listen(1)
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "s.sock"))
    client.close()
    server.close()


def test_sync_source_url_becomes_the_only_endpoint() -> None:
    assert netguard.endpoint_of("https://packs.example.org/site") == ("packs.example.org", 443)
    assert netguard.endpoint_of("http://10.0.0.5:8080/") == ("10.0.0.5", 8080)
    assert netguard.endpoint_of("/media/usb/packs") is None


def _inet_connects(trace: Path) -> list[str]:
    return [line for line in trace.read_text().splitlines() if re.search(r"sa_family=AF_INET6?\b", line)]


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_ingest_and_search_make_no_network_connection(tmp_path: Path, isolated_home: Path) -> None:
    trace = tmp_path / "trace"
    for args in (["ingest", str(DEMO_PDF)], ["search", "oil change interval", "--json"]):
        out = subprocess.run(
            [
                "strace",
                "-f",
                "-qq",
                "-e",
                "trace=connect",
                "-o",
                str(trace),
                *fieldmind_command(),
                *args,
                "--home",
                str(isolated_home),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert _inet_connects(trace) == [], args


@pytest.mark.model
@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_ask_makes_no_network_connection(tmp_path: Path, isolated_home: Path) -> None:
    trace = tmp_path / "trace"
    out = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect",
            "-o",
            str(trace),
            *fieldmind_command(),
            "ask",
            "--json",
            "What torque for the cylinder head bolts?",
            "--home",
            str(isolated_home),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["found"] is True
    assert _inet_connects(trace) == []


def _unshare_ok() -> bool:
    return bool(shutil.which("unshare")) and subprocess.run(["unshare", "-n", "true"]).returncode == 0


@pytest.mark.model
@pytest.mark.skipif(not _unshare_ok(), reason="no network namespaces here")
def test_the_whole_app_works_in_a_namespace_with_no_network(isolated_home: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["unshare", "-n", *fieldmind_command(), *args, "--home", str(isolated_home)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert run("ingest", str(DEMO_PDF)).returncode == 0
    hits = json.loads(run("search", "fault code E07", "--json").stdout)
    assert any("E07" in h["text"] for h in hits)
    answer = json.loads(run("ask", "--json", "What torque for the oil drain plug?").stdout)
    assert answer["found"] and "35 N.m" in answer["quote"]["text"]
