"""Dense vectors in Chroma: an on-disk PersistentClient by default, or a Chroma server for a whole site.

Chroma holds only vectors keyed by chunk id; the passages themselves live in SQLite, which is the source
of truth. A vector whose chunk is gone is ignored by search and swept by
`KnowledgeBase.reconcile`. Telemetry is off.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldmind.errors import StoreError

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

COLLECTION = "chunks"


def chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


@functools.cache
def single_threaded_numpy() -> None:
    """Run numpy's own OpenBLAS on one thread, once per process; torch's thread pools are left alone.

    A search multiplies at most some thousands of vectors by one question; OpenBLAS's worker threads then
    spin for a while and, on 2 cores, starve the ONNX embedder of the next question: a search scoped to 10%
    of 100,000 passages measured p95 41 ms with them and 16 ms without (bench/scale.py).
    """
    import numpy  # noqa: F401  (loads the library to limit)
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().select(user_api="blas", prefix="libscipy_openblas").limit(limits=1)


def forget_clients() -> None:
    """Drop Chroma's in-process client cache, so a rebuilt directory is opened afresh."""
    try:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
    except Exception:
        pass


class VectorStore:
    """One Chroma collection of passage vectors (cosine space)."""

    def __init__(self, client: Any, collection_name: str = COLLECTION) -> None:
        self._client = client
        self._name = collection_name
        self._collection = client.get_or_create_collection(
            collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        self._batch = max(1, min(int(client.get_max_batch_size()), 4096))

    @classmethod
    def embedded(cls, path: Path) -> VectorStore:
        import chromadb

        path.mkdir(parents=True, exist_ok=True)
        try:
            return cls(chromadb.PersistentClient(path=str(path), settings=chroma_settings()))
        except Exception as exc:
            raise StoreError(f"{path}: cannot open the vector store ({exc})") from exc

    def upsert(self, ids: Sequence[int], vectors: Vectors) -> None:
        for start in range(0, len(ids), self._batch):
            self._collection.upsert(
                ids=[str(i) for i in ids[start : start + self._batch]],
                embeddings=vectors[start : start + self._batch],
            )

    def delete(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), self._batch):
            self._collection.delete(ids=[str(i) for i in ids[start : start + self._batch]])

    def query(self, vector: Vectors, n: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first; `n` must not exceed the number of vectors."""
        if n <= 0:
            return []
        try:
            result = self._collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        except Exception as exc:  # Chroma's own words ("Error executing plan: …") mean nothing to a technician
            raise StoreError(
                f"the index could not be searched ({type(exc).__name__}); ask again, and if it persists restart "
                f"Fieldmind: it checks and repairs the index at start"
            ) from exc
        return [(int(i), 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def similarities(self, ids: Sequence[int], vector: Vectors) -> dict[int, float]:
        """Exact cosine similarity of the query to each stored vector in `ids` (those that exist)."""
        import numpy as np

        if not ids:
            return {}
        got = self._collection.get(ids=[str(i) for i in ids], include=["embeddings"])
        if not len(got["ids"]):
            return {}
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        return {int(i): float(s) for i, s in zip(got["ids"], scores, strict=True)}

    def vectors(self, ids: Sequence[int]) -> Vectors:
        """The stored vectors of `ids`, in that order (for copying them into a new generation)."""
        import numpy as np

        got = self._collection.get(ids=[str(i) for i in ids], include=["embeddings"])
        by_id = {int(i): e for i, e in zip(got["ids"], got["embeddings"], strict=True)}
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def count(self) -> int:
        return int(self._collection.count())

    def all_ids(self) -> set[int]:
        ids: set[int] = set()
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=10000, offset=offset)
            if not page["ids"]:
                return ids
            ids.update(int(i) for i in page["ids"])
            offset += len(page["ids"])
