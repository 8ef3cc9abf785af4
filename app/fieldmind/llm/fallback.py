"""The site's server while it answers in time, this laptop's model the moment it does not.

The laptop's model stays loaded, so walking away from the hangar costs one bounded wait (the first-byte bound),
not an answer. A server that drops an answer it had begun raises `EngineSwitchedError`: the pipeline discards
the half-written words and asks again, now of the local model (`assistant.py`).
"""

from __future__ import annotations

from collections.abc import Generator

from fieldmind.llm.engine import Engine
from fieldmind.llm.prompts import Prompt
from fieldmind.llm.server import InferenceServer, ServerUnavailableError


class EngineSwitchedError(Exception):
    """The server dropped an answer it had begun; the next attempt is the local model's."""


class FallbackEngine:
    """Words answers on the server when it is up, else (and whenever it fails) on the local engine."""

    def __init__(self, server: InferenceServer, local: Engine) -> None:
        self.server = server
        self.local = local
        """Owned by `Services`, which loads, swaps and closes it; this only asks it to answer."""
        self._wrote: str | None = None
        """The backend that wrote the latest answer; None before the first."""

    @property
    def backend(self) -> str:
        """ "server" or "local": which engine would answer now."""
        return "server" if self.server.up else "local"

    @property
    def wrote(self) -> tuple[str, str]:
        """(name, backend) of the engine that wrote the latest answer: the server's health check may have found
        it back while the local model was writing one, so `backend` after an answer need not be its writer."""
        backend = self._wrote or self.backend
        return self._name_of(backend), backend  # read now: the server names its model in its answer

    @property
    def name(self) -> str:
        return self._name_of(self.backend)

    def _name_of(self, backend: str) -> str:
        return self.server.name if backend == "server" else self.local.name

    def load(self) -> None:
        """Load the local model now, so a fallback never waits for it."""
        self.local.load()

    def stream(self, prompt: Prompt, max_tokens: int) -> Generator[str, None, None]:
        if self.server.up:
            self._wrote = "server"
            begun = False
            try:
                for piece in self.server.stream(prompt, max_tokens):
                    begun = True
                    yield piece
                return
            except ServerUnavailableError as exc:
                self.server.mark_down(str(exc))
                if begun:
                    raise EngineSwitchedError(str(exc)) from exc
        self._wrote = "local"
        yield from self.local.stream(prompt, max_tokens)
