"""What a device remembers about sync: version floors, the last time it saw, when it last verified, the journal.

Floors never go down; the clock is checked against the last time seen (a clock set back could make expired
metadata look fresh). The journal records an update in progress so a killed sync rolls back or forward.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fieldmind.files import write_atomic

CLOCK_TOLERANCE_S = 300


def write_json(path: Path, data: Any) -> None:
    """Atomically: a reader sees the old file or the new one, never half of either."""
    write_atomic(path, json.dumps(data, indent=1, default=str))


@dataclass
class SyncState:
    floors: dict[str, int] = field(default_factory=dict)
    """The lowest version of each pack this device will accept from now on."""
    last_seen_time: str | None = None
    last_verified: str | None = None
    """When metadata last verified fresh and complete (the user is told this when it expires)."""
    last_source: str | None = None

    @classmethod
    def load(cls, path: Path) -> SyncState:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    def raise_floors(self, versions: dict[str, int]) -> None:
        for name, version in versions.items():
            self.floors[name] = max(self.floors.get(name, 0), version)

    def clock_ok(self, now: datetime) -> bool:
        if not self.last_seen_time:
            return True
        return now.timestamp() >= datetime.fromisoformat(self.last_seen_time).timestamp() - CLOCK_TOLERANCE_S

    def saw(self, now: datetime) -> None:
        if not self.last_seen_time or now > datetime.fromisoformat(self.last_seen_time):
            self.last_seen_time = now.isoformat()


class SyncPaths:
    """Where sync keeps its files under the home directory."""

    def __init__(self, home: Path) -> None:
        self.root = home / "sync"
        self.state = self.root / "state.json"
        self.journal = self.root / "journal.json"
        self.lock = self.root / "sync.lock"
        self.staging = self.root / "staging"
        self.audit = self.root / "audit.log"
        self.library = home / "library"

    def kept_copy(self, sha256: str) -> Path | None:
        """The library's copy of a file sync fetched (by content hash), if it keeps one."""
        kept = self.library / sha256
        return kept if kept.is_file() else None

    def ensure(self) -> None:
        for folder in (self.root, self.staging, self.library):
            folder.mkdir(parents=True, exist_ok=True)


def audit(paths: SyncPaths, event: dict[str, Any]) -> None:
    """Append one line to the local audit log of what sync fetched and applied."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.audit.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_audit(paths: SyncPaths, last: int = 200) -> list[dict[str, Any]]:
    try:
        lines = paths.audit.read_text(encoding="utf-8").splitlines()[-last:]
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:  # a line torn by a power cut mid-append: the rest of the log still reads
            continue
    return [e for e in events if isinstance(e, dict)]
