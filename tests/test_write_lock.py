"""Every write path takes the index's write lock, and readers never repair under another process's write
(issue 15, items 3 and 4): two real processes, one holding the lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from conftest import DEMO_PDF

HOLD = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
with lock:
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold_lock(index_dir: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(index_dir / "write.lock"), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_remove_waits_for_another_process_writing(writable_kb) -> None:  # type: ignore[no-untyped-def]
    writable_kb.ingest([DEMO_PDF])
    heard: list[str] = []
    writable_kb.on_wait = heard.append
    holder = _hold_lock(writable_kb.index_dir, 2.0)
    try:
        started = time.monotonic()
        removed, unknown = writable_kb.remove([DEMO_PDF.name])
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert removed == 1 and unknown == []
    assert waited >= 1.5, f"remove did not wait for the writer ({waited:.2f} s)"
    assert heard and "waiting for it to finish" in heard[0]  # said at once, not 2 min of silence


def test_start_up_repair_leaves_another_process_write_alone(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    services = Services(load_settings(isolated_home, demo_knowledge=False), embedder=embedder)
    try:
        services.knowledge.ingest([DEMO_PDF])
        with services.knowledge.locked_store() as store:  # the lock is re-entrant: check_index runs inside
            vectors_before = store.vectors.count()
            marker = store.directory / ".writing"
            marker.touch()  # what another process's ingest looks like from here
            extra = store.vectors.all_ids()
            store.vectors.upsert([max(extra) + 1000], embedder.encode(["a vector another writer just added"]))
            holder = _hold_lock(services.knowledge.index_dir, 3.0)
            try:
                assert services.check_index() is None  # a reader: no repair while another process writes
                assert store.vectors.count() == vectors_before + 1 and marker.exists()
            finally:
                holder.wait(timeout=30)
            repaired = services.check_index()  # the writer is gone: now the interrupted write is finished
            assert repaired is not None and "1 pruned" in repaired
            assert store.vectors.count() == vectors_before and not marker.exists()
    finally:
        services.close()


def test_an_open_knowledge_base_follows_another_process_ingest(isolated_home, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The app open on a home, `fieldmind ingest` from another shell: the next question found the new documents'
    ids in the catalogue but not in Chroma's in-memory copy ("Error finding id"). It follows the write now."""
    from fieldmind.assistant import Assistant
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    from conftest import fieldmind_command

    services = Services(load_settings(isolated_home), embedder=embedder)
    try:
        services.open_knowledge()  # the demo manual, searched once: Chroma's copy is loaded in this process
        assert services.knowledge.search("cylinder head bolts torque", k=1)[0].doc == DEMO_PDF.name
        pump = tmp_path / "pump.md"
        pump.write_text("# Pump HT-9\n\nThe HT-9 impeller nut torque is 42 N.m.\n")
        done = subprocess.run(
            [*fieldmind_command(), "ingest", str(pump), "--home", str(isolated_home)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        [hit] = services.knowledge.search("HT-9 impeller nut torque", k=1)
        assert hit.doc == "pump.md"
        answer = Assistant(services.knowledge, None).ask("What is the HT-9 impeller nut torque?")
        assert answer.found and "42 N.m" in answer.shown()
        assert services.knowledge.counts()["documents"] == 2
    finally:
        services.close()


def test_two_processes_opening_a_new_index_at_once_both_open_it(tmp_path: Path) -> None:
    """SQLite's switch to write-ahead logging ignores the busy timeout: one of two first-run commands failed at
    once, "the index catalogue is damaged (database is locked)" (3 runs in 5 of the two-asks test)."""
    code = "import sys\nfrom pathlib import Path\nfrom fieldmind.knowledge.store import Store\nStore(Path(sys.argv[1]))"
    for round_ in range(8):
        folder = tmp_path / str(round_)
        both = [
            subprocess.Popen([sys.executable, "-c", code, str(folder)], stderr=subprocess.PIPE, text=True) for _ in "ab"
        ]
        for process in both:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr[-500:]
