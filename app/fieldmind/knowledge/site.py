"""One knowledge store for a whole site, on a Chroma server the site already runs (`chroma run`).

Everything a terminal needs to search a document lives on the server, whole: each passage's text, place and
vector under an id derived from its document and its index (never a local counter, so no terminal can
overwrite another's vectors), and each document's record with its page texts and OCR boxes. Every terminal
keeps a full local copy of the site's documents in its own index, refreshed from the server (a cheap listing,
at most every few seconds): searches run locally — fast, and still answering when the server is gone, from the
copy — and a terminal catches up when the server returns. A terminal's own documents stay local unless it
ingests them with `--site`. Writers take turns: a lease on the server (Chroma keeps the first `add` of an id,
so of two terminals asking at once exactly one gets it); the second is told who is writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fieldmind.errors import FieldmindError, StoreError
from fieldmind.knowledge.chunking import Chunk
from fieldmind.knowledge.ingest import DocumentSink
from fieldmind.knowledge.revisions import DocumentMeta
from fieldmind.knowledge.store import DocumentRecord, Store
from fieldmind.sources import DocumentSource

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from fieldmind.knowledge.embedder import Vectors

PASSAGES = "fieldmind-site-passages"
DOCUMENTS = "fieldmind-site-documents"
CONTROL = "fieldmind-site-control"
LEASE_SECONDS = 600
"""A writer that has not finished (or renewed) after this long is taken to have died."""
REFRESH_SECONDS = 5.0
"""How stale a terminal's copy of the site may be before a search looks again."""
TIMEOUT_SECONDS = 2.0
"""How long a terminal waits for the server before answering from its copy."""


class SiteBusyError(FieldmindError):
    """Another terminal is writing to the site store."""


class SiteOfflineError(StoreError):
    """The site's server does not answer."""


def passage_id(doc_id: str, ordinal: int) -> int:
    """A passage's id on the site: from its document and its place in it, the same on every terminal."""
    return int(hashlib.sha256(f"{doc_id}:{ordinal}".encode()).hexdigest()[:15], 16)


def terminal_id(home: Path) -> str:
    """This terminal's name on the site (kept in its home): which documents it wrote, who holds the lease."""
    path = home / "terminal-id"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        name = f"{uuid.uuid4().hex[:12]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n", encoding="utf-8")
        return name


@dataclass(frozen=True)
class SiteDocument:
    """A document as the site holds it, ready for a terminal's index."""

    record: DocumentRecord
    chunks: list[Chunk]
    vectors: Vectors
    pages: list[tuple[int | None, str | None, str]]
    ocr: list[tuple[int, float, str]]


class Site:
    """The site store on a Chroma server: passages, documents, and the writers' lease."""

    def __init__(self, host: str, port: int, terminal: str) -> None:
        self.host = host
        self.port = port
        self.terminal = terminal
        self._client: Any = None

    @property
    def source(self) -> str:
        """The source label of the documents this terminal writes to the site."""
        return DocumentSource.site(self.terminal).label

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def round_trip_ms(self) -> float:
        """One heartbeat; raises SiteOfflineError within TIMEOUT_SECONDS when the server does not answer."""
        import httpx

        started = time.perf_counter()
        try:
            httpx.get(f"http://{self.host}:{self.port}/api/v2/heartbeat", timeout=TIMEOUT_SECONDS).raise_for_status()
        except (httpx.HTTPError, OSError) as exc:
            self._client = None
            raise SiteOfflineError(f"the site store at {self.where} does not answer ({exc})") from exc
        return (time.perf_counter() - started) * 1000

    def _collection(self, name: str) -> Any:
        if self._client is None:
            import chromadb

            from fieldmind.knowledge.vectors import chroma_settings

            self.round_trip_ms()  # fail fast, within the timeout, rather than in the client's own retries
            try:
                self._client = chromadb.HttpClient(host=self.host, port=self.port, settings=chroma_settings())
            except Exception as exc:
                raise SiteOfflineError(f"cannot reach the site store at {self.where} ({exc})") from exc
        return self._client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})

    def _call(self, name: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._collection(name), method)(**kwargs)
        except SiteOfflineError:
            raise
        except Exception as exc:
            self._client = None
            gone = isinstance(exc, OSError) or "Connect" in type(exc).__name__ or "Timeout" in type(exc).__name__
            what = "does not answer" if gone else "failed"
            raise SiteOfflineError(f"the site store at {self.where} {what} ({type(exc).__name__}: {exc})") from exc

    # -- reading ------------------------------------------------------------------------------------------
    def listing(self) -> dict[str, tuple[str, int]]:
        """Document id -> its content hash and the reader version that read it, for every document on the site."""
        got = self._call(DOCUMENTS, "get", include=["metadatas"])
        return {
            str(i): (str(m.get("sha256", "")), int(m.get("reader") or 0))
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
        }

    def fetch(self, doc_id: str) -> SiteDocument | None:
        """A document whole: its record, passages with their vectors, page texts and OCR boxes."""
        import numpy as np

        got = self._call(DOCUMENTS, "get", ids=[doc_id], include=["documents"])
        if not got["ids"]:
            return None
        data = json.loads(got["documents"][0])
        record = DocumentRecord.from_values(data["record"])
        passages = self._call(
            PASSAGES, "get", where={"doc_id": doc_id}, include=["documents", "metadatas", "embeddings"]
        )
        rows = sorted(
            zip(passages["metadatas"], passages["documents"], passages["embeddings"], strict=True),
            key=lambda row: int(row[0]["ordinal"]),
        )
        if len(rows) != record.chunks:
            return None  # still being written by another terminal: taken next time
        chunks = [Chunk(text, _page(meta.get("page")), meta.get("section") or None) for meta, text, _ in rows]
        vectors = np.asarray([vector for _, _, vector in rows], dtype=np.float32).reshape(len(rows), -1)
        pages = [(p[0], p[1], p[2]) for p in data["pages"]]
        ocr = [(o[0], o[1], o[2]) for o in data["ocr"]]
        return SiteDocument(record, chunks, vectors, pages, ocr)

    def counts(self) -> dict[str, int]:
        return {"documents": int(self._call(DOCUMENTS, "count")), "passages": int(self._call(PASSAGES, "count"))}

    # -- writing (under the lease) ------------------------------------------------------------------------
    def put(self, document: SiteDocument) -> None:
        """Write a document whole: passages first, its record last (a document is on the site once its
        record is; a terminal that dies halfway leaves passages no record points at, replaced next time)."""
        record = document.record
        self.remove(record.id)
        ids = [str(passage_id(record.id, n)) for n in range(len(document.chunks))]
        for start in range(0, len(ids), 256):
            part = slice(start, start + 256)
            self._call(
                PASSAGES,
                "upsert",
                ids=ids[part],
                embeddings=[list(map(float, v)) for v in document.vectors[part]],
                documents=[c.text for c in document.chunks[part]],
                metadatas=[
                    {
                        "doc_id": record.id,
                        "ordinal": start + n,
                        "page": -1 if c.page is None else c.page,
                        "section": c.section or "",
                    }
                    for n, c in enumerate(document.chunks[part])
                ],
            )
        data = {"record": asdict(record), "pages": document.pages, "ocr": document.ocr}
        self._call(
            DOCUMENTS,
            "upsert",
            ids=[record.id],
            embeddings=[[0.0]],
            documents=[json.dumps(data)],
            metadatas=[
                {"sha256": record.sha256, "reader": record.reader, "name": record.name, "terminal": self.terminal}
            ],
        )

    def remove(self, doc_id: str) -> None:
        self._call(DOCUMENTS, "delete", ids=[doc_id])
        self._call(PASSAGES, "delete", where={"doc_id": doc_id})

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Be the site's one writer for the block, or be told who is."""
        now = time.time()
        token = uuid.uuid4().hex
        mine = {"terminal": self.terminal, "token": token, "since": now, "expires": now + LEASE_SECONDS}
        for _attempt in range(2):
            self._call(CONTROL, "add", ids=["writer"], embeddings=[[0.0]], metadatas=[mine])
            held = self._call(CONTROL, "get", ids=["writer"], include=["metadatas"])["metadatas"]
            holder = held[0] if held else {}
            if holder.get("token") == token:
                break
            if holder.get("terminal") == self.terminal:  # this terminal's own, left by a writer that died here
                self._call(CONTROL, "delete", ids=["writer"])  # (two writers of one home never run: write lock)
                continue
            if held and float(holder.get("expires", 0)) < time.time():  # its writer died: take over
                self._call(CONTROL, "delete", ids=["writer"])
                continue
            since = time.strftime("%H:%M:%S", time.localtime(float(holder.get("since", now))))
            raise SiteBusyError(
                f"terminal {holder.get('terminal', '?')} is writing to the site store (since {since}); "
                "try again when it has finished"
            )
        else:
            raise SiteBusyError("another terminal took the site store's lease first; try again")
        try:
            yield
        finally:
            # the server gone: the lease expires, or this terminal takes it back next time
            with contextlib.suppress(SiteOfflineError):
                self._call(CONTROL, "delete", ids=["writer"])


def _page(value: Any) -> int | None:
    page = int(value) if value is not None else -1
    return None if page < 0 else page


def is_site(record: DocumentRecord) -> bool:
    return DocumentSource.parse(record.source).is_site


class SiteCopy(DocumentSink, Protocol):
    """The knowledge base that keeps this terminal's copy of the site (`index.KnowledgeBase` is one)."""

    def documents(self) -> list[DocumentRecord]: ...
    def locked_store(self) -> AbstractContextManager[Store]: ...
    def write_lock(self) -> BaseFileLock: ...
    def forget_filters(self) -> None: ...
    def finish_write(self) -> None: ...


class SiteSink:
    """Where `ingest --site` puts a document: the site's store, then this terminal's copy."""

    def __init__(self, kb: DocumentSink, site: Site) -> None:
        self.kb = kb
        self.site = site

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.kb.document(doc_id)

    def store_document(
        self,
        record: DocumentRecord,
        chunks: list[Chunk],
        vectors: Vectors,
        pages: list[tuple[int | None, str | None, str]] | None = None,
        ocr: list[tuple[int, float, str]] | None = None,
    ) -> None:
        self.site.put(SiteDocument(record, list(chunks), vectors, list(pages or []), list(ocr or [])))
        self.kb.store_document(record, chunks, vectors, pages, ocr)

    def set_meta(self, doc_id: str, meta: DocumentMeta) -> None:
        self.kb.set_meta(doc_id, meta)


def mirror(kb: SiteCopy, site: Site) -> int:
    """Copy into `kb` the site documents it lacks or holds an older version of, and drop the ones the site
    no longer has; returns how many changed. Raises SiteOfflineError when the server does not answer."""
    listing = site.listing()
    local = {d.id: d for d in kb.documents() if is_site(d)}
    changed = 0
    for doc_id, (sha, reader) in listing.items():
        if doc_id in local and local[doc_id].sha256 == sha and local[doc_id].reader >= reader:
            continue
        document = site.fetch(doc_id)
        if document is None:
            continue
        kb.store_document(document.record, document.chunks, document.vectors, document.pages, document.ocr)
        changed += 1
    for doc_id in local.keys() - listing.keys():
        with kb.locked_store() as store:
            store.remove_document(doc_id)
        changed += 1
    return changed


def refresh_copy(kb: SiteCopy, site: Site, previous: str) -> str:
    """Refresh `kb`'s copy of the site (see `mirror`) unless this terminal is writing; the new site state."""
    from filelock import Timeout

    lock = kb.write_lock()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return previous  # this terminal is writing: it refreshes after
    try:
        if mirror(kb, site):
            kb.forget_filters()
        return "online"
    except SiteOfflineError as exc:
        return f"offline: answering from this terminal's copy ({exc})"
    finally:
        kb.finish_write()
        lock.release()
