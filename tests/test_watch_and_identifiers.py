"""Watching a folder keeps the index in sync; exact identifiers find the passage that holds them."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fieldmind.knowledge.watch import watch_folder

from conftest import DEMO_PDF, fieldmind_command


def test_watch_folder_adds_and_removes_as_files_come_and_go(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "watched"
    folder.mkdir()
    reports = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_folder, args=(writable_kb, folder, reports.append, stop), kwargs={"quiet_seconds": 0.3}
    )
    thread.start()
    try:
        _wait(lambda: len(reports) >= 1)
        (folder / "pump.md").write_text("# Pump\n\nThe HT-9 impeller nut torque is 42 N.m.\n")
        _wait(lambda: any(r.added == 1 for r in reports))
        (folder / "pump.md").unlink()
        _wait(lambda: any(r.removed == 1 for r in reports))
    except AssertionError:
        raise AssertionError([r.to_json() for r in reports]) from None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert writable_kb.documents() == []


def test_ingest_watch_command_prints_a_report_per_change(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    proc = subprocess.Popen(
        [*fieldmind_command(), "ingest", "--watch", str(folder), "--json", "--home", str(isolated_home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["added"] == 0
        shutil.copy(DEMO_PDF, folder / "generator.pdf")
        second = json.loads(proc.stdout.readline())
        assert second["added"] == 1 and second["chunks"] > 5
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {condition.__code__.co_consts}"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CompleteMulti", "CompleteMulti"),
        ("--seuil-up", "--seuil-up"),
        ("\\AMCaddpagesto", "\\AMCaddpagesto"),
        ("libemail-address-perl", "libemail-address-perl"),
        ("--smtp-port", "--smtp-port"),
    ],
)
def test_an_identifier_query_finds_its_passage_first(amc_kb, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    top = amc_kb.search(query, k=1)[0]
    assert expected.lower() in top.text.lower()


def test_part_numbers_and_fault_codes_in_the_demo_manual(writable_kb) -> None:  # type: ignore[no-untyped-def]
    writable_kb.ingest([DEMO_PDF])
    assert "NW-FF-0875" in writable_kb.search("NW-FF-0875", k=1)[0].text
    assert "E07" in writable_kb.search("E07", k=1)[0].text
    assert "Air in the fuel" in writable_kb.search("fault code E07 air in fuel", k=3)[0].text or any(
        "E07" in p.text for p in writable_kb.search("fault code E07 air in fuel", k=3)
    )
