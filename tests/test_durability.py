"""An ingest killed with -9 loses no finished document, and the next run resumes where it stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import AMC_PDF, DEMO_PDF, fieldmind_command


def test_kill_9_during_ingest_keeps_finished_documents_and_resumes(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    shutil.copy(DEMO_PDF, folder / "a-generator.pdf")
    for n in range(2):
        shutil.copy(AMC_PDF, folder / f"b-amc-{n}.pdf")
    proc = subprocess.Popen(
        [*fieldmind_command(), "ingest", str(folder), "--home", str(isolated_home)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[1/3] added"):
            time.sleep(2.0)  # well into embedding the second document
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    docs = json.loads(
        subprocess.run(
            [*fieldmind_command(), "docs", "--json", "--home", str(isolated_home)],
            capture_output=True,
            text=True,
        ).stdout
    )
    assert "a-generator.pdf" in [d["name"] for d in docs]
    assert len(docs) < 3

    resumed = subprocess.run(
        [*fieldmind_command(), "ingest", str(folder), "--json", "--home", str(isolated_home)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(resumed.stdout)
    assert report["unchanged"] == len(docs) and report["added"] == 3 - len(docs) and not report["failed"]

    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(isolated_home / "index")
    assert not kb.interrupted()
    with kb.locked_store() as store:
        assert store.vectors.all_ids() == store.chunk_ids()
    assert kb.search("oil change interval", k=1)[0].doc == "a-generator.pdf"
    kb.close()
