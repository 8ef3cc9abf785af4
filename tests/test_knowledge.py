"""The knowledge base: incremental ingest, bad files reported, removal, hybrid search on a real manual."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from fieldmind.errors import FieldmindError
from fieldmind.knowledge.records import DocumentRecord
from fieldmind.originals import OriginalFiles
from fieldmind.sync.state import SyncPaths

from conftest import AMC_PDF, DEMO_PDF
from helpers import corrupt_pdf, junk


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    folder.mkdir()
    shutil.copy(DEMO_PDF, folder / "generator.pdf")
    (folder / "notes.md").write_text("# Pump notes\n\nThe HT-9 pump impeller nut torque is 42 N.m.\n")
    return folder


def test_folder_ingest_keeps_good_files_and_names_each_bad_one(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path)
    corrupt_pdf(folder / "broken.pdf")
    junk(folder / "blob.bin")
    junk(tmp_path / "named.bin")
    report = writable_kb.ingest([folder, tmp_path / "missing.pdf", tmp_path / "named.bin"])
    assert report.added == 2 and report.chunks > 10
    reasons = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(reasons) == {"broken.pdf", "named.bin", "missing.pdf"}
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert "unsupported file type" in reasons["named.bin"]  # named on its own: it fails, saying why
    assert "no such file" in reasons["missing.pdf"]
    assert {d.name for d in writable_kb.documents()} == {"generator.pdf", "notes.md"}


def test_files_of_other_types_in_a_folder_are_skipped_not_failed(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A folder of manuals holds pictures, archives, notes: the ingest reads what it can and lists the rest as
    skipped, not failed (the command's exit status: tests/test_cli.py)."""
    folder = _folder(tmp_path)
    for name in ("photo.jpg", "wiring.JPG", "spares.zip", "README"):
        junk(folder / name)
    report = writable_kb.ingest([folder])
    assert report.added == 2 and report.failed == []
    assert sorted(Path(p).name for p in report.skipped) == ["README", "photo.jpg", "spares.zip", "wiring.JPG"]
    assert report.skipped_types() == ".jpg ×2, .zip, (no extension)"
    assert report.to_json()["skipped"] == report.skipped


def test_unchanged_files_are_not_embedded_again(writable_kb, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path)
    writable_kb.ingest([folder])
    calls = []
    monkeypatch.setattr(writable_kb.embedder, "encode", lambda texts: calls.append(texts))
    report = writable_kb.ingest([folder])
    assert (report.added, report.updated, report.unchanged, report.chunks) == (0, 0, 2, 0)
    assert calls == []


def test_a_long_file_reports_its_passages_embedded_with_the_time_left(writable_kb, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One big manual was a silent "--%" for 87 s: its passages are embedded in steps, each telling the time left."""
    import fieldmind.knowledge.ingest as ingest

    monkeypatch.setattr(ingest, "EMBED_BATCH", 8)
    manual = tmp_path / "long.md"
    manual.write_text(
        "".join(f"# Part {n}\n\nThe valve V{n} opens at {n} bar and closes at {n + 1} bar.\n\n" for n in range(40))
    )
    seen: list[Any] = []
    report = writable_kb.ingest([manual], progress=seen.append)
    steps = [e for e in seen if e.outcome == "embedding"]
    assert report.added == 1 and len(steps) >= 3
    assert [e.steps_done for e in steps] == sorted(e.steps_done for e in steps) and steps[
        -1
    ].steps_done == report.chunks
    assert steps[0].seconds_left is not None and steps[-1].seconds_left == 0
    assert "embedding the passages of long.md: 8/" in steps[0].describe() and "left" in steps[0].describe()
    assert seen[-1].outcome == "added"


def test_a_file_read_by_an_older_reader_is_read_again_and_keeps_its_description(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Reading improves (since reader 2, words hyphenated at a PDF line's end are joined): a file added before
    is read again when it is next added, though its bytes did not change, and keeps how it was described."""
    from fieldmind.knowledge.parsers import READER_VERSION
    from fieldmind.knowledge.revisions import DocumentMeta

    folder = _folder(tmp_path)
    writable_kb.ingest([folder])
    generator = next(d for d in writable_kb.documents() if d.name == "generator.pdf")
    assert generator.reader == READER_VERSION
    writable_kb.set_meta(generator.id, DocumentMeta(doc_id="GX7500-OSM", revision="C", title="GX7500 manual"))
    with writable_kb.locked_store() as store:
        # as an older version left it
        store._db.execute("UPDATE documents SET reader = 0 WHERE id = ?", (generator.id,))
        store._db.commit()
    report = writable_kb.ingest([folder])
    assert (report.updated, report.unchanged) == (1, 1)
    again = next(d for d in writable_kb.documents() if d.name == "generator.pdf")
    assert again.reader == READER_VERSION
    assert (again.key, again.revision, again.title) == ("GX7500-OSM", "C", "GX7500 manual")
    assert (counts := writable_kb.counts())["chunks"] == counts["vectors"]
    assert writable_kb.ingest([folder]).unchanged == 2  # read once, not at every ingest


def test_a_catalogue_a_newer_version_wrote_still_opens(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A newer Fieldmind adds a column (this round: `reader`); the version before it crashed on the unknown field
    instead of reading what it knows."""
    from fieldmind.knowledge.records import DocumentRecord

    writable_kb.ingest([_folder(tmp_path)])
    with writable_kb.locked_store() as store:
        store._db.execute("ALTER TABLE documents ADD COLUMN from_the_future TEXT DEFAULT 'x'")
        store._db.commit()
    assert {d.name for d in writable_kb.documents()} == {"generator.pdf", "notes.md"}
    assert (
        DocumentRecord.from_values(
            {
                "id": "a",
                "name": "a.md",
                "path": "a.md",
                "source": "s",
                "sha256": "0",
                "size": 1,
                "kind": "markdown",
                "pages": None,
                "chunks": 1,
                "later": 1,
            }
        ).id
        == "a"
    )


def test_a_changed_file_replaces_its_passages(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path)
    writable_kb.ingest([folder])
    (folder / "notes.md").write_text("# Pump notes\n\nThe HT-9 pump impeller nut torque is 55 N.m.\n")
    report = writable_kb.ingest([folder])
    assert (report.updated, report.unchanged) == (1, 1)
    texts = [p.text for p in writable_kb.search("HT-9 impeller nut torque", k=5)]
    assert any("55 N.m" in t for t in texts)
    assert not any("42 N.m" in t for t in texts)
    assert (counts := writable_kb.counts())["chunks"] == counts["vectors"]


def test_files_gone_from_an_ingested_folder_are_removed(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path)
    writable_kb.ingest([folder])
    (folder / "notes.md").unlink()
    report = writable_kb.ingest([folder])
    assert report.removed == 1
    assert [d.name for d in writable_kb.documents()] == ["generator.pdf"]
    assert not any("HT-9" in p.text for p in writable_kb.search("HT-9 pump impeller", k=5))


def test_remove_by_name_takes_passages_out_of_search(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    writable_kb.ingest([_folder(tmp_path)])
    removed, unknown = writable_kb.remove(["notes.md", "nope.pdf"])
    assert (removed, unknown) == (1, ["nope.pdf"])
    assert (counts := writable_kb.counts())["chunks"] == counts["vectors"]


def test_a_failure_loses_nothing_already_stored(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path)
    writable_kb.ingest([folder])
    before = writable_kb.counts()
    (folder / "generator.pdf").write_bytes(b"%PDF-1.4 truncated")
    report = writable_kb.ingest([folder])
    assert len(report.failed) == 1
    assert writable_kb.counts() == before
    assert writable_kb.search("oil change interval", k=1)[0].doc == "generator.pdf"


def test_search_finds_the_page_of_a_fact(amc_kb) -> None:  # type: ignore[no-untyped-def]
    passages = amc_kb.search("Which SMTP port does mailing use when --smtp-port is not given?", k=5)
    assert any(p.page == 93 and "default value is 25" in p.text for p in passages)
    top = passages[0]
    assert top.doc == AMC_PDF.name and top.section and top.similarity is not None


def test_a_documents_own_file_is_sync_s_copy_or_the_unchanged_local_file(tmp_path: Path) -> None:
    """The page picture must draw the bytes the index read: sync's kept copy first, a local file only while its
    content hash still matches, and a clear error naming the file otherwise."""
    local = tmp_path / "notes.md"
    local.write_text("The HT-9 pump impeller nut torque is 42 N.m.\n")
    sha = hashlib.sha256(local.read_bytes()).hexdigest()
    record = DocumentRecord("d1", "notes.md", str(local), "local", sha, local.stat().st_size, "md", None, 1)
    paths = SyncPaths(tmp_path / "home")
    originals = OriginalFiles(paths.kept_copy)
    assert originals.of(record) == local
    local.write_text("The HT-9 pump impeller nut torque is 45 N.m.\n")  # edited since it was added
    with pytest.raises(FieldmindError, match=r"notes\.md: the file is gone or has changed"):
        originals.of(record)
    paths.ensure()
    (paths.library / sha).write_text("The HT-9 pump impeller nut torque is 42 N.m.\n")
    assert originals.of(record) == paths.library / sha


def test_onnx_vectors_are_sentence_transformers_vectors_whatever_the_batch(embedder) -> None:  # type: ignore[no-untyped-def]
    """Batches are cut to TOKENS_PER_BATCH tokens and padded to their own longest text; the padding must never
    be pooled. (The model's tokenizer.json pads every text to 128 tokens: pooled with them, a short question's
    vector came out another one, cosine 0.15 with its true vector, and the answers fell apart.) The reference is
    sentence-transformers over torch, the library the model was made for."""
    import numpy as np

    from fieldmind.knowledge.embedder import TOKENS_PER_BATCH, Embedder

    short = "Torque for the cylinder head bolts?"
    long = " ".join(["The oil pressure switch stops the engine when the oil runs low."] * 30)
    texts = [short, *[long] * (2 * TOKENS_PER_BATCH // 200), "Fault code E07: overload."]
    ours = embedder.encode(texts)
    reference = Embedder(backend="torch")
    theirs = reference.encode([short, long, texts[-1]])
    assert reference.active == "torch" and embedder.active == "onnx"
    assert np.allclose(ours[0], theirs[0], atol=1e-4)
    assert np.allclose(ours[1], theirs[1], atol=1e-4) and np.allclose(ours[-2], theirs[1], atol=1e-4)
    assert np.allclose(ours[-1], theirs[2], atol=1e-4)
