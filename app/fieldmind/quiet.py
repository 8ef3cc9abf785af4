"""Keeping stderr for Fieldmind's own messages: what native libraries print there is silenced."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Native libraries (llama.cpp loading a model, torch exporting the embedder) print on fd 2 whatever their
    settings say; keep the terminal clean. FIELDMIND_DEBUG=1 shows it all."""
    if os.environ.get("FIELDMIND_DEBUG"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with Path(os.devnull).open("wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
