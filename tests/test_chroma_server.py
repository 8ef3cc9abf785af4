"""A site with many terminals sharing one knowledge store on a real Chroma server (`chroma run` on loopback)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldmind.errors import StoreError
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.revisions import DocumentMeta
from fieldmind.knowledge.site import SiteBusyError
from fieldmind.services import Services
from fieldmind.settings import KnowledgeSettings, load_settings

from conftest import DEMO_PDF
from helpers import make_pdf


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(path: Path, port: int) -> subprocess.Popen[bytes]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma command comes with chromadb"
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.3)


class ChromaServer:
    """A real `chroma run` on loopback that a test can kill and start again on the same data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = _start(path, self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None

    def start(self) -> None:
        if self.proc is None:
            self.proc = _start(self.path, self.port)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    yield server
    server.kill()


def _terminal(home: Path, server: ChromaServer, embedder: Any) -> Services:
    settings = load_settings(
        home,
        demo_knowledge=False,
        knowledge={"backend": "http", "chroma_host": "127.0.0.1", "chroma_port": server.port},
    )
    return Services(settings, embedder=embedder)


def _manual(path: Path, lines: list[str]) -> Path:
    return make_pdf(path, lines)


def test_two_terminals_share_one_site_store_and_never_overwrite_each_other(chroma, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The bug this replaces: both terminals numbered passages from 1 and the second overwrote the first's vectors."""
    import numpy as np

    one, two, three = (_terminal(tmp_path / name, chroma, embedder) for name in ("t1", "t2", "t3"))
    a = _manual(tmp_path / "a.pdf", ["Alpha pump.", "Alpha pump impeller seal: replace it every 250 hours."])
    b = _manual(tmp_path / "b.pdf", ["Bravo valve.", "Bravo valve seat: lap it every 900 cycles."])
    assert one.knowledge.ingest([a], meta=DocumentMeta(revision="D"), to_site=True).added == 1
    assert two.knowledge.ingest([b], to_site=True).added == 1
    local = tmp_path / "notes.md"
    local.write_text("# Notes\n\nCharlie compressor belt: this terminal's own note, every 50 hours.\n")
    three.knowledge.ingest([local])  # not --site: stays on terminal three
    for terminal in (one, two, three):
        terminal.knowledge.refresh_site(force=True)
        [alpha] = terminal.knowledge.search("alpha pump impeller seal", k=1)
        [bravo] = terminal.knowledge.search("bravo valve seat lapping", k=1)
        assert (alpha.doc, alpha.page, alpha.revision) == ("a.pdf", 2, "D") and "250 hours" in alpha.text
        assert (bravo.doc, bravo.page) == ("b.pdf", 2) and "900 cycles" in bravo.text
    assert [p.doc for p in three.knowledge.search("Charlie compressor belt", k=1)] == ["notes.md"]
    assert "notes.md" not in {d.name for d in one.knowledge.documents()}  # local documents stay local
    site = one.knowledge.site
    assert site is not None and site.counts()["documents"] == 2
    for record in one.knowledge.documents():  # every vector on the server is its own passage's
        stored = site.fetch(record.id)
        assert stored is not None
        fresh = embedder.encode([c.embedding_text() for c in stored.chunks])
        assert np.allclose(np.sum(fresh * stored.vectors, axis=1), 1.0, atol=1e-3)

    from fieldmind.knowledge.parsers import READER_VERSION

    alpha_id = next(d.id for d in two.knowledge.documents() if d.name == "a.pdf")
    sha = next(d.sha256 for d in two.knowledge.documents() if d.id == alpha_id)
    assert site.listing()[alpha_id] == (sha, READER_VERSION)
    with two.knowledge.locked_store() as store:  # terminal two's copy, as an older reader left it: taken again
        store._db.execute("UPDATE documents SET reader = 0 WHERE id = ?", (alpha_id,))
        store._db.commit()
    two.knowledge.refresh_site(force=True)
    assert next(d for d in two.knowledge.documents() if d.id == alpha_id).reader == READER_VERSION

    assert one.knowledge.remove(["b.pdf"]) == (1, [])  # removed for every terminal
    two.knowledge.refresh_site(force=True)
    assert "b.pdf" not in {d.name for d in two.knowledge.documents()}
    for terminal in (one, two, three):
        terminal.close()


def test_a_second_writer_is_told_to_wait(chroma, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    one, two = (_terminal(tmp_path / name, chroma, embedder) for name in ("t1", "t2"))
    a = _manual(tmp_path / "a.pdf", ["Alpha pump impeller seal: replace it every 250 hours."])
    assert one.knowledge.site is not None
    busy = r"terminal \w+ is writing to the site store .*try again"
    with one.knowledge.site.lease(), pytest.raises(SiteBusyError, match=busy):
        two.knowledge.ingest([a], to_site=True)
    assert two.knowledge.ingest([a], to_site=True).added == 1  # its turn now
    one.close()
    two.close()


def test_the_server_gone_searches_answer_from_the_copy_and_catch_up_after(chroma, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    one, two = (_terminal(tmp_path / name, chroma, embedder) for name in ("t1", "t2"))
    a = _manual(tmp_path / "a.pdf", ["Alpha pump impeller seal: replace it every 250 hours."])
    b = _manual(tmp_path / "b.pdf", ["Bravo valve seat: lap it every 900 cycles."])
    one.knowledge.ingest([a], to_site=True)
    two.knowledge.refresh_site(force=True)
    chroma.kill()
    started = time.monotonic()
    assert two.knowledge.refresh_site(force=True).startswith("offline")
    [hit] = two.knowledge.search("alpha pump impeller seal", k=1)
    assert hit.doc == "a.pdf" and time.monotonic() - started < 5  # from the copy, within the bound
    with pytest.raises(StoreError, match="does not answer"):
        one.knowledge.ingest([b], to_site=True)  # mid-ingest or before: nothing half-written is kept
    chroma.start()
    assert one.knowledge.ingest([b], to_site=True).added == 1  # the next ingest completes
    assert two.knowledge.refresh_site(force=True) == "online"
    assert two.knowledge.search("bravo valve seat lapping", k=1)[0].doc == "b.pdf"
    one.close()
    two.close()


def test_killed_mid_ingest_the_site_stays_whole(chroma, tmp_path, embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.knowledge import site as site_module

    one, two = (_terminal(tmp_path / name, chroma, embedder) for name in ("t1", "t2"))
    a = _manual(tmp_path / "a.pdf", ["Alpha pump impeller seal: replace it every 250 hours."] * 3)
    real_call = site_module.Site._call

    def dies_after_passages(self, name, method, **kwargs):  # type: ignore[no-untyped-def]
        if name == site_module.DOCUMENTS and method == "upsert":
            chroma.kill()  # the server dies between a document's passages and its record
        return real_call(self, name, method, **kwargs)

    monkeypatch.setattr(site_module.Site, "_call", dies_after_passages)
    with pytest.raises(StoreError):
        one.knowledge.ingest([a], to_site=True)
    monkeypatch.undo()
    chroma.start()
    two.knowledge.refresh_site(force=True)
    assert two.knowledge.documents() == []  # passages without their record are not a document
    assert one.knowledge.documents() == []  # nor kept locally by the writer
    assert one.knowledge.ingest([a], to_site=True).added == 1  # the lease is taken back, the write completes
    two.knowledge.refresh_site(force=True)
    assert [d.name for d in two.knowledge.documents()] == ["a.pdf"]
    one.close()
    two.close()


def test_an_unreachable_site_is_a_clear_error_and_local_work_goes_on(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = KnowledgeSettings(backend="http", chroma_host="127.0.0.1", chroma_port=_free_port())
    from fieldmind.knowledge.site import Site

    kb = KnowledgeBase(tmp_path / "index", settings, embedder, site=Site("127.0.0.1", settings.chroma_port, "t"))
    with pytest.raises(StoreError, match="does not answer"):
        kb.ingest([DEMO_PDF], to_site=True)
    assert kb.ingest([DEMO_PDF]).added == 1  # this terminal's own documents need no server
    assert kb.refresh_site(force=True).startswith("offline")  # said, within the bound
    assert kb.search("oil change interval", k=1)[0].page == 6
    kb.close()


def test_a_question_with_a_site_store_only_reads_this_terminal(chroma, tmp_path, embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A search listed the site over HTTP and stored documents under the write lock. Now the copy is refreshed
    at start and on a schedule; `search` and `ask` open no connection and take no write lock."""
    import socket as sockets

    from fieldmind.assistant import Assistant
    from fieldmind.knowledge.index import KnowledgeBase

    one, two = (_terminal(tmp_path / name, chroma, embedder) for name in ("t1", "t2"))
    one.knowledge.ingest(
        [_manual(tmp_path / "a.pdf", ["Alpha pump impeller seal: replace it every 250 hours."])], to_site=True
    )
    two.open_knowledge()  # the start: the copy is brought up to date once
    connections: list[Any] = []

    def no_connection(self, address):  # type: ignore[no-untyped-def]
        connections.append(address)
        raise OSError("a question opened a connection")

    def no_write(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a question took the write lock")

    monkeypatch.setattr(sockets.socket, "connect", no_connection)
    monkeypatch.setattr(KnowledgeBase, "write_lock", no_write)
    two.knowledge._site_checked = 0.0  # due for a refresh: a question still must not do it
    [hit] = two.knowledge.search("alpha pump impeller seal", k=1)
    answer = Assistant(two.knowledge, None).ask("How often is the Alpha pump impeller seal replaced?")
    assert hit.doc == "a.pdf" and answer.found and "250 hours" in answer.shown()
    assert connections == []
    monkeypatch.undo()
    one.close()
    two.close()
