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
from typing import Any

from fieldmind.errors import FieldmindError
from fieldmind.files import check_writable_target, sha256_file, write_user_file
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


MANIFEST = "fieldmind-pack.toml"
"""Optional, in the pack's source folder: what each document is. Signed with the rest of the index:

    [documents."manuals/gx7500.pdf"]
    doc_id = "GX7500-OSM"
    title = "GX-7500 Operator's and Service Manual"
    revision = "C"
    effective = "2026-03-01"
    tags = { model = "GX-7500" }
"""
MANIFEST_FIELDS = {"doc_id", "title", "revision", "effective", "tags"}


def read_manifest(src: Path) -> dict[str, dict[str, Any]]:
    """The documents' descriptions by path, checked; an entry for a file that is not packed is an error."""
    import tomllib

    path = src / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FieldmindError(f"{path}: {exc}") from exc
    documents = data.get("documents", {})
    if not isinstance(documents, dict):
        raise FieldmindError(f'{path}: [documents."path"] tables expected')
    for relative, fields in documents.items():
        if not isinstance(fields, dict) or set(fields) - MANIFEST_FIELDS:
            raise FieldmindError(f"{path}: {relative}: fields are {', '.join(sorted(MANIFEST_FIELDS))}")
        try:
            PackFile(path=relative, sha256="0" * 64, length=0, **fields)
        except ValueError as exc:
            raise FieldmindError(f"{path}: {relative}: {exc}") from exc
    return {str(k): dict(v) for k, v in documents.items()}


def build(src: Path, name: str, version: int, key_file: Path, site: Path, expires_days: float = 30) -> BuiltPack:
    private = keys.load_private(key_file)
    index_path = check_writable_target(site / INDEX_FILE)
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
    try:
        files_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FieldmindError(f"{site}: cannot write the site there ({exc.strerror or exc})") from exc
    entries: list[PackFile] = []
    total = 0
    described = read_manifest(src)
    for relative, path in collect(src):
        sha = sha256_file(path)
        target = files_dir / sha
        if not target.exists():
            tmp = target.with_name(sha + ".tmp")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        size = path.stat().st_size
        entries.append(PackFile(path=relative, sha256=sha, length=size, **described.pop(relative, {})))
        total += size
    if described:
        raise FieldmindError(f"{src / MANIFEST}: no such document in the pack: {', '.join(sorted(described))}")
    now = utcnow()
    packs = dict(previous.packs) if previous else {}
    packs[name] = PackEntry(version=version, published=now, files=entries)
    index = SiteIndex(
        serial=(previous.serial + 1) if previous else 1,
        issued=now,
        expires=now + timedelta(days=expires_days),
        packs=packs,
    )
    write_user_file(index_path, sign_index(index, private))
    return BuiltPack(name, version, len(entries), total, index.serial)
