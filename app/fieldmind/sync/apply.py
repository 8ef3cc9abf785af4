"""Applying an update as one atomic switch between index generations, with a journal for crashes.

1. building: a new generation is made from the current one (catalogue copied with SQLite's backup,
   vectors copied by id, so nothing unchanged is embedded again), then the packs' changes are applied to
   it: removed files go, new or changed files are parsed and embedded, unchanged ones only get the new
   version in their source label.
2. verified: the new generation opens, its counts match the signed index, and known passages are found.
3. switched: `index/CURRENT` names the new generation (one rename). The previous one is kept for rollback.
A killed sync finds the journal next time: `building` is discarded (the device still has the old
knowledge), `verified` is switched to, `switched` is finished.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldmind.errors import FieldmindError
from fieldmind.files import write_atomic
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.ingest import IngestBatch, IngestReport
from fieldmind.knowledge.store import current_generation, document_id, switch_generation
from fieldmind.sync.metadata import PackEntry
from fieldmind.sync.state import SyncPaths, audit, write_json

CRASH_ENV = "FIELDMIND_SYNC_CRASH_AT"
"""Fault injection for tests: the apply step at which to die with SIGKILL."""


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def pack_source(name: str, version: int) -> str:
    return f"pack:{name}@{version}"


@dataclass
class PackChange:
    name: str
    version: int
    entry: PackEntry
    added: int = 0
    updated: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Ids of the documents added or replaced (verification looks them up)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
        }


def next_generation(index_dir: Path) -> str:
    """A generation name never used before, not even by one rolled back: Chroma keeps a client per directory
    in the process, and one opened on a removed directory answers "attempt to write a readonly database"."""
    existing = [p.name for p in index_dir.glob("g[0-9]*") if p.is_dir()]
    counter = index_dir / "LAST_GENERATION"
    try:
        last = int(counter.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        last = 0
    number = max([last, *(int(name[1:]) for name in existing if name[1:].isdigit())]) + 1
    write_atomic(counter, f"{number}\n")
    return f"g{number:06d}"


def _copy_generation(current: KnowledgeBase, target: KnowledgeBase) -> None:
    """The new generation starts as an exact copy of the current one; vectors are copied, not re-embedded."""
    target_dir = target.index_dir / (target.pinned or "")
    target_dir.mkdir(parents=True, exist_ok=True)
    current.store.copy_catalog_to(target_dir / "catalog.sqlite")
    ids = sorted(current.store.chunk_ids())
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        target.store.vectors.upsert(part, current.store.vectors.vectors(part))


class PackRefusedError(FieldmindError):
    """A signed pack holding a document that cannot be read: the pack is refused whole, never half-applied."""

    def __init__(self, name: str, version: int, reason: str) -> None:
        super().__init__(f"pack {name} v{version} refused: {reason}")
        self.name = name
        self.version = version
        self.reason = reason


def build(
    current: KnowledgeBase, changes: list[PackChange], paths: SyncPaths, journal: dict[str, Any]
) -> KnowledgeBase:
    """Make and fill the new generation; returns it (not yet verified or switched)."""
    index_dir = current.index_dir
    generation = journal["new"]
    target = KnowledgeBase(index_dir, current.settings, current.embedder, generation=generation)
    _copy_generation(current, target)
    crash_point("copied")
    for change in changes:
        _apply_pack(target, change, paths)
        if change.failed:
            target.close()
            first = change.failed[0]
            raise PackRefusedError(change.name, change.version, f"{first['path']}: {first['error']}")
        target.store.set_pack(change.name, change.version, len(change.entry.files))
    crash_point("applied")
    return target


def _apply_pack(target: KnowledgeBase, change: PackChange, paths: SyncPaths) -> None:
    key = f"pack:{change.name}"
    source = pack_source(change.name, change.version)
    wanted = {f.path: f for f in change.entry.files}
    present = {d.path: d for d in target.store.documents() if d.source.startswith(key + "@")}
    for path, record in present.items():
        if path not in wanted:
            change.removed += target.store.remove_document(record.id)
    report = IngestReport()
    batch = IngestBatch(target, report, None, len(wanted))
    for path, item in wanted.items():
        stored = present.get(path)
        if stored is not None and stored.sha256 == item.sha256:
            target.store.update_source(stored.id, source)
            continue
        identity = (document_id(key, path), Path(path).name, path)
        change.changed.append(identity[0])
        batch.add(paths.library / item.sha256, source, identity)
    batch.flush()
    change.added, change.updated = report.added, report.updated
    change.failed = report.failed


def verify(target: KnowledgeBase, changes: list[PackChange]) -> None:
    """The new generation opens, holds exactly the signed files, and finds its own passages."""
    store = target.store
    for change in changes:
        docs = [d for d in store.documents() if d.source == pack_source(change.name, change.version)]
        if len(docs) != len(change.entry.files):
            raise FieldmindError(
                f"verification failed: pack {change.name} has {len(docs)} documents, the index lists "
                f"{len(change.entry.files)}"
            )
        if {d.sha256 for d in docs} != {f.sha256 for f in change.entry.files}:
            raise FieldmindError(f"verification failed: pack {change.name}'s documents differ from the index")
    chunk_ids = store.chunk_ids()
    if store.vectors.count() != len(chunk_ids):
        raise FieldmindError("verification failed: passages and vectors differ in number")
    changed = {doc_id for change in changes for doc_id in change.changed}
    probes = [d for d in store.documents() if d.id in changed]
    for doc in probes[:3]:
        chunks = store.page_chunks(doc.id, None) or [
            c for page in range(1, (doc.pages or 0) + 1) for c in store.page_chunks(doc.id, page)
        ]
        if not chunks:
            continue
        found = target.search(chunks[0].text[:300], k=5)
        if doc.id not in {p.doc_id for p in found}:
            raise FieldmindError(f"verification failed: a passage of {doc.name} is not found by search")


def switch(index_dir: Path, journal: dict[str, Any], paths: SyncPaths) -> None:
    journal["state"] = "verified"
    write_json(paths.journal, journal)
    crash_point("verified")
    switch_generation(index_dir, journal["new"])
    journal["state"] = "switched"
    write_json(paths.journal, journal)
    crash_point("switched")


def cleanup(index_dir: Path, keep: set[str]) -> None:
    """Drop generations other than the current and the previous one."""
    for folder in index_dir.glob("g[0-9]*"):
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _audit_completed(paths: SyncPaths, journal: dict[str, Any]) -> None:
    """The "applied" records a killed sync did not write: the recovery that completes an update says so."""
    from datetime import datetime

    for name, version in (journal.get("packs") or {}).items():
        audit(
            paths,
            {
                "time": datetime.now().astimezone(),
                "source": journal.get("source"),
                "event": "applied",
                "pack": name,
                "version": version,
                "serial": journal.get("serial"),
                "recovered": True,
            },
        )


def recover(index_dir: Path, paths: SyncPaths) -> str | None:
    """Finish or undo an update a killed sync left behind; returns what was done."""
    import json

    try:
        journal = json.loads(paths.journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    state, new, old = journal.get("state"), journal.get("new"), journal.get("old")
    if state == "building" or (state == "verified" and not (index_dir / str(new)).is_dir()):
        if new and new != current_generation(index_dir):
            shutil.rmtree(index_dir / new, ignore_errors=True)
        outcome = "rolled back an unfinished update"
    else:
        if state == "verified":
            switch_generation(index_dir, new)
            outcome = "finished an update that was verified before the interruption"
        else:
            outcome = "finished recording an update"
        _audit_completed(paths, journal)
    cleanup(index_dir, {current_generation(index_dir), str(old)})
    paths.journal.unlink(missing_ok=True)
    return outcome
