"""Conversations kept on the device (`<home>/history.sqlite`): listed, reopened, exported, wiped for real.

Wiping deletes the rows with SQLite's secure_delete on and then VACUUMs, so the file is rewritten and the
old questions are not left in free pages.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldmind.answers.quote import Quote
from fieldmind.citations import place

if TYPE_CHECKING:
    from fieldmind.assistant import Answer
from fieldmind.errors import FieldmindError
from fieldmind.files import write_atomic
from fieldmind.migrations import migrate, use_wal

MIGRATIONS = (
    """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL,
    model TEXT NOT NULL,
    timings TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_conversation ON exchanges(conversation_id);
""",
    # 2: evidence-first answers keep the quote they rest on and the model's short answer.
    """
ALTER TABLE exchanges ADD COLUMN quote TEXT;
ALTER TABLE exchanges ADD COLUMN short_answer TEXT;
""",
)
"""History's schema, step by step (see migrations.py)."""


@dataclass
class Exchange:
    """One question and its answer as saved."""

    question: str
    answer: str
    found: bool
    citations: list[dict[str, Any]]
    model: str = ""
    stopped: bool = False
    timings: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    quote: dict[str, Any] | None = None
    """The verbatim stretch of the manual the answer rests on (`Quote.to_json()`), if one was found."""
    short_answer: str | None = None

    @classmethod
    def of(cls, answer: Answer) -> Exchange:
        """What is kept of an answer: its words, quote, citations, model and timings."""
        return cls(
            answer.question,
            answer.text,
            answer.found,
            [p.citation() for p in answer.citations],
            answer.model,
            answer.stopped,
            answer.timings.to_json(),
            quote=answer.quote.to_json() if answer.quote else None,
            short_answer=answer.short_answer,
        )


@dataclass
class Conversation:
    id: int
    title: str
    created: float
    updated: float
    exchanges: list[Exchange] = field(default_factory=list)


class History:
    """The conversation store. Safe to share between the UI thread and workers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        use_wal(self._db)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA secure_delete=ON")
        migrate(self._db, MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def start(self, title: str) -> int:
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO conversations (title, created, updated) VALUES (?, ?, ?)",
                (title[:120], now, now),
            )
            return int(cursor.lastrowid or 0)

    def add(self, conversation_id: int, exchange: Exchange) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO exchanges (conversation_id, question, answer, found, stopped, citations, model, "
                "timings, created, quote, short_answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    exchange.question,
                    exchange.answer,
                    int(exchange.found),
                    int(exchange.stopped),
                    json.dumps(exchange.citations),
                    exchange.model,
                    json.dumps(exchange.timings),
                    now,
                    json.dumps(exchange.quote) if exchange.quote else None,
                    exchange.short_answer,
                ),
            )
            self._db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            self._db.execute("COMMIT")

    def conversations(self) -> list[Conversation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, title, created, updated FROM conversations ORDER BY updated DESC"
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def load(self, conversation_id: int) -> Conversation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, title, created, updated FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                return None
            rows = self._db.execute(
                "SELECT question, answer, found, citations, model, stopped, timings, created, quote, short_answer "
                "FROM exchanges WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        conversation = Conversation(*row)
        conversation.exchanges = [
            Exchange(q, a, bool(f), json.loads(c), m, bool(s), json.loads(t), cr, json.loads(qu) if qu else None, sa)
            for q, a, f, c, m, s, t, cr, qu, sa in rows
        ]
        return conversation

    def delete(self, conversation_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def wipe(self) -> None:
        """Forget every conversation and rewrite the file so nothing is left in it."""
        with self._lock:
            self._db.execute("DELETE FROM exchanges")
            self._db.execute("DELETE FROM conversations")
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def export_markdown(history: History, conversation_id: int, folder: Path) -> Path:
    """Write one conversation as Markdown into `folder` (the chat screen and the history screen both do)."""
    conversation = history.load(conversation_id)
    if conversation is None:
        raise FieldmindError(f"conversation {conversation_id} is no longer in the history; nothing was exported")
    path = folder / f"conversation-{conversation_id}.md"
    write_atomic(path, to_markdown(conversation))
    return path


def to_markdown(conversation: Conversation) -> str:
    """A conversation as Markdown, each answer followed by the pages it cites."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.created))
    lines = [f"# {conversation.title}", "", f"_Fieldmind conversation, {stamp}_", ""]
    for exchange in conversation.exchanges:
        lines += [f"## {exchange.question}", ""]
        if exchange.short_answer:
            lines += [exchange.short_answer, ""]
        if exchange.quote:
            quote = Quote.from_json(exchange.quote)
            lines += ["> " + line for line in quote.shown().splitlines()] + [f"> — {quote.where}", ""]
        elif not exchange.short_answer:
            lines += [exchange.answer + (" _(stopped)_" if exchange.stopped else ""), ""]
        for n, citation in enumerate(exchange.citations, start=1):
            where = place(
                citation["doc"],
                citation.get("page"),
                citation.get("section"),
                last_heading=False,
                revision=citation.get("revision"),
                effective=citation.get("effective"),
            )
            text = " ".join(str(citation.get("text", "")).split())
            lines.append(f"{n}. {where}")
            if text:
                lines.append(f"   > {text[:300]}")
        lines.append("")
    return "\n".join(lines)
