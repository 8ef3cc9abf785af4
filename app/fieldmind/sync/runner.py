"""One sync: check trust, freshness and versions, fetch what changed, apply it atomically, record it.

Only one sync runs at a time (a lock); it holds the index write lock while it builds and switches, so a
local ingest waits rather than being lost. Queries go on against the current generation throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from filelock import FileLock, Timeout

from fieldmind.errors import FieldmindError
from fieldmind.knowledge import generations
from fieldmind.knowledge.index import DocumentRecord, KnowledgeBase
from fieldmind.pace import Pace, duration
from fieldmind.settings import Settings
from fieldmind.sources import DocumentSource
from fieldmind.sync import apply, keys
from fieldmind.sync.fetch import (
    FILE_GRACE_S,
    MIN_RATE,
    IntegrityError,
    Source,
    SyncError,
    TransientError,
    open_source,
)
from fieldmind.sync.metadata import MetadataError, PackEntry, SiteIndex, utcnow, verify_index
from fieldmind.sync.state import SyncPaths, SyncState, audit, write_json


class SyncTarget(Protocol):
    """What a sync needs: the settings (source, trusted keys, bounds, home) and the knowledge base it writes.
    The app's `Services` is one; sync knows nothing else of it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def knowledge(self) -> KnowledgeBase: ...


RETRIES = 4


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync is: checking the site, downloading file `done` of `total` (with the time left), applying."""

    stage: str
    done: int = 0
    total: int = 0
    seconds_left: float | None = None

    def describe(self) -> str:
        if self.stage != "downloading":
            return self.stage
        left = f", about {duration(self.seconds_left)} left" if self.seconds_left else ""
        return f"downloading {self.done}/{self.total}{left}"


Progress = Callable[[SyncProgress], None]


@dataclass
class SyncResult:
    """What a sync did, in the shape of `fieldmind sync --json`."""

    source: str
    applied: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    up_to_date: bool = False
    last_verified: str | None = None
    recovered: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "applied": self.applied,
            "rejected": self.rejected,
            "up_to_date": self.up_to_date,
            "last_verified": self.last_verified,
        }
        if self.recovered:
            data["recovered"] = self.recovered
        return data

    def state_text(self) -> str:
        if self.rejected and not self.applied:
            return f"rejected: {self.rejected[0]['reason']}"[:60]
        stamp = (self.last_verified or "")[:16].replace("T", " ")
        return f"up to date as of {stamp}" if stamp else "up to date"


def trusted_keys(services: SyncTarget) -> dict[str, Any]:
    return {k.id: keys.public_from_b64(k.key) for k in services.settings.sync.trusted_keys}


def run_sync(services: SyncTarget, source: str | None = None, progress: Progress | None = None) -> SyncResult:
    """Pull signed updates from `source` (default: the configured one) and apply them."""
    spec = source or services.settings.sync.source
    if not spec:
        raise FieldmindError("no sync source: pass --source URL|DIR or set sync.source in config.toml")
    paths = SyncPaths(services.settings.home)
    paths.ensure()
    tell = progress or (lambda _text: None)
    try:
        with FileLock(str(paths.lock), timeout=0):
            return _locked_sync(services, spec, paths, tell)
    except Timeout:
        raise SyncError("another sync is running on this device; try again when it has finished") from None


def _locked_sync(services: SyncTarget, spec: str, paths: SyncPaths, tell: Progress) -> SyncResult:
    kb = services.knowledge
    result = SyncResult(source=spec)
    with kb.writing():
        result.recovered = apply.recover(kb.index_dir, paths)
    state = SyncState.load(paths.state)
    state.raise_floors(kb.pack_versions())
    now = utcnow()
    if not state.clock_ok(now):
        raise SyncError(
            f"this device's clock ({now:%Y-%m-%d %H:%M}) is behind the last time seen ({state.last_seen_time}); "
            "fix the clock, then sync again"
        )
    state.saw(now)
    tell(SyncProgress("checking"))
    site = open_source(spec)
    try:
        index = _fetch_index(site, trusted_keys(services), result)
        if index is None:
            return _finish(state, paths, result)
        if index.expired(now):
            result.rejected.append({"name": "*", "reason": f"metadata expired at {index.expires:%Y-%m-%d %H:%M} UTC"})
            audit(
                paths, {"time": now, "source": spec, "event": "rejected", "reason": "expired", "serial": index.serial}
            )
            return _finish(state, paths, result)
        before = len(result.rejected)
        changes = _decide(index, state, services, result)
        for refused in result.rejected[before:]:  # rollbacks: the audit says what was refused and why
            audit(
                paths,
                {
                    "time": now,
                    "source": spec,
                    "event": "rejected",
                    "pack": refused["name"],
                    "version": index.packs[refused["name"]].version,
                    "reason": refused["reason"],
                    "serial": index.serial,
                },
            )
        if not changes:
            result.up_to_date = not result.rejected
            state.last_verified = now.isoformat()
            return _finish(state, paths, result)
        _download(site, changes, paths, tell, services.settings.sync.max_pack_mb)
        tell(SyncProgress("applying"))
        while changes:
            try:
                _apply(kb, changes, paths, spec, index, result)
                break
            except apply.PackRefusedError as refused:  # the others still apply; the refused one is reported
                result.rejected.append({"name": refused.name, "reason": refused.reason})
                audit(
                    paths,
                    {
                        "time": datetime.now().astimezone(),
                        "source": spec,
                        "event": "rejected",
                        "pack": refused.name,
                        "version": refused.version,
                        "reason": refused.reason,
                        "serial": index.serial,
                    },
                )
                changes = [c for c in changes if c.name != refused.name]
        state.raise_floors({c.name: c.version for c in changes})
        state.last_verified = now.isoformat()
        result.up_to_date = not result.rejected
    finally:
        if hasattr(site, "close"):
            site.close()
    return _finish(state, paths, result)


def _finish(state: SyncState, paths: SyncPaths, result: SyncResult) -> SyncResult:
    state.last_source = result.source
    state.save(paths.state)
    result.last_verified = state.last_verified
    return result


def _fetch_index(site: Source, trusted: dict[str, Any], result: SyncResult) -> SiteIndex | None:
    raw = site.fetch_index()
    try:
        return verify_index(raw, trusted)
    except MetadataError as exc:
        result.rejected.append({"name": "*", "reason": str(exc)})
        return None


def _decide(index: SiteIndex, state: SyncState, services: SyncTarget, result: SyncResult) -> list[apply.PackChange]:
    changes = []
    held = services.knowledge.pack_versions()
    revisions = {
        d.key: d for d in services.knowledge.documents() if DocumentSource.parse(d.source).is_pack and d.revision
    }
    for name, entry in sorted(index.packs.items()):
        floor = state.floors.get(name, 0)
        if entry.version < floor:
            result.rejected.append(
                {
                    "name": name,
                    "reason": f"rollback refused: the site offers v{entry.version}, this device has v{floor}",
                }
            )
        elif entry.version > held.get(name, 0):
            older = _older_revision(entry, revisions)
            if older:
                result.rejected.append({"name": name, "reason": older})
            else:
                changes.append(apply.PackChange(name, entry.version, entry))
    return changes


def _older_revision(entry: PackEntry, held: dict[str, DocumentRecord]) -> str | None:
    """Why a pack is refused for rolling a document back to an older revision than this device has; None if not."""
    from fieldmind.knowledge.revisions import newness

    for file in entry.files:
        current = held.get(file.doc_id or "")
        if current is None or file.revision is None:
            continue
        if newness(file.effective, file.revision) < newness(current.effective, current.revision):
            return (
                f"rollback refused: document {file.doc_id} revision {file.revision} ({file.path}) is older than "
                f"revision {current.revision} this device has"
            )
    return None


def _download(site: Source, changes: list[apply.PackChange], paths: SyncPaths, tell: Progress, max_mb: float) -> None:
    wanted = {f.sha256: f.length for c in changes for f in c.entry.files if not (paths.library / f.sha256).exists()}
    total = sum(wanted.values())
    if total > max_mb * 2**20:
        raise SyncError(f"update of {total / 2**20:.0f} MB is over the limit of {max_mb:.0f} MB (sync.max_pack_mb)")
    # One bound for all the downloads, retries included: each file's own bound once (a body trickled to each
    # file was retried 4 × 60 s per file with no overall bound).
    deadline = time.monotonic() + sum(FILE_GRACE_S + length / MIN_RATE for length in wanted.values())
    site.until(deadline)
    pace, fetched = Pace(total), 0
    for number, (sha, length) in enumerate(sorted(wanted.items()), start=1):
        tell(SyncProgress("downloading", number, len(wanted), pace.left(fetched)))  # by bytes: files differ
        fetched += length
        staged = paths.staging / sha
        for attempt in range(RETRIES):
            if time.monotonic() >= deadline:
                raise TransientError(f"{site.description}: the downloads took longer than their bound; sync later")
            try:
                site.fetch_file(sha, length, staged)
                break
            except IntegrityError:
                if attempt >= 1:
                    raise  # wrong twice: the site is bad, not the line
            except TransientError:
                if attempt == RETRIES - 1:
                    raise
                time.sleep(min(2.0, 0.2 * 2**attempt))
        staged.replace(paths.library / sha)


def _apply(
    kb: KnowledgeBase,
    changes: list[apply.PackChange],
    paths: SyncPaths,
    spec: str,
    index: SiteIndex,
    result: SyncResult,
) -> None:
    with kb.writing():
        old = kb.current_generation()
        journal = {
            "state": "building",
            "old": old,
            "new": generations.next_name(kb.index_dir),
            "source": spec,
            "serial": index.serial,
            "packs": {c.name: c.version for c in changes},
            "key_id": index.signed_by,
        }
        write_json(paths.journal, journal)
        apply.crash_point("journal")
        try:
            staged = apply.build(kb, changes, paths, journal)
            apply.verify(staged, changes)
            staged.close()
        except Exception:
            apply.recover(kb.index_dir, paths)
            raise
        apply.switch(kb.index_dir, journal, paths)
        generations.keep_only(kb.index_dir, {old})
        paths.journal.unlink(missing_ok=True)
    for change in changes:
        result.applied.append(change.to_json())
        audit(
            paths,
            {
                "time": datetime.now().astimezone(),
                "source": spec,
                "event": "applied",
                "pack": change.name,
                "version": change.version,
                "serial": index.serial,
                "files": [{"path": f.path, "sha256": f.sha256, "length": f.length} for f in change.entry.files],
                **change.to_json(),
            },
        )
