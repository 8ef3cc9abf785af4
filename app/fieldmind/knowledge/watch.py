"""Keeping a folder in sync with the knowledge base while it runs (watchdog).

File events are only a hint: after a quiet moment the whole folder is ingested again, which is incremental
(unchanged files cost a hash), so a burst of events, a rename or a missed event all end the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from fieldmind.knowledge.index import IngestReport, KnowledgeBase


def watch_folder(
    kb: KnowledgeBase,
    folder: Path,
    on_report: Callable[[IngestReport], None],
    stop: threading.Event,
    quiet_seconds: float = 1.0,
) -> None:
    """Ingest `folder` now, then again after every burst of changes, until `stop` is set."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    changed = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type not in ("opened", "closed_no_write"):
                changed.set()

    observer = Observer()
    observer.schedule(Handler(), str(folder), recursive=True)
    observer.start()  # before the first pass, so nothing changed during it is missed
    try:
        on_report(kb.ingest([folder]))
        while not stop.is_set():
            if not changed.wait(timeout=0.2):
                continue
            while changed.is_set() and not stop.is_set():  # wait for the burst to end
                changed.clear()
                stop.wait(quiet_seconds)
            if not stop.is_set():
                on_report(kb.ingest([folder]))
    finally:
        observer.stop()
        observer.join()
