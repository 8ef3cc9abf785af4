"""How long a job has left, from its pace so far: every job over a couple of seconds says so.

Used by ingest (scanned pages, passages embedded), `fieldmind eval` (questions) and the library screen; a
count alone ("--%") made a long job look frozen.
"""

from __future__ import annotations

import time


def duration(seconds: float | None) -> str:
    """A short human duration: 40 s, 3 min, 1 h 5 min."""
    seconds = round(seconds or 0)
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


class Pace:
    """The time left of `total` steps, from the time the steps done so far took."""

    def __init__(self, total: int, clock: float | None = None) -> None:
        self.total = total
        self.started = time.monotonic() if clock is None else clock

    def left(self, done: int, now: float | None = None) -> float | None:
        """Seconds left, or None before the first step is done (no pace yet)."""
        if done <= 0 or self.total <= 0:
            return None
        spent = (time.monotonic() if now is None else now) - self.started
        return spent / done * max(self.total - done, 0)

    def describe(self, done: int, noun: str, now: float | None = None) -> str:
        """`12/45 questions, about 2 min left`."""
        left = self.left(done, now)
        tail = f", about {duration(left)} left" if left is not None and done < self.total else ""
        return f"{done}/{self.total} {noun}{tail}"
