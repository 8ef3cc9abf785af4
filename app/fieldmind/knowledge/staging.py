"""A generation staged beside the current one: changed freely, invisible to searches until switched to.

It starts as an exact copy of the current generation (the catalogue by SQLite's backup, vectors copied by id,
so nothing unchanged is embedded again). Documents are then removed, relabelled or added; `verify` checks it
holds exactly what was meant; `generations.switch` makes it current. The caller keeps the journal that says
how far it got (sync's), and holds the knowledge base's write lock throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldmind.errors import FieldmindError
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.ingest import IngestBatch, IngestReport
from fieldmind.knowledge.revisions import DocumentMeta
from fieldmind.knowledge.store import DocumentRecord, document_id


@dataclass(frozen=True)
class StagedFile:
    """A file to put in the staged generation under a name of its own (a pack's path), not its file name."""

    content: Path
    path: str
    sha256: str
    meta: DocumentMeta = field(default_factory=DocumentMeta)


class StagedGeneration:
    def __init__(self, current: KnowledgeBase, name: str) -> None:
        self.name = name
        self._kb = KnowledgeBase(current.index_dir, current.settings, current.embedder, generation=name)
        target = current.index_dir / name
        target.mkdir(parents=True, exist_ok=True)
        with current.locked_store() as source:
            source.copy_catalog_to(target / "catalog.sqlite")
            ids = sorted(source.chunk_ids())
            with self._kb.locked_store() as staged:
                for start in range(0, len(ids), 2000):
                    part = ids[start : start + 2000]
                    staged.vectors.upsert(part, source.vectors.vectors(part))

    def documents(self, source_prefix: str = "") -> list[DocumentRecord]:
        return [d for d in self._kb.documents() if d.source.startswith(source_prefix)]

    def remove(self, doc_id: str) -> int:
        with self._kb.locked_store() as store:
            return int(store.remove_document(doc_id))

    def relabel(self, doc_id: str, source: str, meta: DocumentMeta | None = None) -> None:
        """Give an unchanged document a new source label (the pack version it now belongs to) and, when the
        publisher describes it anew, its new description."""
        with self._kb.locked_store() as store:
            store.update_source(doc_id, source)
            if meta is not None:
                store.set_meta(doc_id, meta)
                store.set_tags(doc_id, dict(meta.tags))

    def add(self, files: list[StagedFile], source: str, collection: str) -> tuple[IngestReport, list[str]]:
        """Parse, embed and store files; returns the report and the ids of the documents written.

        Ids derive from `collection` (e.g. `pack:manuals`) and the file's path in it, so a file keeps its id
        across versions and a replaced file replaces its passages.
        """
        report = IngestReport()
        kb = self._kb
        batch = IngestBatch(kb, kb.embedder, kb.settings, report, None, len(files), kb.recogniser)
        ids = []
        for item in files:
            doc_id = document_id(collection, item.path)
            ids.append(doc_id)
            batch.add(item.content, source, (doc_id, Path(item.path).name, item.path), item.meta)
        batch.flush()
        return report, ids

    def record_pack(self, name: str, version: int, files: int, key_id: str | None = None) -> None:
        with self._kb.locked_store() as store:
            store.set_pack(name, version, files, key_id)

    def verify(self, expected: dict[str, set[str]], changed: set[str]) -> None:
        """The staged generation opens, holds exactly the expected files (source label → their sha256s),
        has one vector per passage, and search finds passages of the documents just written."""
        documents = self._kb.documents()
        for source, hashes in expected.items():
            held = [d for d in documents if d.source == source]
            if len(held) != len(hashes):
                raise FieldmindError(
                    f"verification failed: {source} has {len(held)} documents, the index lists {len(hashes)}"
                )
            if {d.sha256 for d in held} != hashes:
                raise FieldmindError(f"verification failed: the documents of {source} differ from the index")
        counts = self._kb.counts()
        if counts["vectors"] != counts["chunks"]:
            raise FieldmindError("verification failed: passages and vectors differ in number")
        for doc in [d for d in documents if d.id in changed][:3]:
            with self._kb.locked_store() as store:
                chunks = store.page_chunks(doc.id, None) or [
                    c for page in range(1, (doc.pages or 0) + 1) for c in store.page_chunks(doc.id, page)
                ]
            if not chunks:
                continue
            found = self._kb.search(chunks[0].text[:300], k=5, all_revisions=True)
            if doc.id not in {p.doc_id for p in found}:
                raise FieldmindError(f"verification failed: a passage of {doc.name} is not found by search")
        self._kb.finish_write()  # whole and checked: no "interrupted write" for doctor or the next start

    def close(self) -> None:
        self._kb.close()
