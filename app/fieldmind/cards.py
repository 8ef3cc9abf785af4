"""An answer card: an answer carried out of the app into a work order, with where it came from.

Everything on it is read from the answer and the library at the time it is made: the question, the answer as
shown, the quote word for word, the document's title, id, revision, effective date and page, and its
provenance — the signed pack (name, version, the fingerprint of the publisher key that signed it) or, for a
local file, "local file" and the file's sha256 — then the model and the time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fieldmind import __version__
from fieldmind.citations import printable
from fieldmind.errors import FieldmindError
from fieldmind.sources import DocumentSource

if TYPE_CHECKING:
    from fieldmind.assistant import Answer
    from fieldmind.knowledge.reading import KnowledgeReader


@dataclass(frozen=True)
class AnswerCard:
    question: str
    answer: str
    quote: str
    document: str
    """The document's title."""
    doc_id: str
    revision: str | None
    effective: str | None
    page: int | None
    section: str | None
    source: str
    """`pack fleet-a v7` or `local file`."""
    publisher_key: str | None
    """The fingerprint (key id) of the publisher key that signed the pack; None for a local file."""
    file_sha256: str
    model: str
    time: str
    engine: str = "local"
    """Where the model ran: "local", or "server" (a site's inference server)."""
    fieldmind: str = __version__

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        revision = " ".join(
            part for part in (f"rev. {self.revision}" if self.revision else "", self.effective or "") if part
        )
        lines = [
            f"## {self.question}",
            "",
            self.answer,
            "",
            *("> " + line for line in _quoted(self.quote)),
            "",
            "| | |",
            "| --- | --- |",
            f"| Document | {self.document} (`{self.doc_id}`) |",
            f"| Revision | {revision or 'not stated'} |",
            f"| Page | {_page(self.page, self.section)} |",
            f"| DocumentSource | {self.source} |",
        ]
        if self.publisher_key:
            lines.append(f"| Publisher key | `{self.publisher_key}` |")
        lines += [
            f"| File sha256 | `{self.file_sha256}` |",
            f"| Model | {self.model or '—'}{' (site server)' if self.engine == 'server' else ''} |",
            f"| Time | {self.time} |",
            f"| Fieldmind | {self.fieldmind} |",
            "",
        ]
        return "\n".join(lines)

    def render(self, form: str) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) if form == "json" else self.to_markdown()


def _quoted(quote: str) -> list[str]:
    """The quote's lines for Markdown: a table row under its header row as a real table (with the separator row
    Markdown needs, or it shows as text with bars), anything else as it is."""
    lines = quote.splitlines()
    cells = [len(line.split(" | ")) for line in lines]
    if len(lines) < 2 or cells[0] < 2 or len(set(cells)) != 1:
        return lines
    rows = [f"| {line} |" for line in lines]
    return [rows[0], "|" + " --- |" * cells[0], *rows[1:]]


def _page(page: int | None, section: str | None) -> str:
    parts = [f"page {page}" if page is not None else "", section or ""]
    return " — ".join(p for p in parts if p) or "—"


def card_for(answer: Answer, knowledge: KnowledgeReader, when: datetime | None = None) -> AnswerCard:
    """The card of a found answer; an answer without a quote has nothing to carry."""
    quote = answer.quote
    if quote is None:
        raise FieldmindError("no answer card: the answer was not found in your documents")
    record = knowledge.document(quote.doc_id)
    if record is None:
        raise FieldmindError("no answer card: the quoted document has left the library since")
    origin = DocumentSource.parse(record.source)
    source, key = origin.describe(), knowledge.pack_key(origin.name) if origin.is_pack else None
    return AnswerCard(
        question=answer.question,
        answer=answer.short_answer or quote.shown(),
        quote=quote.shown(),
        document=printable(record.title or record.name),
        doc_id=record.key,
        revision=record.revision,
        effective=record.effective,
        page=quote.page,
        section=printable(quote.section) if quote.section else None,
        source=source,
        publisher_key=key,
        file_sha256=record.sha256,
        model=answer.model,
        engine=answer.engine,
        time=(when or datetime.now().astimezone()).isoformat(timespec="seconds"),
    )
