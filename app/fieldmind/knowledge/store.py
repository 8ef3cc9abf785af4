"""The index on disk: documents and passages in SQLite (with FTS5 for keywords), vectors in Chroma.

One store is one index generation (`index/<generation>/`, see generations.py). SQLite is the source of
truth: a document counts as stored once its transaction commits; its vectors are written just before.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fieldmind.errors import StoreError
from fieldmind.knowledge.chunking import Chunk
from fieldmind.knowledge.records import CHUNK_COLUMNS, DocumentRecord, StoredChunk, document_id
from fieldmind.knowledge.revisions import DocumentMeta, Scope
from fieldmind.knowledge.schema import MIGRATIONS
from fieldmind.knowledge.vectors import VectorStore
from fieldmind.migrations import migrate, use_wal

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

__all__ = ["MIGRATIONS", "DocumentRecord", "Store", "StoredChunk", "document_id"]


class Store:
    """One index generation: its SQLite catalogue and its vectors."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._db = self._connect(directory / "catalog.sqlite")
        self._vectors: VectorStore | None = None
        self._version = self._data_version()

    def _data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def follow_writes(self) -> bool:
        """Whether another process committed to this index since last asked (an `ingest` from a shell while the
        app is open). SQLite reads its commits by itself; Chroma's copy of the vectors in this process would miss
        them, so the vectors are opened afresh on next use. The SQLite connection stays: opening it again (its
        migrations, its WAL switch) while that process still writes was "database is locked"."""
        version = self._data_version()
        if version == self._version:
            return False
        self._version = version
        self._vectors = None
        return True

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            migrate(db, MIGRATIONS)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: the index catalogue is damaged ({exc})") from exc
        db.row_factory = sqlite3.Row
        return db

    @property
    def vectors(self) -> VectorStore:
        if self._vectors is None:
            self._vectors = VectorStore.embedded(self.directory / "chroma")
        return self._vectors

    def close(self) -> None:
        self._db.close()

    # -- documents ---------------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        rows = self._db.execute("SELECT * FROM documents ORDER BY name, path").fetchall()
        return [self._record(row) for row in rows]

    def document(self, doc_id: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return self._record(row) if row else None

    @staticmethod
    def _record(row: sqlite3.Row) -> DocumentRecord:
        values = dict(row)
        values["warnings"] = json.loads(values["warnings"] or "[]")
        values["tags"] = json.loads(values["tags"] or "{}")
        values["superseded"] = bool(values["superseded"])
        return DocumentRecord.from_values(values)

    def put_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: Vectors,
        pages: Sequence[tuple[int | None, str | None, str]] = (),
        ocr: Sequence[tuple[int, float, str]] = (),
    ) -> None:
        """Store a document, its passages and page texts (and its OCR'd pages: page, confidence, word boxes
        as JSON), replacing any earlier version, all or nothing."""
        if len(chunks) != len(vectors):
            raise StoreError(f"{record.path}: {len(chunks)} passages but {len(vectors)} vectors")
        old_ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id = ?", (record.id,))]
        start = self._next_chunk_id()
        new_ids = list(range(start, start + len(chunks)))
        self.vectors.upsert(new_ids, vectors)  # first: a crash now leaves only unreferenced vectors
        record.chunks = len(chunks)
        record.updated_at = time.time()
        try:
            with self._transaction():
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (record.id,))
                self._db.execute("DELETE FROM pages WHERE doc_id = ?", (record.id,))
                self._db.execute("DELETE FROM ocr_pages WHERE doc_id = ?", (record.id,))
                record.doc_key = record.key
                old_key = self._db.execute("SELECT doc_key FROM documents WHERE id = ?", (record.id,)).fetchone()
                columns = list(record.__dict__)
                self._db.execute(
                    f"INSERT OR REPLACE INTO documents ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})",
                    {**record.__dict__, "warnings": json.dumps(record.warnings), "tags": json.dumps(record.tags)},
                )
                self._resupersede(record.key, *(old_key or ()))
                self._db.executemany(
                    "INSERT INTO ocr_pages (doc_id, page, confidence, words) VALUES (?, ?, ?, ?)",
                    [(record.id, page, confidence, words) for page, confidence, words in ocr],
                )
                self._db.executemany(
                    "INSERT INTO pages (doc_id, page, section, text) VALUES (?, ?, ?, ?)",
                    [(record.id, page, section, text) for page, section, text in pages],
                )
                self._db.executemany(
                    "INSERT INTO chunks (id, doc_id, ordinal, page, section, text) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (cid, record.id, n, c.page, c.section, c.text)
                        for n, (cid, c) in enumerate(zip(new_ids, chunks, strict=True))
                    ],
                )
        except BaseException:
            self.vectors.delete(new_ids)
            raise
        if old_ids:
            self.vectors.delete(old_ids)

    def _next_chunk_id(self) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()
        # Ids are never reused within a process run, even across a rolled-back write.
        self._floor = max(getattr(self, "_floor", 0), int(row[0]) + 1)
        return self._floor

    def remove_document(self, doc_id: str) -> bool:
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        key = self._db.execute("SELECT doc_key FROM documents WHERE id = ?", (doc_id,)).fetchone()
        with self._transaction():
            removed = self._db.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount
            if key:
                self._resupersede(*key)
            self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            self._db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
            self._db.execute("DELETE FROM ocr_pages WHERE doc_id = ?", (doc_id,))
        if ids:
            self.vectors.delete(ids)
        return bool(removed)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- passages ----------------------------------------------------------------------------------------
    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c "
            f"LEFT JOIN ocr_pages o ON o.doc_id = c.doc_id AND o.page = c.page "
            f"JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            ids,
        ).fetchall()
        return {row["id"]: StoredChunk(**dict(row)) for row in rows}

    def page_chunks(self, doc_id: str, page: int | None) -> list[StoredChunk]:
        rows = self._db.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks c "
            "LEFT JOIN ocr_pages o ON o.doc_id = c.doc_id AND o.page = c.page "
            "JOIN documents d ON d.id = c.doc_id WHERE c.doc_id = ? AND c.page IS ? ORDER BY c.ordinal",
            (doc_id, page),
        ).fetchall()
        return [StoredChunk(**dict(row)) for row in rows]

    def ocr_words(self, doc_id: str, page: int) -> str | None:
        """The word boxes (JSON) OCR found on a scanned page; None for a page with a text layer."""
        row = self._db.execute("SELECT words FROM ocr_pages WHERE doc_id = ? AND page = ?", (doc_id, page)).fetchone()
        return str(row[0]) if row else None

    def page_texts(self, doc_id: str, page: int | None) -> list[tuple[int | None, str | None, str]]:
        """(page, section, text) views of a document: its page, or all its sections when it has no pages."""
        rows = self._db.execute(
            "SELECT page, section, text FROM pages WHERE doc_id = ? AND (page IS ? OR ? IS NULL) ORDER BY rowid",
            (doc_id, page, page),
        ).fetchall()
        return [(r[0], r[1], str(r[2])) for r in rows]

    def keyword_search(self, match: str, n: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) for an FTS5 MATCH expression."""
        if not match:
            return []
        try:
            rows = self._db.execute(
                "SELECT rowid, bm25(chunks_fts, 1.0, 0.5) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                (match, n),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(int(r[0]), -float(r[1])) for r in rows]

    def match_count(self, match: str, limit: int) -> int:
        """How many passages match an FTS5 expression, counting no further than `limit` (stays fast)."""
        try:
            row = self._db.execute(
                "SELECT COUNT(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
                (match, limit),
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0])

    def chunk_texts(self, ids: Iterable[int]) -> list[tuple[int, str | None, str]]:
        """(id, section, text) of passages, for re-embedding them."""
        ids = list(ids)
        out: list[tuple[int, str | None, str]] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT id, section, text FROM chunks WHERE id IN ({marks})", part)
            out.extend((int(r[0]), r[1], str(r[2])) for r in rows)
        return out

    def _resupersede(self, *keys: str | None) -> None:
        """Mark, among the files of each document id, all but the newest revision as superseded."""
        from fieldmind.knowledge.revisions import newness

        for key in {k for k in keys if k}:
            rows = self._db.execute(
                "SELECT id, effective, revision FROM documents WHERE doc_key = ?", (key,)
            ).fetchall()
            if not rows:
                continue
            newest = max(rows, key=lambda r: (newness(r["effective"], r["revision"]), r["id"]))["id"]
            for row in rows:
                self._db.execute(
                    "UPDATE documents SET superseded = ? WHERE id = ?", (int(row["id"] != newest), row["id"])
                )

    def set_meta(self, doc_id: str, meta: DocumentMeta) -> None:
        """Change what is said about a stored document (id, title, revision, date, tags) without re-reading it."""
        old = self._db.execute("SELECT doc_key FROM documents WHERE id = ?", (doc_id,)).fetchone()
        with self._transaction():
            self._db.execute(
                "UPDATE documents SET doc_key = COALESCE(?, doc_key), title = COALESCE(?, title), "
                "revision = COALESCE(?, revision), effective = COALESCE(?, effective) WHERE id = ?",
                (meta.doc_id, meta.title, meta.revision, meta.effective, doc_id),
            )
            self._resupersede(meta.doc_id, *(old or ()))

    def set_tags(self, doc_id: str, tags: dict[str, str]) -> None:
        with self._transaction():
            self._db.execute("UPDATE documents SET tags = ? WHERE id = ?", (json.dumps(tags), doc_id))

    def searchable(self, scope: Scope | None, all_revisions: bool) -> set[str] | None:
        """The ids of the documents a question may draw on; None when that is all of them (no filter)."""
        rows = self._db.execute("SELECT id, tags, superseded FROM documents").fetchall()
        allowed = {
            r["id"]
            for r in rows
            if (all_revisions or not r["superseded"]) and (not scope or scope.admits(json.loads(r["tags"] or "{}")))
        }
        return None if len(allowed) == len(rows) else allowed

    def chunk_ids_of(self, doc_ids: Iterable[str]) -> list[int]:
        ids = list(doc_ids)
        found: list[int] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.extend(int(r[0]) for r in self._db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", part))
        return sorted(found)

    def changes(self) -> tuple[int, int]:
        """Changes since this connection opened (its own, and other connections'): keys for caches."""
        return int(self._db.total_changes), int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def pack_key(self, name: str) -> str | None:
        """The id of the publisher key that signed the pack as held."""
        row = self._db.execute("SELECT key_id FROM packs WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row and row[0] else None

    def update_source(self, doc_id: str, source: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE documents SET source = ? WHERE id = ?", (source, doc_id))

    def pack_versions(self) -> dict[str, int]:
        """The version of each knowledge pack this generation holds."""
        return {str(r[0]): int(r[1]) for r in self._db.execute("SELECT name, version FROM packs")}

    def set_pack(self, name: str, version: int, files: int, key_id: str | None = None) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO packs (name, version, files, applied_at, key_id) VALUES (?, ?, ?, ?, ?)",
                (name, version, files, time.time(), key_id),
            )

    def copy_catalog_to(self, target: Path) -> None:
        """A consistent copy of the catalogue (SQLite's online backup), for a new generation."""
        destination = sqlite3.connect(target)
        try:
            self._db.backup(destination)
        finally:
            destination.close()

    def chunk_ids(self) -> set[int]:
        return {int(r[0]) for r in self._db.execute("SELECT id FROM chunks")}

    def counts(self) -> dict[str, int]:
        """Documents and passages; counted again only after a change (counting 100,000 rows took ~3 ms, and
        every search asks)."""
        changes = self.changes()
        cached = getattr(self, "_counts", None)
        if cached is not None and cached[0] == changes:
            return dict(cached[1])
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        counts = {"documents": int(docs), "chunks": int(chunks)}
        self._counts = (changes, counts)
        return dict(counts)
