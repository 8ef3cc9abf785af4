"""Index generations: the knowledge a device answers from is one generation, `index/<name>/`, named by
`index/CURRENT`.

A change that must land whole (a sync's packs) is made in a new generation staged beside the current one
(`staging.py`), verified, then switched to in one atomic rename; the previous generation is kept for rollback.
These functions are the only code that reads or moves `CURRENT`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fieldmind.files import write_atomic

CURRENT = "CURRENT"
FIRST = "g000001"


def current(index_dir: Path) -> str:
    """The generation searches use now."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        if name:
            return name
    except FileNotFoundError:
        pass
    return FIRST


def switch(index_dir: Path, name: str) -> None:
    """Point `CURRENT` at another generation in one atomic rename."""
    write_atomic(index_dir / CURRENT, name + "\n")


def next_name(index_dir: Path) -> str:
    """A generation name never used before, not even by one rolled back: Chroma keeps a client per directory
    in the process, and one opened on a removed directory answers "attempt to write a readonly database"."""
    existing = [p.name for p in index_dir.glob("g[0-9]*") if p.is_dir()]
    counter = index_dir / "LAST_GENERATION"
    try:
        last = int(counter.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        last = 0
    number = max([last, *(int(name[1:]) for name in existing if name[1:].isdigit())]) + 1
    write_atomic(counter, f"{number}\n")
    return f"g{number:06d}"


def exists(index_dir: Path, name: str) -> bool:
    return (index_dir / name).is_dir()


def discard(index_dir: Path, name: str) -> None:
    """Delete a staged generation that will not be used; the current one is never deleted."""
    if name and name != current(index_dir):
        shutil.rmtree(index_dir / name, ignore_errors=True)


def keep_only(index_dir: Path, keep: set[str]) -> None:
    """Drop every generation but the current one and those in `keep` (the previous one, for rollback)."""
    keep = keep | {current(index_dir)}
    for folder in index_dir.glob("g[0-9]*"):
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
