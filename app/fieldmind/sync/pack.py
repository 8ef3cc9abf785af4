"""The publisher's side: put every document under a folder into a signed pack on a static site tree.

The tree is plain files (`fieldmind-site.json` and `files/<sha256>`), so any HTTP server, object store,
LAN share or USB stick can serve it. A pack's version only goes up; the index is re-signed each time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fieldmind.errors import FieldmindError
from fieldmind.files import sha256_file, write_atomic
from fieldmind.knowledge.parsers import kind_of
from fieldmind.sync import keys
from fieldmind.sync.metadata import (
    FILES_DIR,
    INDEX_FILE,
    MetadataError,
    PackEntry,
    PackFile,
    SiteIndex,
    check_path,
    sign_index,
    utcnow,
    verify_index,
)


@dataclass(frozen=True)
class BuiltPack:
    name: str
    version: int
    files: int
    bytes: int
    serial: int


def collect(src: Path) -> list[tuple[str, Path]]:
    """(pack path, file) for every document under `src`; symlinks and unsafe names are refused."""
    if not src.is_dir():
        raise FieldmindError(f"{src}: not a folder")
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                raise FieldmindError(f"{path}: symlinks are not packed; copy the file itself")
            if kind_of(path) is None:
                continue
            relative = path.relative_to(src).as_posix()
            try:
                check_path(relative)
            except ValueError as exc:
                raise FieldmindError(f"{path}: {exc}; rename it") from exc
            found.append((relative, path))
    if not found:
        raise FieldmindError(f"{src}: no documents to pack (PDF, DOCX, HTML, Markdown, text)")
    return found


def build(src: Path, name: str, version: int, key_file: Path, site: Path, expires_days: float = 30) -> BuiltPack:
    private = keys.load_private(key_file)
    index_path = site / INDEX_FILE
    previous: SiteIndex | None = None
    if index_path.exists():
        try:
            previous = verify_index(index_path.read_bytes(), {keys.key_id(private.public_key()): private.public_key()})
        except MetadataError as exc:
            raise FieldmindError(f"{index_path}: {exc}; is this site signed with another key?") from exc
    if previous and name in previous.packs and previous.packs[name].version >= version:
        raise FieldmindError(
            f"pack {name!r} is at version {previous.packs[name].version} on this site; versions only go up"
        )
    files_dir = site / FILES_DIR
    files_dir.mkdir(parents=True, exist_ok=True)
    entries: list[PackFile] = []
    total = 0
    for relative, path in collect(src):
        sha = sha256_file(path)
        target = files_dir / sha
        if not target.exists():
            tmp = target.with_name(sha + ".tmp")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        size = path.stat().st_size
        entries.append(PackFile(path=relative, sha256=sha, length=size))
        total += size
    now = utcnow()
    packs = dict(previous.packs) if previous else {}
    packs[name] = PackEntry(version=version, published=now, files=entries)
    index = SiteIndex(
        serial=(previous.serial + 1) if previous else 1,
        issued=now,
        expires=now + timedelta(days=expires_days),
        packs=packs,
    )
    write_atomic(index_path, sign_index(index, private))
    return BuiltPack(name, version, len(entries), total, index.serial)
