"""Sync under stress: kill -9 at every apply step, queries running through a sync, the CLI and the monitor."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fieldmind.sync.monitor import ConnectivityMonitor
from fieldmind.sync.runner import run_sync
from sync_helpers import DOCS_V1, DOCS_V2, Publisher, device, pack_docs, trust
from sync_server import serve

from conftest import fieldmind_command


@pytest.fixture
def publisher(tmp_path: Path) -> Publisher:
    return Publisher(tmp_path / "publisher")


def _cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fieldmind_command(), *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _sources(home: Path) -> set[str]:
    docs = json.loads(_cli("docs", "--json", home=home).stdout)
    return {d["source"] for d in docs if d["source"].startswith("pack:")}


@pytest.mark.parametrize("step", ["journal", "copied", "applied", "verified", "switched"])
def test_kill_9_at_each_apply_step_leaves_old_or_new_and_a_restart_finishes(  # type: ignore[no-untyped-def]
    publisher, isolated_home, embedder, step: str
) -> None:
    publisher.publish(1, DOCS_V1)
    trust(isolated_home, publisher.public)
    services = device(isolated_home, embedder)
    run_sync(services, str(publisher.site))
    services.close()
    publisher.publish(2, DOCS_V2)

    crashed = _cli("sync", "--source", str(publisher.site), home=isolated_home, env={"FIELDMIND_SYNC_CRASH_AT": step})
    assert crashed.returncode == -9, crashed.stderr[-1500:]
    after_crash = _sources(isolated_home)
    assert after_crash in ({"pack:pumps@1"}, {"pack:pumps@2"})  # exactly old or exactly new, never a mix

    for _ in range(3):  # restart until done
        finished = _cli("sync", "--source", str(publisher.site), "--json", home=isolated_home)
        if finished.returncode == 0 and json.loads(finished.stdout)["up_to_date"]:
            break
    assert _sources(isolated_home) == {"pack:pumps@2"}
    services = device(isolated_home, embedder)
    assert set(pack_docs(services)) == {"pump.md", "valve.md", "gauge.md"}
    assert (counts := services.knowledge.counts())["vectors"] == counts["chunks"]
    assert not (isolated_home / "sync" / "journal.json").exists()
    generations = sorted(p.name for p in (isolated_home / "index").glob("g0*"))
    assert len(generations) <= 2  # the current one and the previous, kept for rollback
    services.close()
    audited = _cli("sync", "--audit", "--json", home=isolated_home)
    applied = [e for e in json.loads(audited.stdout) if e.get("event") == "applied" and e.get("pack") == "pumps"]
    assert [e["version"] for e in applied].count(2) == 1, applied  # recorded once, by the run that completed it


def test_queries_running_through_a_sync_never_fail_or_mix(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    run_sync(services, str(publisher.site))
    publisher.publish(2, DOCS_V2)
    reader = device(isolated_home, embedder)  # another user of the same index, like the TUI
    stop = threading.Event()
    seen: list[set[str]] = []
    errors: list[BaseException] = []

    def query_loop() -> None:
        while not stop.is_set():
            try:
                docs = {d.source for d in reader.knowledge.documents() if d.source.startswith("pack:")}
                hits = reader.knowledge.search("HT-9 impeller nut torque", k=3)
                assert hits
                seen.append(docs)
            except BaseException as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=query_loop)
    thread.start()
    try:
        time.sleep(0.3)
        result = run_sync(services, str(publisher.site))
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.applied and not errors, errors
    assert all(docs in ({"pack:pumps@1"}, {"pack:pumps@2"}) for docs in seen)
    assert seen[0] == {"pack:pumps@1"} and seen[-1] == {"pack:pumps@2"}
    assert "55 N.m" in " ".join(p.text for p in reader.knowledge.search("HT-9 impeller nut torque", k=3))


def test_cli_publisher_and_device_commands(tmp_path: Path, isolated_home: Path) -> None:
    keys_dir, site, src = tmp_path / "keys", tmp_path / "site", tmp_path / "src"
    src.mkdir()
    (src / "pump.md").write_text(DOCS_V1["pump.md"])
    assert _cli("pack", "keygen", "--out", str(keys_dir), home=isolated_home).returncode == 0
    assert oct((keys_dir / "publisher.key").stat().st_mode & 0o777) == "0o600"
    build = [
        "pack",
        "build",
        str(src),
        "--name",
        "pumps",
        "--version",
        "1",
        "--key",
        str(keys_dir / "publisher.key"),
        "--out",
        str(site),
        "--expires-days",
        "10",
    ]
    assert _cli(*build, home=isolated_home).returncode == 0
    again = _cli(*build, home=isolated_home)
    assert again.returncode == 1 and "versions only go up" in again.stderr

    refused = _cli("sync", "--source", str(site), "--json", home=isolated_home)
    assert (
        refused.returncode == 1 and "no publisher key is trusted" in json.loads(refused.stdout)["rejected"][0]["reason"]
    )
    assert _cli("trust", "add", str(keys_dir / "publisher.pub"), home=isolated_home).returncode == 0
    listed = json.loads(_cli("trust", "list", "--json", home=isolated_home).stdout)
    assert len(listed) == 1 and set(listed[0]) == {"id", "added"} and len(listed[0]["id"]) == 64

    with serve(site) as (url, _faults):
        out = _cli("sync", "--source", url, "--json", home=isolated_home)
    result = json.loads(out.stdout)
    assert out.returncode == 0, out.stderr
    assert set(result) >= {"source", "applied", "rejected", "up_to_date"}
    assert result["applied"] == [{"name": "pumps", "version": 1, "added": 1, "updated": 0, "removed": 0}]
    audit = json.loads(_cli("sync", "--audit", "--json", home=isolated_home).stdout)
    assert audit[-1]["pack"] == "pumps" and audit[-1]["source"] == url


def test_monitor_starts_a_sync_when_the_source_appears(publisher, tmp_path: Path) -> None:
    stick = tmp_path / "usb"
    calls: list[str] = []
    monitor = ConnectivityMonitor(str(stick), lambda: calls.append("sync"), interval=60, min_interval=0.05)
    thread = monitor.start()
    try:
        time.sleep(0.4)
        assert calls == []
        publisher.publish(1, DOCS_V1)
        publisher.site.rename(stick)
        deadline = time.monotonic() + 10
        while not calls:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        monitor.stop()
        thread.join(timeout=5)
    assert calls == ["sync"]


def test_monitor_backs_off_and_only_contacts_the_source(tmp_path: Path) -> None:
    with serve(tmp_path) as (url, faults):
        monitor = ConnectivityMonitor(url + "/missing-site", lambda: None, min_interval=0.05, max_interval=0.4)
        thread = monitor.start()
        time.sleep(1.2)
        monitor.stop()
        thread.join(timeout=5)
    assert 2 <= monitor.checks <= 8  # 0.05, 0.1, 0.2, 0.4, 0.4 ... not a busy loop
    assert all(path.startswith("/missing-site/") for _, path, _ in faults.requests)
