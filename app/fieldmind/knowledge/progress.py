"""What an ingest reports as it goes: files done, and within a long file its scanned pages or passages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fieldmind.pace import duration


@dataclass(frozen=True)
class IngestProgress:
    """Posted after each file: how far the ingest is, for progress bars."""

    files_done: int
    files_total: int
    chunks: int
    path: str
    outcome: str
    """added, updated, unchanged, failed; or, within a long file, `reading` (its scanned pages are recognised)
    or `embedding` (its passages are embedded)."""
    steps_done: int = 0
    steps_total: int = 0
    """Within a long file: scanned pages read, or passages embedded."""
    seconds_left: float | None = None
    """The time left for those steps, from the pace so far."""

    def describe(self) -> str:
        """One line for a progress display: files, passages, and the steps of the file being worked on."""
        name = Path(self.path).name
        line = f"{self.files_done}/{self.files_total} files, {self.chunks} passages"
        left = f", about {duration(self.seconds_left)} left" if self.seconds_left is not None else ""
        if self.outcome in STEPS:
            return f"{line}; {STEPS[self.outcome]} {name}: {self.steps_done}/{self.steps_total}{left}"
        return f"{line} — {self.outcome} {name}"


STEPS = {"reading": "reading scanned pages of", "embedding": "embedding the passages of"}


ProgressCallback = Callable[[IngestProgress], None]
