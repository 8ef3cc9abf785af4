"""A site with many terminals: the index's vectors live in a Chroma server (`chroma run` on loopback)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.settings import KnowledgeSettings

from conftest import AMC_PDF, DEMO_PDF


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma command comes with chromadb"
    port = _free_port()
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path_factory.mktemp("chroma")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def test_ingest_and_search_against_a_chroma_server(chroma_server: int, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = KnowledgeSettings(backend="http", chroma_host="127.0.0.1", chroma_port=chroma_server)
    kb = KnowledgeBase(tmp_path / "index", settings, embedder)
    report = kb.ingest([DEMO_PDF, AMC_PDF])
    assert report.added == 2 and not report.failed
    assert not (tmp_path / "index" / "g000001" / "chroma").exists()
    assert (counts := kb.counts())["vectors"] == counts["chunks"]
    top = kb.search("What is the oil change interval?", k=3)
    assert top[0].doc == DEMO_PDF.name and top[0].page == 6
    smtp = kb.search("Which SMTP port does mailing use by default?", k=5)
    assert any(p.page == 93 for p in smtp)
    assert kb.remove([DEMO_PDF.name]) == (1, [])
    assert (counts := kb.counts())["vectors"] == counts["chunks"]
    kb.close()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.errors import StoreError

    settings = KnowledgeSettings(backend="http", chroma_host="127.0.0.1", chroma_port=_free_port())
    kb = KnowledgeBase(tmp_path / "index", settings, embedder)
    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        kb.ingest([DEMO_PDF])
