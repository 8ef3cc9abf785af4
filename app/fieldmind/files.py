"""Files written so a power cut never leaves half of one, and files known by their content: one way each.

`write_atomic` is the only way Fieldmind replaces a small file (settings, state, indexes of packs, the index
generation pointer): a temporary file beside it, flushed and fsynced, renamed over it, then the folder fsynced
so the rename itself survives. `sha256_file` is the only file hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from fieldmind.errors import FieldmindError

Progress = Callable[[int, int], None]
"""(bytes done, bytes in all)."""


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` all at once: a reader, or the next start after a crash, sees the old file or
    the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _what(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a folder" if stat.S_ISDIR(mode) else "not a regular file"


def check_writable_target(path: Path) -> Path:
    """The file a user named for output, if it may be written: absent, or a regular file (through a link).
    Anything else — /dev/null, a device, a FIFO, a folder — is refused naming it: renaming a new file over it
    would replace a device node (run as root), and opening it could hang or write nowhere."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise FieldmindError(f"{path}: a link to nothing; give the name of a file to write") from None
        return path
    except OSError as exc:
        raise FieldmindError(f"{path}: cannot write there ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        raise FieldmindError(f"{path}: {_what(mode)}, not a file; give the name of a file to write")
    return path.resolve() if path.is_symlink() else path


def write_user_file(path: Path, data: str | bytes) -> None:
    """Write a file the user named (a picture, a card, a key): all at once, never over anything but a regular
    file, and a clear error — not a traceback — when its folder cannot be written."""
    target = check_writable_target(path)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise FieldmindError(f"{path}: cannot write it ({exc.strerror or exc})") from exc


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """The file's sha256, hex; `progress` hears how far it is (for the multi-GB model files)."""
    with path.open("rb") as handle:
        if progress is None:
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        total = os.fstat(handle.fileno()).st_size
        done = 0
        while block := handle.read(4 << 20):
            digest.update(block)
            done += len(block)
            progress(done, total)
        return digest.hexdigest()
