"""Where Fieldmind keeps its files: one home directory, chosen by flag, environment or platform default."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FIELDMIND_HOME"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_BUNDLED = Path(__file__).resolve().parent / "_data"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The home directory: `--home`, else `$FIELDMIND_HOME`, else the platform's user data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("fieldmind", appauthor=False))


def shipped(relative: str) -> Path:
    """A file shipped with the app (catalogue, demo knowledge, styles), installed or in a source checkout."""
    for root in (_BUNDLED, _SOURCE_ROOT):
        candidate = root / relative
        if candidate.exists():
            return candidate
    return _BUNDLED / relative
