"""Noticing when the sync source becomes reachable, cheaply, and starting a sync then.

It only ever contacts the configured source (a HEAD request, or a look at a folder), waits longer after
each failure (up to `max_interval`), and syncs when the source comes back and then every `interval`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fieldmind.sync.fetch import open_source


class ConnectivityMonitor:
    def __init__(
        self,
        source: str,
        on_reachable: Callable[[], object],
        on_state: Callable[[str], None] = lambda _s: None,
        interval: float = 900.0,
        min_interval: float = 5.0,
        max_interval: float = 600.0,
    ) -> None:
        self.source = source
        self.on_reachable = on_reachable
        self.on_state = on_state
        self.interval = interval
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.stop_event = threading.Event()
        self.checks = 0

    def run(self) -> None:
        """Check until stopped (run it in a thread)."""
        wait = self.min_interval
        was_reachable = False
        site = open_source(self.source)
        try:
            while not self.stop_event.is_set():
                self.checks += 1
                reachable = site.reachable()
                if reachable and not was_reachable:
                    self.on_state("source reachable")
                    self.on_reachable()
                    wait = self.interval
                elif reachable:
                    self.on_reachable()
                    wait = self.interval
                else:
                    self.on_state("offline")
                    wait = self.min_interval if was_reachable else min(self.max_interval, wait * 2)
                was_reachable = reachable
                self.stop_event.wait(wait)
        finally:
            if hasattr(site, "close"):
                site.close()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="fieldmind-sync-monitor", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
