"""What the index stores about documents and passages, as the rest of the app reads them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class DocumentRecord:
    """A stored document: where it came from, its content hash and what was made of it."""

    id: str
    name: str
    path: str
    source: str
    sha256: str
    size: int
    kind: str
    pages: int | None
    chunks: int
    warnings: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    ocr_pages: int = 0
    """Pages whose text came from OCR (scans)."""
    blank_pages: int = 0
    """Pages with no text at all, even after OCR (blank, or a picture without words)."""
    doc_key: str | None = None
    """The document's stable id across revisions (a publisher's `GX7500-OSM`); defaults to `id`."""
    title: str | None = None
    revision: str | None = None
    effective: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    superseded: bool = False
    """A newer revision of the same document is in the library: this one answers only when asked to."""
    reader: int = 0
    """The READER_VERSION that read it (0: before versions were kept)."""

    @property
    def key(self) -> str:
        return self.doc_key or self.id

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> DocumentRecord:
        """A record from stored values, leaving out any this version does not know: a catalogue or a site store
        a newer Fieldmind wrote (one more column) still opens."""
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in known})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "pages": self.pages,
            "chunks": self.chunks,
            "source": self.source,
            "ocr_pages": self.ocr_pages,
            "blank_pages": self.blank_pages,
            "doc_id": self.key,
            "title": self.title or self.name,
            "revision": self.revision,
            "effective": self.effective,
            "tags": dict(self.tags),
            "superseded": self.superseded,
        }


CHUNK_COLUMNS = (
    "c.id, c.doc_id, d.name AS doc, c.page, c.section, c.text, o.confidence AS ocr, "
    "d.doc_key AS document, d.title, d.revision, d.effective, d.tags"
)


@dataclass(frozen=True)
class StoredChunk:
    """A passage as read back for search results and citations."""

    id: int
    doc_id: str
    doc: str
    page: int | None
    section: str | None
    text: str
    ocr: float | None = None
    """The OCR confidence (0-1) of the page this passage was read from; None for a text layer."""
    document: str | None = None
    """The document's stable id (see DocumentRecord.doc_key)."""
    title: str | None = None
    revision: str | None = None
    effective: str | None = None
    tags: str = "{}"
    """The document's tags, as stored (JSON)."""


def document_id(source: str, path: str) -> str:
    """Stable per (source, path): a changed file replaces its old version instead of adding a copy."""
    # surrogateescape: a file name that is not valid UTF-8 (seen on USB sticks) still gets its own id
    return hashlib.sha256(f"{source}\0{path}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
