"""Sources of packs: an HTTP(S) site with resumable downloads, or a folder (USB stick, LAN share).

Files are content-addressed, so a partial download can always be resumed: HTTP asks for the rest with
Range (and If-Range when the server gave a validator), starts again from zero when the server ignores it,
and stops at the length the signed index declared. Every file lands in staging and is checked against its
sha256 before anything uses it.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from fieldmind.errors import FieldmindError
from fieldmind.files import sha256_file
from fieldmind.sync.metadata import FILES_DIR, INDEX_FILE, MAX_INDEX_BYTES

ByteProgress = Callable[[int], None]
"""Called with how many more bytes arrived."""


class SyncError(FieldmindError):
    """A sync step failed; nothing was applied."""


class TransientError(SyncError):
    """The transfer broke off (network drop, stick pulled): retry, resuming what arrived."""


class IntegrityError(SyncError):
    """What arrived is not what the signed index declared (wrong hash, too long)."""


class Source(Protocol):
    description: str

    def reachable(self) -> bool: ...

    def fetch_index(self) -> bytes: ...

    def fetch_file(self, sha256: str, length: int, dest: Path, progress: ByteProgress | None = None) -> None: ...


def _finish(partial: Path, dest: Path, sha256: str, length: int, complete: bool = False) -> None:
    """Check and move into place; `complete` means the source had no more (a short file is then wrong)."""
    size = partial.stat().st_size
    if size != length:
        if complete:
            partial.unlink(missing_ok=True)
            raise IntegrityError(f"{sha256[:12]}: file is {size} bytes, the signed index says {length}")
        raise TransientError(f"{sha256[:12]}: got {size} of {length} bytes")
    actual = sha256_file(partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise IntegrityError(f"{sha256[:12]}: content does not match its signed sha256")
    partial.replace(dest)


def _disk_full(exc: OSError, partial: Path) -> SyncError:
    if exc.errno == errno.ENOSPC:
        partial.unlink(missing_ok=True)
        return SyncError(f"disk full while staging an update in {partial.parent}; free some space and sync again")
    return SyncError(f"cannot write {partial}: {exc.strerror or exc}")


def _write_capped(
    blocks: Iterable[bytes],
    partial: Path,
    mode: str,
    start: int,
    length: int,
    sha256: str,
    progress: ByteProgress | None,
) -> None:
    """Append blocks to `partial`, refusing a body longer than the signed length (endless data)."""
    written = start
    try:
        with partial.open(mode) as out:
            for block in blocks:
                written += len(block)
                if written > length:
                    raise IntegrityError(f"{sha256[:12]}: body longer than the declared {length} bytes")
                out.write(block)
                if progress:
                    progress(len(block))
    except OSError as exc:
        raise _disk_full(exc, partial) from exc


INDEX_DEADLINE_S = 60.0
"""The whole index must arrive within this: a server sending a byte every 2 s never trips a read timeout."""
MIN_RATE = 32 * 1024
"""Bytes a second below which a file transfer is abandoned (and resumed on the next sync)."""
FILE_GRACE_S = 60.0


def within(deadline: float, blocks: Iterable[bytes], what: str) -> Iterator[bytes]:
    """The blocks, until `deadline` (time.monotonic) passes: then a TransientError naming what was too slow."""
    for block in blocks:
        if time.monotonic() > deadline:
            raise TransientError(f"{what}: the server is too slow (no progress worth waiting for); will retry")
        yield block


class HttpSource:
    """A site over HTTP(S): `<url>/fieldmind-site.json` and `<url>/files/<sha256>`."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.description = self.url
        self._client = httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def reachable(self) -> bool:
        import httpx

        try:
            response = self._client.head(f"{self.url}/{INDEX_FILE}", timeout=5.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def fetch_index(self) -> bytes:
        import httpx

        body = bytearray()
        try:
            with self._client.stream("GET", f"{self.url}/{INDEX_FILE}") as response:
                if response.status_code != 200:
                    raise SyncError(f"{self.url}/{INDEX_FILE}: HTTP {response.status_code}")
                deadline = time.monotonic() + INDEX_DEADLINE_S
                for block in within(deadline, response.iter_bytes(), f"{self.url}/{INDEX_FILE}"):
                    body += block
                    if len(body) > MAX_INDEX_BYTES:
                        raise IntegrityError(f"index larger than {MAX_INDEX_BYTES} bytes; refused")
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.url}: {exc}") from exc
        return bytes(body)

    def fetch_file(self, sha256: str, length: int, dest: Path, progress: ByteProgress | None = None) -> None:
        import httpx

        partial = dest.with_name(dest.name + ".partial")
        meta = dest.with_name(dest.name + ".validator")
        have = partial.stat().st_size if partial.exists() else 0
        if have > length:
            partial.unlink()
            have = 0
        headers = {}
        if have > 0:
            headers["Range"] = f"bytes={have}-"
            if meta.exists():
                headers["If-Range"] = meta.read_text()
        try:
            with self._client.stream("GET", f"{self.url}/{FILES_DIR}/{sha256}", headers=headers) as response:
                if response.status_code == 206 and response.headers.get("content-range", "").startswith(
                    f"bytes {have}-"
                ):
                    mode = "ab"
                elif response.status_code == 200:
                    mode, have = "wb", 0  # the server ignored Range (or the file changed): from zero
                else:
                    raise SyncError(f"{self.url}/{FILES_DIR}/{sha256}: HTTP {response.status_code}")
                validator = response.headers.get("etag") or response.headers.get("last-modified")
                if validator:
                    meta.write_text(validator)
                deadline = time.monotonic() + FILE_GRACE_S + (length - have) / MIN_RATE
                blocks = within(deadline, response.iter_bytes(), f"{sha256[:12]}")
                _write_capped(blocks, partial, mode, have, length, sha256, progress)
        except IntegrityError:
            partial.unlink(missing_ok=True)
            raise
        except httpx.HTTPError as exc:
            raise TransientError(f"{sha256[:12]}: transfer broke off ({exc}); it will resume") from exc
        _finish(partial, dest, sha256, length)
        meta.unlink(missing_ok=True)


class FolderSource:
    """A site on a mounted folder: a USB stick or a LAN share. Files are copied to staging first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)

    def reachable(self) -> bool:
        return (self.path / INDEX_FILE).is_file()

    def fetch_index(self) -> bytes:
        """The index file, read only if it is a regular file, and never more than MAX_INDEX_BYTES of it.

        A stick can hold anything: a symlink to /dev/zero once read 3.8 GB before any signature check, and a
        FIFO named like the index hung the sync. The file is opened without blocking and checked by `fstat`.
        """
        import stat

        index = self.path / INDEX_FILE
        try:
            fd = os.open(index, os.O_RDONLY | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise IntegrityError(f"{index}: not a regular file (a device, pipe or socket); refused")
                data = handle.read(MAX_INDEX_BYTES + 1)
        except OSError as exc:
            raise TransientError(f"{index}: {exc.strerror or exc} (was the stick removed?)") from exc
        if len(data) > MAX_INDEX_BYTES:
            raise IntegrityError(f"{index}: larger than {MAX_INDEX_BYTES} bytes; refused")
        return data

    def fetch_file(self, sha256: str, length: int, dest: Path, progress: ByteProgress | None = None) -> None:
        source = self.path / FILES_DIR / sha256
        partial = dest.with_name(dest.name + ".partial")
        try:
            with source.open("rb") as src:
                _write_capped(iter(lambda: src.read(1 << 20), b""), partial, "wb", 0, length, sha256, progress)
        except IntegrityError:
            partial.unlink(missing_ok=True)
            raise
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"{source}: {exc.strerror or exc} (was the stick removed?)") from exc
        _finish(partial, dest, sha256, length, complete=True)


def open_source(spec: str) -> HttpSource | FolderSource:
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec)
    path = Path(spec).expanduser()
    return FolderSource(path)
