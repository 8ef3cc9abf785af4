"""A warm Fieldmind the command line reuses: while the app is open on a home, `fieldmind search` asks it over
a Unix socket in that home instead of loading Chroma and the embedder again in a new process (most of the
1.2 s a cold search takes). The socket is in a folder only its user may enter (0700); nothing goes on the network.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldmind.knowledge.reading import KnowledgeReader

SOCKET_NAME = "warm.sock"
MAX_REQUEST = 64 * 1024
MAX_REPLY = 16 * 1024 * 1024
REPLY_S = 10.0
"""How long the command waits for the app's answer before searching by itself."""


def socket_path(home: Path) -> Path:
    return home / "run" / SOCKET_NAME


class WarmServer:
    """Serves searches from a loaded knowledge base to the commands of the same home, one thread a request."""

    def __init__(self, home: Path, knowledge: KnowledgeReader) -> None:
        self.path = socket_path(home)
        self.knowledge = knowledge
        self.served = 0
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    def start(self) -> None:
        """Listen (a socket left by an app that died is replaced); a home where that fails just stays cold."""
        warm = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST)
                self.wfile.write(json.dumps(warm.answer(line)).encode() + b"\n")

        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.path.parent.chmod(0o700)  # made before: still only its user's
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # left by an app that died
            self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        except OSError:
            self._server = None
            return
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fieldmind-warm", daemon=True).start()

    def answer(self, line: bytes) -> dict[str, Any]:
        from fieldmind.knowledge.revisions import Scope

        try:
            request = json.loads(line)
            if request.get("command") != "search":
                return {"ok": False, "error": f"unknown command {str(request.get('command'))[:40]!r}"}
            scope = Scope.parse(tuple(request["scope"])) if request.get("scope") else None
            found = self.knowledge.search(str(request["question"]), request.get("k"), scope, bool(request.get("all")))
        except Exception as exc:  # the command then searches by itself, and says what went wrong there
            return {"ok": False, "error": str(exc)[:300]}
        self.served += 1
        return {"ok": True, "passages": [p.to_json() for p in found]}

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def warm_search(
    home: Path, question: str, k: int | None, scope: tuple[str, ...], all_revisions: bool
) -> list[dict[str, Any]] | None:
    """The passages from the app open on `home`, or None when there is none (or it fails): search cold then."""
    path = socket_path(home)
    if not path.exists():
        return None
    request = {"command": "search", "question": question, "k": k, "scope": list(scope), "all": all_revisions}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(REPLY_S)
            connection.connect(str(path))
            connection.sendall(json.dumps(request).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n") and len(reply) < MAX_REPLY:
                chunk = connection.recv(1 << 16)
                if not chunk:
                    break
                reply += chunk
        answer = json.loads(reply)
    except (OSError, ValueError):
        return None
    passages = answer.get("passages") if isinstance(answer, dict) and answer.get("ok") else None
    return passages if isinstance(passages, list) else None
