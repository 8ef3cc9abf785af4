"""Fakes for what a UI unit test should not wait for. Named as fakes; every user path also has a real-model test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fieldmind.llm.catalog import ResolvedModel


class FakeScriptedEngine:
    """Stands in for a loaded model: streams a scripted answer, piece by piece."""

    backend = "local"

    def __init__(self, pieces: Sequence[str], name: str = "fake-scripted", delay: float = 0.0) -> None:
        self.model = ResolvedModel(name, Path("/fake.gguf"), True, 0)
        self.pieces = list(pieces)
        self.delay = delay
        self.first_token = threading.Event()
        self.first_token.set()
        self.closed = False
        self.calls: list[str] = []

    @property
    def loaded(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def wrote(self) -> tuple[str, str]:
        return self.name, self.backend

    def stream(self, prompt: Any, max_tokens: int) -> Iterator[str]:
        self.calls.append(prompt.messages[-1]["content"])
        self.first_token.wait(timeout=30)
        for piece in self.pieces[:max_tokens]:
            if self.delay:
                time.sleep(self.delay)
            yield piece


def services_factory(embedder: Any, engine: Any, load_gate: threading.Event | None = None):  # type: ignore[no-untyped-def]
    """Real services (real index, real embedder) whose model is `engine`; loading waits for `load_gate`."""
    from fieldmind.services import Services

    def make_engine(name: str, progress: Any = None) -> Any:
        if load_gate is not None:
            load_gate.wait(timeout=60)
        return engine

    def factory(settings: Any) -> Services:
        return Services(settings, embedder=embedder, engine_factory=make_engine)

    return factory
