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
from typing import Any, Protocol

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

    def until(self, deadline: float | None) -> None:
        """No transfer goes on past `deadline` (time.monotonic), headers included: then TransientError."""
        ...

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


class _Deadlines:
    """The time left for the transfer under way: the sooner of the request's own bound and the sync's."""

    def __init__(self) -> None:
        self.sync: float | None = None
        self.request: float | None = None

    def left(self, timeout: float | None) -> float | None:
        """A socket operation's timeout, cut to the time left; none left raises httpcore's ReadTimeout."""
        import httpcore

        bounds = [b for b in (self.sync, self.request) if b is not None]
        if not bounds:
            return timeout
        left = min(bounds) - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("past the deadline")
        return left if timeout is None else min(timeout, left)


def _deadline_backend(backend: Any, deadlines: _Deadlines) -> Any:
    """httpcore's network backend with every connect, read and write bounded by `deadlines`. httpx bounds each
    read alone: a server sending its status line and then one header line every 3 s was still running at 420 s."""
    import httpcore

    class Stream(httpcore.NetworkStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return bytes(self._stream.read(max_bytes, deadlines.left(timeout)))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._stream.write(buffer, deadlines.left(timeout))

        def close(self) -> None:
            self._stream.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
            return Stream(self._stream.start_tls(ssl_context, server_hostname, deadlines.left(timeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            return Stream(backend.connect_tcp(host, port, deadlines.left(timeout), local_address, socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
            return Stream(backend.connect_unix_socket(path, deadlines.left(timeout), socket_options))

        def sleep(self, seconds: float) -> None:
            backend.sleep(seconds)

    return Backend()


class HttpSource:
    """A site over HTTP(S): `<url>/fieldmind-site.json` and `<url>/files/<sha256>`."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.description = self.url
        self._deadlines = _Deadlines()
        transport = httpx.HTTPTransport(trust_env=False)
        pool = transport._pool  # httpx offers no total timeout; httpcore's backend is where every read passes
        pool._network_backend = _deadline_backend(pool._network_backend, self._deadlines)
        self._client = httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False, transport=transport)

    def until(self, deadline: float | None) -> None:
        self._deadlines.sync = deadline

    def _past(self, deadline: float) -> bool:
        """Whether a timeout came from a deadline (the request's or the sync's), not from a slow read."""
        return time.monotonic() >= min(d for d in (deadline, self._deadlines.sync) if d is not None)

    def _overdue(self, what: str) -> TransientError:
        return TransientError(f"{what}: the server is too slow (past the deadline, headers included); will retry")

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
        deadline = time.monotonic() + INDEX_DEADLINE_S
        self._deadlines.request = deadline
        try:
            with self._client.stream("GET", f"{self.url}/{INDEX_FILE}") as response:
                if response.status_code != 200:
                    raise SyncError(f"{self.url}/{INDEX_FILE}: HTTP {response.status_code}")
                for block in within(deadline, response.iter_bytes(), f"{self.url}/{INDEX_FILE}"):
                    body += block
                    if len(body) > MAX_INDEX_BYTES:
                        raise IntegrityError(f"index larger than {MAX_INDEX_BYTES} bytes; refused")
        except httpx.TimeoutException as exc:
            if self._past(deadline):
                raise self._overdue(f"{self.url}/{INDEX_FILE}") from exc
            raise TransientError(f"{self.url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.url}: {exc}") from exc
        finally:
            self._deadlines.request = None
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
        deadline = time.monotonic() + FILE_GRACE_S + (length - have) / MIN_RATE
        self._deadlines.request = deadline
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
                blocks = within(deadline, response.iter_bytes(), f"{sha256[:12]}")
                _write_capped(blocks, partial, mode, have, length, sha256, progress)
        except IntegrityError:
            partial.unlink(missing_ok=True)
            raise
        except httpx.TimeoutException as exc:
            if self._past(deadline):
                raise self._overdue(sha256[:12]) from exc
            raise TransientError(f"{sha256[:12]}: transfer broke off ({exc}); it will resume") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"{sha256[:12]}: transfer broke off ({exc}); it will resume") from exc
        finally:
            self._deadlines.request = None
        _finish(partial, dest, sha256, length)
        meta.unlink(missing_ok=True)


class FolderSource:
    """A site on a mounted folder: a USB stick or a LAN share. Files are copied to staging first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        self.deadline: float | None = None

    def until(self, deadline: float | None) -> None:
        self.deadline = deadline

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
        """A pack file copied from the folder: only a regular file (a FIFO named like one hung the sync at
        "downloading 1/1"), opened without blocking, and never past the sync's deadline (a dying share)."""
        import stat

        source = self.path / FILES_DIR / sha256
        partial = dest.with_name(dest.name + ".partial")
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as src:
                if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
                    raise IntegrityError(f"{source}: not a regular file (a device, pipe or socket); refused")
                blocks: Iterable[bytes] = iter(lambda: src.read(1 << 20), b"")
                if self.deadline is not None:
                    blocks = within(self.deadline, blocks, str(source))
                _write_capped(blocks, partial, "wb", 0, length, sha256, progress)
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
