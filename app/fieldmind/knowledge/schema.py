"""The catalogue's schema (`catalog.sqlite` of each index generation), step by step: see migrations.py."""

from __future__ import annotations

MIGRATIONS = (
    """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    pages INTEGER,
    chunks INTEGER NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    section TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER,
    section TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_doc ON pages(doc_id, page);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, section, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS packs (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    files INTEGER NOT NULL,
    applied_at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, section) VALUES (new.id, new.text, new.section);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, section) VALUES ('delete', old.id, old.text, old.section);
END;
""",
    # 2: indexes written before page texts were kept get them from their passages, in order (neighbouring
    # passages overlap a little, so a few words may show twice; re-ingesting the file makes them exact).
    """
INSERT INTO pages (doc_id, page, section, text)
SELECT doc_id, page, NULL, group_concat(text, char(10))
FROM (SELECT doc_id, page, text FROM chunks ORDER BY doc_id, page, ordinal)
WHERE doc_id NOT IN (SELECT DISTINCT doc_id FROM pages)
GROUP BY doc_id, page;
""",
    # 3: scanned pages read by OCR, with the recogniser's confidence and word boxes (to mark a quote on the
    # page picture); per document, how many pages came from OCR and how many had no text at all.
    """
CREATE TABLE IF NOT EXISTS ocr_pages (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    confidence REAL NOT NULL,
    words TEXT NOT NULL,
    PRIMARY KEY (doc_id, page)
);
ALTER TABLE documents ADD COLUMN ocr_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN blank_pages INTEGER NOT NULL DEFAULT 0;
""",
    # 4: a document's identity and revision apart from its file (see revisions.py), its tags, whether a newer
    # revision supersedes it; the publisher key each pack was signed with (for answer cards).
    """
ALTER TABLE documents ADD COLUMN doc_key TEXT;
ALTER TABLE documents ADD COLUMN title TEXT;
ALTER TABLE documents ADD COLUMN revision TEXT;
ALTER TABLE documents ADD COLUMN effective TEXT;
ALTER TABLE documents ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE documents ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET doc_key = id WHERE doc_key IS NULL;
CREATE INDEX IF NOT EXISTS documents_key ON documents(doc_key);
ALTER TABLE packs ADD COLUMN key_id TEXT;
""",
    # 5: which version of the readers read each document, so an improved reader reads an unchanged file again.
    """
ALTER TABLE documents ADD COLUMN reader INTEGER NOT NULL DEFAULT 0;
""",
)
"""The catalogue's schema, step by step (see migrations.py); `PRAGMA user_version` says where a file is."""
