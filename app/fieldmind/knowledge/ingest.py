"""The ingest pipeline: find files, skip unchanged ones by hash, parse, chunk, embed in batches, store.

Passages of several files are embedded together (at least EMBED_BATCH at a time): sentence-transformers
sorts a batch by length and pads less, so ingest keeps up with raw encoding (see bench/scale.py).
Each document is then stored in its own transaction, so a crash loses only documents not yet stored.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fieldmind.citations import printable
from fieldmind.errors import FieldmindError, InputError, StoreError
from fieldmind.files import sha256_file
from fieldmind.knowledge.chunking import SECTION_SEPARATOR, Chunk, chunk_segments
from fieldmind.knowledge.embedder import Embedder
from fieldmind.knowledge.ocr import Recogniser
from fieldmind.knowledge.parsers import READER_VERSION, Segment, kind_of, parse
from fieldmind.knowledge.progress import IngestProgress, ProgressCallback
from fieldmind.knowledge.revisions import DocumentMeta
from fieldmind.knowledge.scans import IngestCancelledError, ScanReader
from fieldmind.knowledge.store import DocumentRecord, document_id
from fieldmind.pace import Pace
from fieldmind.settings import KnowledgeSettings
from fieldmind.sources import LOCAL_LABEL

if TYPE_CHECKING:
    from fieldmind.knowledge.embedder import Vectors

LOCAL = LOCAL_LABEL
EMBED_BATCH = 512


@dataclass
class IngestReport:
    """What an ingest did, in the shape of `fieldmind ingest --json`."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files found in a folder whose type Fieldmind does not read (pictures, archives …): not a failure."""
    cancelled: bool = False

    def skipped_types(self) -> str:
        """The skipped files by type, most first: ".jpg ×3, .zip, (no extension)"."""
        kinds = Counter(Path(name).suffix.lower() for name in self.skipped)
        ordered = sorted(kinds.items(), key=lambda item: (-item[1], not item[0], item[0]))
        return ", ".join((kind or "(no extension)") + ("" if n == 1 else f" ×{n}") for kind, n in ordered)

    def summary(self) -> str:
        """One line for people, the same in the CLI and the library screen."""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, removed {self.removed}; "
            f"{self.chunks} passages"
            + (f"; {len(self.failed)} failed" if self.failed else "")
            + (f"; {len(self.skipped)} skipped ({self.skipped_types()})" if self.skipped else "")
            + (" — cancelled" if self.cancelled else "")
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "failed": self.failed,
            "warnings": self.warnings,
            "skipped": self.skipped,
        }
        if self.cancelled:
            data["cancelled"] = True
        return data


def walk(paths: Iterable[Path], report: IngestReport) -> Iterator[tuple[Path, Path | None]]:
    """(file, folder it was found in) for every file under `paths`; missing paths and loops are reported.

    A folder of manuals holds pictures, archives and notes too: a file found in a folder whose type Fieldmind
    does not read is skipped (and listed), not failed — a file named on its own still fails, saying why."""
    seen_dirs: set[str] = set()
    for given in paths:
        if not given.exists():
            report.failed.append({"path": str(given), "error": "no such file or folder"})
            continue
        if given.is_file():
            yield given.resolve(), None
            continue
        if not given.is_dir():
            report.failed.append({"path": shown(given), "error": not_regular(given)})
            continue
        root = given.resolve()
        for folder, dirs, files in os.walk(root, followlinks=True):
            real = os.path.realpath(folder)
            if real in seen_dirs:
                report.failed.append({"path": folder, "error": "symlink loop; this folder was already read"})
                dirs[:] = []
                continue
            seen_dirs.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                if kind_of(Path(name)) is None:
                    report.skipped.append(shown(Path(folder) / name))
                    continue
                yield Path(folder) / name, root


def _disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in text or "no space left" in text


def _disk_full_error(path: Path) -> StoreError:
    return StoreError(
        f"disk full while storing {shown(path)}: it was not added, and nothing stored before was lost; "
        "free some space and try again"
    )


def shown(path: Path) -> str:
    """A path as text that can always be printed and stored, even when its name is not valid UTF-8: a byte that
    is not UTF-8 is shown as `\\xff` (the byte itself), not as Python's internal `\\udcff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def not_regular(path: Path) -> str:
    """Why a path that is neither a file nor a folder is refused, said plainly."""
    import stat

    try:
        mode = path.lstat().st_mode
    except OSError:
        return "no such file or folder"
    if stat.S_ISLNK(mode) and not path.exists():
        return "a symbolic link to nothing (dangling link)"
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    return f"{kind}, not a document; only regular files are read"


@dataclass
class _Prepared:
    path: Path
    record: DocumentRecord
    chunks: list[Chunk]
    existed: bool
    pages: list[tuple[int | None, str | None, str]]
    ocr: list[tuple[int, float, str]]


def _named_view(stored: Path, name: str) -> Path:
    """Library files are named by hash; parsers pick the format by extension, so give them one."""
    suffix = Path(name).suffix.lower()
    view = stored.with_name(stored.name + suffix)
    if not view.exists():
        try:
            view.hardlink_to(stored)
        except OSError:
            import shutil

            shutil.copyfile(stored, view)
    return view


def page_views(segments: Iterable[Segment]) -> list[tuple[int | None, str | None, str]]:
    """The text of each page (or, without pages, of each section), for showing a passage in context."""
    views: dict[tuple[int | None, str | None], list[str]] = {}
    for segment in segments:
        section = SECTION_SEPARATOR.join(segment.headings) or None
        key = (segment.page, None) if segment.page is not None else (None, section)
        views.setdefault(key, []).append(segment.text.strip())
    return [(page, section, "\n".join(texts)) for (page, section), texts in views.items()]


class DocumentSink(Protocol):
    """Where an ingest puts documents: the knowledge base in use, or a generation being staged."""

    def document(self, doc_id: str) -> DocumentRecord | None: ...

    def store_document(
        self,
        record: DocumentRecord,
        chunks: list[Chunk],
        vectors: Vectors,
        pages: list[tuple[int | None, str | None, str]] | None = None,
        ocr: list[tuple[int, float, str]] | None = None,
    ) -> None: ...

    def set_meta(self, doc_id: str, meta: DocumentMeta) -> None: ...


class IngestBatch:
    """Files prepared one by one, embedded and stored in batches, reported in order."""

    def __init__(
        self,
        sink: DocumentSink,
        embedder: Embedder,
        settings: KnowledgeSettings,
        report: IngestReport,
        progress: ProgressCallback | None,
        total: int,
        recogniser: Recogniser | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sink = sink
        self.recogniser = recogniser
        self.cancelled = cancelled
        self.embedder = embedder
        self.settings = settings
        self.report = report
        self.progress = progress
        self.total = total
        self.done = 0
        self.pending: list[_Prepared] = []
        self.max_bytes = int(settings.max_file_mb * 2**20)

    def add(
        self,
        path: Path,
        source: str,
        identity: tuple[str, str, str] | None = None,
        meta: DocumentMeta | None = None,
    ) -> None:
        """Prepare one file; `identity` (id, name, path) names a document that is not a local file (a pack's);
        `meta` says what the document is (its id across revisions, revision, date, tags)."""
        named = Path(identity[2]) if identity else path  # a pack's file is named by its path in the pack
        try:
            prepared = self._prepare(path, source, identity, meta or DocumentMeta())
        except IngestCancelledError:
            self.report.cancelled = True
            return
        except InputError as exc:
            self._fail(named, exc.reason)
            return
        except OSError as exc:
            self._fail(named, f"cannot read it ({exc.strerror or exc})")
            return
        except StoreError:
            raise  # the index itself is unusable: not this file's fault, and no use trying the next
        except FieldmindError as exc:
            self._fail(named, str(exc))
            return
        except Exception as exc:  # a parser's own error (XMLSyntaxError, …): this file fails, the rest go on
            self._fail(named, f"cannot be read as a document ({type(exc).__name__}: {str(exc)[:200]})")
            return
        if prepared is None:
            self.report.unchanged += 1
            self._tell(path, "unchanged")
            return
        self.pending.append(prepared)
        if sum(len(p.chunks) for p in self.pending) >= EMBED_BATCH:
            self.flush()

    def _prepare(
        self, path: Path, source: str, identity: tuple[str, str, str] | None, meta: DocumentMeta
    ) -> _Prepared | None:
        real = path.resolve()
        if not real.is_file():  # a FIFO, a device, a dangling link: refused before anything opens it
            raise InputError(shown(path), not_regular(path))
        doc_id, name, shown_path = identity or (document_id(source, str(real)), shown(Path(real.name)), shown(real))
        if kind_of(Path(name)) is None:
            parse(Path(name))  # raises the "unsupported file type" error, naming the file
        real = real if identity is None else _named_view(real, name)
        sha = sha256_file(real)
        existing = self.sink.document(doc_id)
        same_bytes = existing is not None and existing.sha256 == sha
        if existing and same_bytes and existing.reader >= READER_VERSION:
            if meta != DocumentMeta():
                self.sink.set_meta(doc_id, meta)  # the same bytes, newly described: nothing to read again
            return None
        kept = existing if same_bytes else None  # read again by a better reader: keeps how it was described
        parsed = parse(real, max_bytes=self.max_bytes, scans=self._scan_reader(path, sha))
        settings = self.settings
        chunks = chunk_segments(parsed.segments, settings.chunk_words, settings.chunk_overlap_words)
        record = DocumentRecord(
            id=doc_id,
            name=name,
            path=shown_path,
            source=source,
            sha256=sha,
            size=real.stat().st_size,
            kind=parsed.kind,
            pages=parsed.pages,
            chunks=len(chunks),
            warnings=parsed.warnings,
            ocr_pages=len(parsed.ocr),
            blank_pages=len(parsed.blank_pages),
            doc_key=meta.doc_id or (kept.doc_key if kept else None),
            title=printable(meta.title or (kept.title if kept else None) or parsed.title or name),
            revision=meta.revision or (kept.revision if kept else None),
            effective=meta.effective or (kept.effective if kept else None),
            tags={**(existing.tags if existing else {}), **meta.tags},
            reader=READER_VERSION,
        )
        ocr = [
            (number, page.confidence, json.dumps([[w.text, *w.box, w.confidence] for w in page.words]))
            for number, page in sorted(parsed.ocr.items())
        ]
        return _Prepared(path, record, chunks, existing is not None, page_views(parsed.segments), ocr)

    def _scan_reader(self, path: Path, sha: str) -> ScanReader | None:
        if self.recogniser is None:
            return None

        def tell(done: int, total: int, per_page: float) -> None:
            if self.progress:
                left = (total - done) * per_page
                self.progress(
                    IngestProgress(self.done, self.total, self.report.chunks, str(path), "reading", done, total, left)
                )

        return ScanReader(self.recogniser, sha, tell, self.cancelled)

    def flush(self) -> None:
        """Embed every pending passage in one call, then store document by document."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        vectors = self._embed([c.embedding_text() for p in pending for c in p.chunks], pending[-1].path)
        offset = 0
        for prepared in pending:
            count = len(prepared.chunks)
            try:
                self.sink.store_document(
                    prepared.record, prepared.chunks, vectors[offset : offset + count], prepared.pages, prepared.ocr
                )
            except (sqlite3.OperationalError, OSError) as exc:
                if _disk_full(exc):
                    raise _disk_full_error(prepared.path) from exc
                raise StoreError(f"cannot write the index while storing {prepared.path} ({exc})") from exc
            except StoreError:
                raise
            except Exception as exc:
                if _disk_full(exc):  # Chroma says it its own way ("InternalError: … database or disk is full")
                    raise _disk_full_error(prepared.path) from exc
                # this document cannot be stored (odd metadata): it fails, the rest go on
                offset += count
                self._fail(prepared.path, f"cannot be stored ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            offset += count
            for warning in prepared.record.warnings:
                self.report.warnings.append({"path": str(prepared.path), "warning": warning})
            self.report.chunks += count
            if prepared.existed:
                self.report.updated += 1
            else:
                self.report.added += 1
            self._tell(prepared.path, "updated" if prepared.existed else "added")

    def _embed(self, texts: list[str], path: Path) -> Vectors:
        """All at once, or EMBED_BATCH at a time with the time left when there are more (a long manual)."""
        if len(texts) <= EMBED_BATCH or self.progress is None:
            return self.embedder.encode(texts)
        import numpy as np

        pace, parts = Pace(len(texts)), []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self.embedder.encode(texts[start : start + EMBED_BATCH]))
            done = min(start + EMBED_BATCH, len(texts))
            chunks = self.report.chunks
            self.progress(
                IngestProgress(self.done, self.total, chunks, str(path), "embedding", done, len(texts), pace.left(done))
            )
        return np.concatenate(parts)

    def _fail(self, path: Path, reason: str) -> None:
        self.report.failed.append({"path": shown(path), "error": reason})
        self._tell(path, "failed")

    def _tell(self, path: Path, outcome: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(IngestProgress(self.done, self.total, self.report.chunks, str(path), outcome))
