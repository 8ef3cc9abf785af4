"""Which revision of a document is current, and which documents a question may draw on (scopes).

A document has a stable id (`GX7500-OSM`), a title, a revision and an effective date, apart from its file
name: from a signed pack's index or from `ingest --doc-id ID --revision R --effective YYYY-MM-DD`. Of the
files that share an id, the newest answers and the others are kept, marked superseded: newer means a later
effective date, then a later revision in natural order (`B` < `C`, `R9` < `R10`); never the file's time.

Documents carry tags (`asset=N123AB`, `model=GX-7500`). A scope (`--scope asset=N123AB`) admits the
documents that match it and the untagged, general ones: a document matches when it has at least one of the
scope's keys and, for every scope key it has, its value is the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from fieldmind.errors import FieldmindError, shown_value

_TAG_KEY = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
_NATURAL = re.compile(r"(\d+)")


@dataclass(frozen=True)
class DocumentMeta:
    """What a publisher or the user says about a document, beyond its bytes."""

    doc_id: str | None = None
    title: str | None = None
    revision: str | None = None
    effective: str | None = None
    """ISO date, YYYY-MM-DD."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.doc_id is not None and not (0 < len(self.doc_id) <= 120 and self.doc_id.isprintable()):
            raise FieldmindError(f"document id {shown_value(self.doc_id)}: 1-120 printable characters")
        if self.revision is not None and not (0 < len(self.revision) <= 40 and self.revision.isprintable()):
            raise FieldmindError(f"revision {shown_value(self.revision)}: 1-40 printable characters")
        if self.effective is not None:
            check_date(self.effective)
        for key, value in self.tags.items():
            check_tag(key, value)


def check_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise FieldmindError(f"effective date {shown_value(text)}: write it as YYYY-MM-DD") from None
    if len(text) != 10:
        raise FieldmindError(f"effective date {shown_value(text)}: write it as YYYY-MM-DD")
    return text


def check_tag(key: str, value: str) -> None:
    if not _TAG_KEY.fullmatch(key):
        raise FieldmindError(
            f"tag key {shown_value(key)}: lower-case letters, digits, '_', '.', '-'; starting with a letter"
        )
    if not (0 < len(value) <= 100 and value.isprintable() and value == value.strip()):
        raise FieldmindError(f"tag {key}={shown_value(value)}: the value is 1-100 printable characters")


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    """`["asset=N123AB", "model=GX-7500"]` -> a dict; a pair without `=` is an error that says so."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise FieldmindError(f"{shown_value(pair)}: write a tag as key=value (e.g. asset=N123AB)")
        check_tag(key.strip(), value.strip())
        tags[key.strip()] = value.strip()
    return tags


def natural(revision: str | None) -> tuple[tuple[int, int | str], ...]:
    """A revision label as a sortable key: digits as numbers, the rest case-folded (`R9` < `R10`)."""
    if not revision:
        return ()
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold()) for part in _NATURAL.split(revision) if part
    )


def newness(effective: str | None, revision: str | None) -> tuple[str, tuple[tuple[int, int | str], ...]]:
    """Sorts older revisions first: effective date, then revision label. No date sorts before any date."""
    return (effective or "", natural(revision))


@dataclass(frozen=True)
class Scope:
    """Tags a question is limited to; empty means every document."""

    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> Scope:
        return cls(parse_tags(pairs))

    def admits(self, tags: Mapping[str, str]) -> bool:
        if not self.tags or not tags:
            return True  # no scope, or a general document
        shared = [key for key in self.tags if key in tags]
        return bool(shared) and all(tags[key] == self.tags[key] for key in shared)

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.tags.items())) or "all documents"

    def __bool__(self) -> bool:
        return bool(self.tags)
