"""A document's own file, as it was read: the page picture needs the very bytes the index was built from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fieldmind.errors import FieldmindError
from fieldmind.files import sha256_file
from fieldmind.knowledge.records import DocumentRecord

KeptCopy = Callable[[str], Path | None]
"""The copy of a file (by content hash) that something else keeps, e.g. sync's library; None when it keeps none."""


class OriginalFiles:
    """Finds a document's file: a kept copy by content hash, else the local file if it is unchanged since."""

    def __init__(self, kept_copy: KeptCopy) -> None:
        self.kept_copy = kept_copy
        self._hashes: dict[tuple[str, int, int], str] = {}
        """Content hashes of local files by (path, mtime, size): the page picture asks on every page turned."""

    def of(self, record: DocumentRecord) -> Path:
        kept = self.kept_copy(record.sha256)
        if kept is not None:
            return kept
        local = Path(record.path)
        try:
            stat = local.stat()
        except OSError:
            stat = None
        if stat is not None and local.is_file():
            seen = (str(local), stat.st_mtime_ns, stat.st_size)
            if seen not in self._hashes:
                self._hashes[seen] = sha256_file(local)
            if self._hashes[seen] == record.sha256:
                return local
        raise FieldmindError(
            f"{record.path}: the file is gone or has changed since it was added; add it again to see its pages"
        )
