"""The knowledge base's write side: ingest files and folders incrementally, tag and remove documents, repair,
keep the site copy — each under the index's write lock. Reading (search, pages, counts) is `reading.py`'s.

Incremental by content hash: an unchanged file costs one sha256 and re-embeds nothing; a changed file
replaces its passages; a file gone from an ingested folder is removed. One bad file is reported with its
reason and never stops the others, and nothing already stored is touched by a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fieldmind.errors import FieldmindError
from fieldmind.knowledge.chunking import Chunk
from fieldmind.knowledge.embedder import Embedder
from fieldmind.knowledge.ingest import (
    LOCAL,
    DocumentSink,
    IngestBatch,
    IngestReport,
    shown,
    walk,
)
from fieldmind.knowledge.ocr import Recogniser
from fieldmind.knowledge.progress import IngestProgress, ProgressCallback
from fieldmind.knowledge.reading import KnowledgeReader
from fieldmind.knowledge.revisions import DocumentMeta
from fieldmind.knowledge.site import REFRESH_SECONDS, Site, SiteSink, is_site, refresh_copy
from fieldmind.knowledge.store import DocumentRecord
from fieldmind.settings import KnowledgeSettings

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from fieldmind.knowledge.embedder import Vectors

__all__ = ["LOCAL", "DocumentRecord", "IngestProgress", "IngestReport", "KnowledgeBase"]


class KnowledgeBase(KnowledgeReader):
    """The documents this device knows: the read side, and the writes (ingest, tags, removal, repair, the site
    copy) under the index's write lock."""

    def __init__(
        self,
        index_dir: Path,
        settings: KnowledgeSettings | None = None,
        embedder: Embedder | None = None,
        generation: str | None = None,
        site: Site | None = None,
    ) -> None:
        super().__init__(index_dir, settings, embedder, generation)
        self.site = site
        """The site's shared store (knowledge.backend = "http"), of which this index keeps a full copy."""
        self.site_state = ""
        """"" without a site; "online"; or "offline: …" while answering from the copy."""
        self._site_checked = 0.0
        self.recogniser = Recogniser(index_dir / "ocr-cache") if self.settings.ocr else None
        """Reads scanned pages; its cache (by file hash and page) outlives generations, so nothing is read twice."""
        self.on_wait: Callable[[str], None] | None = None
        """Told when a write waits for another process's (the CLI prints it)."""

    def reconcile(self) -> dict[str, int]:
        """Make the vectors match the passages after an interrupted write (see repair.py)."""
        from fieldmind.knowledge.repair import reconcile

        return reconcile(self)

    def check_vectors(self) -> str | None:
        """Rebuild a damaged or out-of-step vector store from the stored passages (see repair.py)."""
        from fieldmind.knowledge.repair import check_vectors

        return check_vectors(self)

    def finish_write(self) -> None:
        """The write is whole: remove the marker that says otherwise."""
        with self._lock:
            self._writing_marker().unlink(missing_ok=True)

    # -- writing ------------------------------------------------------------------------------------------
    def write_lock(self) -> BaseFileLock:
        """Held while writing: an ingest and a sync never write the index at the same time."""
        from filelock import FileLock

        self.index_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.index_dir / "write.lock"))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The write lock, held for a write; when another process holds it, `on_wait` hears that this one waits
        (a `remove` during a sync sat 2 min 36 s in silence)."""
        from filelock import Timeout

        lock = self.write_lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if self.on_wait is not None:
                self.on_wait("another Fieldmind is writing this index (an ingest or a sync); waiting for it to finish")
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def ingest(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        source: str = LOCAL,
        meta: DocumentMeta | None = None,
        to_site: bool = False,
    ) -> IngestReport:
        """Add, update or remove documents so the index matches `paths` (files and folders). `meta` describes
        every file given (a document id and revision make sense for one file; tags for any number).
        `to_site` writes them to the site's shared store too (as its one writer for the while)."""
        with self.writing():
            if not to_site:
                return self._ingest(paths, progress, cancelled, source, meta)
            if self.site is None:
                raise FieldmindError('no site store is configured (knowledge.backend = "http", chroma_host/_port)')
            with self.site.lease():
                sink = SiteSink(self, self.site)
                return self._ingest(paths, progress, cancelled, self.site.source, meta, sink)

    def _ingest(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None,
        cancelled: Callable[[], bool],
        source: str,
        meta: DocumentMeta | None = None,
        sink: DocumentSink | None = None,
    ) -> IngestReport:
        report = IngestReport()
        if self.interrupted():
            self.reconcile()
        paths = list(paths)
        files = list(walk(paths, report))
        seen_by_folder: dict[Path, set[str]] = {p.resolve(): set() for p in paths if p.is_dir()}
        batch = IngestBatch(
            sink or self, self.embedder, self.settings, report, progress, len(files), self.recogniser, cancelled
        )
        for path, folder in files:
            if cancelled():
                report.cancelled = True
                break
            if folder is not None:
                seen_by_folder.setdefault(folder, set()).add(shown(path.resolve()))
            batch.add(path, source, meta=meta)
        if not report.cancelled:
            batch.flush()
            for folder, seen in seen_by_folder.items():
                report.removed += self._remove_missing(folder, seen, source)
        self.finish_write()
        return report

    def store_document(
        self,
        record: DocumentRecord,
        chunks: list[Chunk],
        vectors: Vectors,
        pages: list[tuple[int | None, str | None, str]] | None = None,
        ocr: list[tuple[int, float, str]] | None = None,
    ) -> None:
        with self._lock:
            self._writing_marker().touch()
            self._store().put_document(record, chunks, vectors, pages or [], ocr or [])

    def set_meta(self, doc_id: str, meta: DocumentMeta) -> None:
        """Describe a stored document anew (id across revisions, title, revision, date; tags added)."""
        with self._lock:
            store = self._store()
            store.set_meta(doc_id, meta)
            if meta.tags:
                record = store.document(doc_id)
                store.set_tags(doc_id, {**(record.tags if record else {}), **meta.tags})

    def tag(self, ref: str, add: dict[str, str], remove: Iterable[str] = ()) -> list[DocumentRecord]:
        """Add and remove tags of the documents `ref` names (id, name, path or document id)."""
        with self.write_lock(), self._lock:
            matches = self.resolve(ref)
            if not matches:
                raise FieldmindError(f"no document {ref!r}; `fieldmind docs` lists them")
            store = self._store()
            for record in matches:
                tags = {k: v for k, v in {**record.tags, **add}.items() if k not in set(remove)}
                store.set_tags(record.id, tags)
            return [d for d in (store.document(r.id) for r in matches) if d is not None]

    def _remove_missing(self, folder: Path, seen: set[str], source: str) -> int:
        prefix = shown(folder) + os.sep
        removed = 0
        with self._lock:
            for record in self._store().documents():
                if record.source == source and record.path.startswith(prefix) and record.path not in seen:
                    removed += self._remove_document(record)
        return removed

    # -- removal -----------------------------------------------------------------------------------------

    def remove(self, refs: Iterable[str]) -> tuple[int, list[str]]:
        """Remove documents by id, name or path; returns (how many, the refs that matched nothing).

        Under the write lock, like every write: a sync switching generations meanwhile would bring the
        removed document back.
        """
        removed = 0
        unknown: list[str] = []
        with self.writing(), self._lock:
            for ref in refs:
                matches = self.resolve(ref)
                if not matches:
                    unknown.append(ref)
                if len(matches) > 1 and all(ref == d.name for d in matches):
                    where = ", ".join(f"{d.id} ({d.source})" for d in matches)
                    raise FieldmindError(
                        f"{ref!r} names {len(matches)} documents: {where}; nothing was removed. "
                        "Give the id or the full path (`fieldmind docs` lists them)"
                    )
                for record in matches:
                    if self.site is not None and is_site(record):
                        with self.site.lease():
                            removed += self._remove_document(record)
                    else:
                        removed += self._remove_document(record)
        return removed, unknown

    def _remove_document(self, record: DocumentRecord) -> int:
        """Remove a document; a site document from the site's store first (for every terminal)."""
        if self.site is not None and is_site(record):
            self.site.remove(record.id)
        return int(self._store().remove_document(record.id))

    def refresh_site(self, force: bool = False) -> str:
        """Bring this terminal's copy of the site's documents up to date (at most every few seconds unless
        forced); the site state. Called at start and on a schedule, never by a search: searches only read."""
        if self.site is not None and (force or time.monotonic() - self._site_checked >= REFRESH_SECONDS):
            self._site_checked = time.monotonic()
            self.site_state = refresh_copy(self, self.site, self.site_state)
        return self.site_state
