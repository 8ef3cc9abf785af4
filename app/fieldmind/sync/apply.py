"""Applying an update as one atomic switch between index generations, with a journal for crashes.

1. building: a new generation is staged from the current one (`knowledge.staging`: nothing unchanged is
   embedded again), then the packs' changes are applied to it: removed files go, new or changed files are
   parsed and embedded, unchanged ones only get the new version in their source label.
2. verified: the new generation opens, its counts match the signed index, and known passages are found.
3. switched: `index/CURRENT` names the new generation (one rename). The previous one is kept for rollback.
A killed sync finds the journal next time: `building` is discarded (the device still has the old
knowledge), `verified` is switched to, `switched` is finished.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldmind.errors import FieldmindError
from fieldmind.knowledge import generations
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.staging import StagedFile, StagedGeneration
from fieldmind.sources import DocumentSource
from fieldmind.sync.metadata import PackEntry
from fieldmind.sync.state import SyncPaths, audit, write_json

CRASH_ENV = "FIELDMIND_SYNC_CRASH_AT"
"""Fault injection for tests: the apply step at which to die with SIGKILL."""


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def pack_source(name: str, version: int) -> str:
    return DocumentSource.pack(name, version).label


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


class PackRefusedError(FieldmindError):
    """A signed pack holding a document that cannot be read: the pack is refused whole, never half-applied."""

    def __init__(self, name: str, version: int, reason: str) -> None:
        super().__init__(f"pack {name} v{version} refused: {reason}")
        self.name = name
        self.version = version
        self.reason = reason


def build(
    current: KnowledgeBase, changes: list[PackChange], paths: SyncPaths, journal: dict[str, Any]
) -> StagedGeneration:
    """Stage the new generation and apply the packs to it; returns it (not yet verified or switched)."""
    staged = StagedGeneration(current, journal["new"])
    crash_point("copied")
    for change in changes:
        _apply_pack(staged, change, paths)
        if change.failed:
            staged.close()
            first = change.failed[0]
            raise PackRefusedError(change.name, change.version, f"{first['path']}: {first['error']}")
        staged.record_pack(change.name, change.version, len(change.entry.files), journal.get("key_id"))
    crash_point("applied")
    return staged


def _apply_pack(staged: StagedGeneration, change: PackChange, paths: SyncPaths) -> None:
    collection = f"pack:{change.name}"
    source = pack_source(change.name, change.version)
    wanted = {f.path: f for f in change.entry.files}
    present = {d.path: d for d in staged.documents(collection + "@")}
    for path, record in present.items():
        if path not in wanted:
            change.removed += staged.remove(record.id)
    new_files = []
    for path, item in wanted.items():
        stored = present.get(path)
        if stored is not None and stored.sha256 == item.sha256:
            staged.relabel(stored.id, source, item.meta())
        else:
            new_files.append(StagedFile(paths.library / item.sha256, path, item.sha256, item.meta()))
    report, written = staged.add(new_files, source, collection)
    change.changed.extend(written)
    change.added, change.updated = report.added, report.updated
    change.failed = report.failed


def verify(staged: StagedGeneration, changes: list[PackChange]) -> None:
    """The new generation holds exactly the signed files and finds its own passages."""
    expected = {pack_source(c.name, c.version): {f.sha256 for f in c.entry.files} for c in changes}
    staged.verify(expected, {doc_id for change in changes for doc_id in change.changed})


def switch(index_dir: Path, journal: dict[str, Any], paths: SyncPaths) -> None:
    journal["state"] = "verified"
    write_json(paths.journal, journal)
    crash_point("verified")
    generations.switch(index_dir, journal["new"])
    journal["state"] = "switched"
    write_json(paths.journal, journal)
    crash_point("switched")


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
    if state == "building" or (state == "verified" and not generations.exists(index_dir, str(new))):
        generations.discard(index_dir, str(new or ""))
        outcome = "rolled back an unfinished update"
    else:
        if state == "verified":
            generations.switch(index_dir, str(new))
            outcome = "finished an update that was verified before the interruption"
        else:
            outcome = "finished recording an update"
        _audit_completed(paths, journal)
    generations.keep_only(index_dir, {str(old)})
    paths.journal.unlink(missing_ok=True)
    return outcome
