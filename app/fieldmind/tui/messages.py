"""What workers tell the app, as typed messages posted from their threads (harlequin's and posting's way):
the app's handlers are the one place its reactive state changes."""

from __future__ import annotations

from textual.message import Message

from fieldmind.welcome import Welcome


class StartStep(Message):
    """Start-up moved on: "loading the model", "ready", or "error: …"."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step


class ModelInUse(Message):
    """A model now words the answers (its speed is measured anew)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class SiteChecked(Message):
    """The site store's state after a refresh: "online", or "offline: …" (answering from the copy)."""

    def __init__(self, state: str) -> None:
        super().__init__()
        self.state = state


class SyncChanged(Message):
    """Where a sync is ("downloading 2/5, about 40 s left", "up to date as of …"), and its file counts."""

    def __init__(self, text: str, done: int = 0, total: int = 0) -> None:
        super().__init__()
        self.text = text
        self.done = done
        self.total = total


class IndexCounted(Message):
    """The knowledge base was counted (at start, after an ingest or a sync): the status bar and first screen."""

    def __init__(self, size: str, welcome: Welcome | None) -> None:
        super().__init__()
        self.size = size
        self.welcome = welcome
