"""The read side of the knowledge base: search, a passage's page, the next page, counts and documents.

It never writes and never connects: a question runs entirely on this device's index. It follows the index as
others change it — a sync switching generations, another process's ingest (SQLite's data_version) — by
reopening. The write side (`index.KnowledgeBase`: ingest, remove, repair, the write lock, the site copy) builds
on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fieldmind.knowledge import generations
from fieldmind.knowledge.context import PageContext, page_context
from fieldmind.knowledge.embedder import Embedder
from fieldmind.knowledge.retrieve import Allowed, Passage, hybrid_search
from fieldmind.knowledge.revisions import Scope
from fieldmind.knowledge.store import DocumentRecord, Store
from fieldmind.knowledge.vectors import forget_clients, single_threaded_numpy
from fieldmind.settings import KnowledgeSettings

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors


class KnowledgeReader:
    """The documents this device knows, for reading, over the current index generation."""

    def __init__(
        self,
        index_dir: Path,
        settings: KnowledgeSettings | None = None,
        embedder: Embedder | None = None,
        generation: str | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.pinned = generation
        """A fixed generation (a sync building the next one); None follows `index/CURRENT`."""
        self.generation: str | None = None
        self.settings = settings or KnowledgeSettings()
        self.embedder = embedder or Embedder()
        self._open: Store | None = None
        self._last_question: tuple[str, Vectors] | None = None
        self._allowed_cache: dict[tuple[object, ...], tuple[tuple[object, ...], Allowed | None]] = {}
        self._lock = threading.RLock()
        """One connection serves all threads (TUI workers, folder watchers): one operation at a time."""

    def _store(self) -> Store:
        """The open store of the generation in use. Only ever called with `_lock` held: a sync switching
        generations closes the store, so a reader outside the lock could be left holding a closed one."""
        switched = self.pinned is None and generations.current(self.index_dir) != self.generation
        if self._open is not None and switched:  # a sync switched generations: follow it
            self._open.close()
            self._open = None
            self._allowed_cache.clear()
        elif self._open is not None and self._open.follow_writes():  # another process wrote to this one
            forget_clients()  # so the vectors reopen from disk, with its new ones
            self._allowed_cache.clear()
        if self._open is None:
            generation = self.pinned or generations.current(self.index_dir)
            self.generation = generation
            self._open = Store(self.index_dir / generation)
        return self._open

    @contextmanager
    def locked_store(self) -> Iterator[Store]:
        """The store, for as long as the block runs, with no write or generation switch meanwhile. The one
        way to reach the store from outside: there is no unlocked path to it."""
        with self._lock:
            yield self._store()

    def close(self) -> None:
        with self._lock:
            if self._open is not None:
                self._open.close()
                self._open = None

    def current_generation(self) -> str:
        with self._lock:
            self._store()
            return str(self.generation)

    def counts(self) -> dict[str, int]:
        """Documents, passages and vectors, read together."""
        with self._lock:
            store = self._store()
            return {**store.counts(), "vectors": store.vectors.count()}

    def pack_key(self, name: str) -> str | None:
        """The id of the publisher key that signed the pack `name` as held."""
        with self._lock:
            return self._store().pack_key(name)

    def pack_versions(self) -> dict[str, int]:
        with self._lock:
            return self._store().pack_versions()

    def is_empty(self) -> bool:
        with self._lock:
            return self._store().counts()["documents"] == 0

    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            return self._store().documents()

    def document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            return self._store().document(doc_id)

    def _writing_marker(self) -> Path:
        """Present while an ingest writes; found at start, it means the last one did not finish."""
        return self._store().directory / ".writing"

    def interrupted(self) -> bool:
        with self._lock:
            return self._writing_marker().exists()

    def _allowed(self, scope: Scope | None, all_revisions: bool) -> Allowed | None:
        """What a search may draw on, cached per filter until the index changes."""
        store = self._store()
        key = (self.generation, scope.label() if scope else "", all_revisions, store.changes())
        cached = self._allowed_cache.get(key[:3])
        if cached is not None and cached[0] == key:
            return cached[1]
        doc_ids = store.searchable(scope, all_revisions)
        allowed = None if doc_ids is None else Allowed.build(store, doc_ids)
        self._allowed_cache[key[:3]] = (key, allowed)
        if len(self._allowed_cache) > 8:
            self._allowed_cache.pop(next(iter(self._allowed_cache)))
        return allowed

    def ocr_words(self, doc_id: str, page: int) -> str | None:
        """The OCR word boxes of a scanned page (JSON), or None for a page with a text layer."""
        with self._lock:
            return self._store().ocr_words(doc_id, page)

    def context(self, passage: Passage) -> PageContext:
        """The page (or section) a passage came from, with where the passage sits in it."""
        from dataclasses import replace

        with self._lock:
            views = self._store().page_texts(passage.doc_id, passage.page)
            record = self._store().document(passage.doc_id)
        return replace(page_context(passage, views), kind=record.kind if record else "")

    def next_page(self, passage: Passage) -> str | None:
        """The text of the page after the passage's page: where a sentence cut by the page break goes on."""
        if passage.page is None:
            return None
        with self._lock:
            views = self._store().page_texts(passage.doc_id, passage.page + 1)
        return views[0][2] if views else None

    def resolve(self, ref: str) -> list[DocumentRecord]:
        """Documents matching an id, a file name or a path."""
        with self._lock:
            return [d for d in self._store().documents() if ref in (d.id, d.name, d.path, d.doc_key)]

    def forget_filters(self) -> None:
        """Search filters are cached until the index changes; a change made through the store says so here."""
        self._allowed_cache.clear()

    def absent_terms(self, terms: list[str]) -> list[str]:
        """The terms no passage of the library holds (Porter-stemmed, as the keyword index matches)."""
        with self._lock:
            return [t for t in terms if self._store().match_count('"' + t.replace('"', "") + '"', 1) == 0]

    def question_vector(self, question: str) -> Vectors:
        """The question's vector, embedded once: search and the answer's chooser both need it."""
        cached = self._last_question
        if cached is not None and cached[0] == question:
            return cached[1]
        vector = self.embedder.encode_one(question)
        self._last_question = (question, vector)
        return vector

    def encode(self, texts: list[str]) -> Vectors:
        """Unit vectors for texts (the embedder the index was built with)."""
        return self.embedder.encode(texts)

    def search(
        self, question: str, k: int | None = None, scope: Scope | None = None, all_revisions: bool = False
    ) -> list[Passage]:
        """The best passages of the current revisions (all revisions when asked), within `scope` if given."""
        k = k or self.settings.search_k
        with self._lock:
            if self._store().counts()["chunks"] == 0:
                return []
        single_threaded_numpy()  # once per process, on the first search: commands that never search skip numpy
        vector = self.question_vector(question)
        with self._lock:
            allowed = self._allowed(scope, all_revisions)
            return hybrid_search(self._store(), vector, question, k, allowed)
