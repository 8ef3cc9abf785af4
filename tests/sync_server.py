"""A real HTTP server on loopback that serves a pack site, with faults on demand (for sync tests)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Faults:
    """Per-path faults, each used up as it fires: truncate / flip / extra bytes / ignore Range."""

    def __init__(self) -> None:
        self.truncate: dict[str, int] = {}
        self.flip: dict[str, int] = {}
        self.extra: dict[str, int] = {}
        self.ignore_range = False
        self.trickle = 0.0
        """Seconds between bytes of every file body (a line too slow to finish): 0 for none."""
        self.requests: list[tuple[str, str, str | None]] = []
        """(method, path, Range header)."""


def _handler(root: Path, faults: Faults) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _file(self) -> Path | None:
            path = (root / self.path.lstrip("/")).resolve()
            return path if path.is_file() and root.resolve() in path.parents else None

        def do_HEAD(self) -> None:
            faults.requests.append(("HEAD", self.path, None))
            path = self._file()
            self.send_response(200 if path else 404)
            self.send_header("Content-Length", str(path.stat().st_size if path else 0))
            self.end_headers()

        def do_GET(self) -> None:
            range_header = self.headers.get("Range")
            faults.requests.append(("GET", self.path, range_header))
            path = self._file()
            if path is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = bytearray(path.read_bytes())
            etag = f'"{path.stat().st_mtime_ns}"'
            key = self.path
            if key in faults.flip:
                data[faults.flip.pop(key) % len(data)] ^= 0x01
            if key in faults.extra:
                data += b"X" * faults.extra[key]  # every time: a server that always sends too much
            start = 0
            if range_header and not faults.ignore_range and range_header.startswith("bytes="):
                if_range = self.headers.get("If-Range")
                if if_range in (None, etag):
                    start = int(range_header[6:].split("-")[0])
            body = bytes(data[start:])
            cut = faults.truncate.pop(key, None)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if faults.trickle and "/files/" in key:
                for byte in body:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(faults.trickle)
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(root: Path) -> Iterator[tuple[str, Faults]]:
    faults = Faults()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, faults))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", faults
    finally:
        server.shutdown()
        server.server_close()
