"""Repairs at start: the passages in SQLite are the truth, and the vectors are made to match them.

Chroma keeps its promises only across clean shutdowns: after a kill -9, a power cut or a full disk, vectors of
passages that are gone are deleted and passages whose vectors were lost are embedded again; a Chroma directory
that will not open or answer is moved aside and rebuilt.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from fieldmind.errors import StoreError
from fieldmind.knowledge.chunking import Chunk
from fieldmind.knowledge.embedder import Embedder
from fieldmind.knowledge.store import Store

if TYPE_CHECKING:
    from filelock import BaseFileLock


class Repairable(Protocol):
    """What a repair needs of the knowledge base (`index.KnowledgeBase` is one): its store under the lock, the
    embedder, and a way to close the store and to mark the write whole."""

    @property
    def embedder(self) -> Embedder: ...
    def locked_store(self) -> AbstractContextManager[Store]: ...
    def finish_write(self) -> None: ...
    def close(self) -> None: ...
    def is_empty(self) -> bool: ...
    def interrupted(self) -> bool: ...
    def write_lock(self) -> BaseFileLock: ...


def repair_at_start(kb: Repairable) -> str | None:
    """At start: finish an interrupted write and rebuild a damaged vector store; what was done, or None.

    Repairs write, so they run under the index's write lock, and only when no other process holds it: a
    `.writing` marker seen while another Fieldmind ingests or syncs is that process at work, not a crash
    (reconciling under it once left 804 passages with 800 vectors).
    """
    from filelock import Timeout

    if kb.is_empty():
        return None
    try:
        with kb.write_lock().acquire(timeout=0):
            notes = []
            if kb.interrupted():
                repaired = reconcile(kb)
                notes.append(
                    f"finished an interrupted write ({repaired['pruned']} pruned, {repaired['restored']} restored)"
                )
            problem = check_vectors(kb)
            if problem:
                notes.append(problem)
            return "; ".join(notes) or None
    except Timeout:
        return None  # another process is writing; it finishes its write, or the next start repairs it


def reconcile(kb: Repairable) -> dict[str, int]:
    """Make the vectors match the passages after an interrupted write; returns what was pruned and restored."""
    with kb.locked_store() as store:
        keep = store.chunk_ids()
        present = store.vectors.all_ids()
        stale = sorted(present - keep)
        missing = sorted(keep - present)
        if stale:
            store.vectors.delete(stale)
        for start in range(0, len(missing), 256):
            rows = store.chunk_texts(missing[start : start + 256])
            texts = [Chunk(text, None, section).embedding_text() for _, section, text in rows]
            store.vectors.upsert([cid for cid, _, _ in rows], kb.embedder.encode(texts))
        kb.finish_write()
    return {"pruned": len(stale), "restored": len(missing)}


def check_vectors(kb: Repairable) -> str | None:
    """Detect a damaged or out-of-step vector store and rebuild it; what was done, or None when all was well."""
    with kb.locked_store() as store:  # held throughout: the store is closed and opened again inside
        try:
            vectors = store.vectors
            count = vectors.count()
            if count:
                import numpy as np

                vectors.query(np.zeros(kb.embedder.dimension, dtype=np.float32), 1)
            if count == store.counts()["chunks"]:
                return None
            repaired = reconcile(kb)
            return f"the vector index was out of step; repaired ({repaired['restored']} restored)"
        except ImportError as exc:  # the installation is broken, not the index: rebuilding it would not help
            raise StoreError(
                f"{store.directory / 'chroma'}: a library the vector index needs did not load ({exc}); the index "
                f"is left as it is: reinstall Fieldmind (packaging/setup.sh)"
            ) from exc
        except Exception as exc:  # any failure to open or answer: rebuild
            reason = str(exc).splitlines()[0][:200]
        directory = store.directory / "chroma"
        kb.close()
        from fieldmind.knowledge.vectors import forget_clients

        forget_clients()
        if directory.exists():
            directory.rename(directory.with_name(f"chroma.broken-{int(time.time())}"))
        repaired = reconcile(kb)
    return (
        f"the vector index was damaged ({reason}); rebuilt it from the stored passages "
        f"({repaired['restored']} passages embedded again)"
    )
