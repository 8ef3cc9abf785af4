"""The network policy, enforced in the process: no connection but to the endpoints the user configured.

Offline must be a guarantee. Every Python socket connect goes through this guard: Unix sockets pass, and
an internet socket passes only to an allowed endpoint (the sync source; a Chroma server, if the index uses
one). Anything else is refused with `NetworkPolicyError` and written to `<home>/logs/network.log`, so a
library that tries to phone home fails loudly instead of leaking. The Hugging Face libraries are also
told they are offline, and Chroma's telemetry is off (knowledge/vectors.py).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fieldmind.offline import go_offline

log = logging.getLogger("fieldmind.network")


class NetworkPolicyError(PermissionError):
    """A connection the network policy does not allow."""


class _Policy:
    def __init__(self) -> None:
        self.allowed: set[tuple[str, int]] = set()
        self.log_path: Path | None = None
        self.installed = False
        self.lock = threading.Lock()
        self.attempts: list[dict[str, Any]] = []


_policy = _Policy()
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def endpoint_of(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL; None for a folder source."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _addresses(host: str, port: int) -> set[tuple[str, int]]:
    """The host as given and every address it resolves to."""
    found = {(host, port)}
    try:
        ipaddress.ip_address(host)
        return found
    except ValueError:
        pass
    try:
        for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
            found.add((str(info[4][0]), port))
    except OSError:
        pass
    return found


def allow(endpoints: Iterable[tuple[str, int]]) -> None:
    """Add endpoints (host, port) the process may connect to."""
    with _policy.lock:
        for host, port in endpoints:
            _policy.allowed |= _addresses(host, port)


def allowed_endpoints() -> list[str]:
    return sorted(f"{host}:{port}" for host, port in _policy.allowed)


def attempts() -> list[dict[str, Any]]:
    """Every connection attempt seen in this process (allowed or refused)."""
    return list(_policy.attempts)


def _record(address: Any, verdict: str) -> None:
    caller = next(
        (f"{f.filename}:{f.lineno}" for f in reversed(traceback.extract_stack()[:-3]) if "socket" not in f.filename),
        "?",
    )
    now = time.time()
    entry = {"time": now, "address": str(address), "verdict": verdict, "caller": caller}
    _policy.attempts.append(entry)
    if verdict == "refused":
        log.warning("refused network connection to %s (from %s)", address, caller)
    if _policy.log_path is not None:
        try:
            _policy.log_path.parent.mkdir(parents=True, exist_ok=True)
            with _policy.log_path.open("a", encoding="utf-8") as handle:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
                handle.write(f"{stamp} {verdict} {address} from {caller}\n")
        except OSError:
            pass


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host, port = str(address[0]), int(address[1])
    if (host, port) in _policy.allowed:
        _record(address, "allowed")
        return
    _record(address, "refused")
    raise NetworkPolicyError(
        f"network connection to {host}:{port} refused: Fieldmind connects only to its configured sync "
        f"source ({', '.join(allowed_endpoints()) or 'none configured'})"
    )


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _original_connect_ex(self, address)


def install(endpoints: Iterable[tuple[str, int]] = (), log_path: Path | None = None) -> None:
    """Turn the guard on for this process (idempotent), allowing `endpoints`."""
    go_offline()
    allow(endpoints)
    _policy.log_path = log_path
    if not _policy.installed:
        setattr(socket.socket, "connect", _guarded_connect)  # noqa: B010 - a patch the type checker must not vet
        setattr(socket.socket, "connect_ex", _guarded_connect_ex)  # noqa: B010
        _policy.installed = True


def uninstall() -> None:
    """For tests: restore the plain socket functions and forget the policy."""
    setattr(socket.socket, "connect", _original_connect)  # noqa: B010
    setattr(socket.socket, "connect_ex", _original_connect_ex)  # noqa: B010
    _policy.installed = False
    _policy.allowed.clear()
    _policy.attempts.clear()
    _policy.log_path = None


def _chroma_telemetry() -> bool:
    """Whether the settings Fieldmind opens Chroma with allow its anonymous telemetry (read, not assumed)."""
    from fieldmind.knowledge.vectors import chroma_settings

    return bool(chroma_settings().anonymized_telemetry)


def describe() -> dict[str, Any]:
    """The policy as `fieldmind doctor` shows it."""
    return {
        "guard_installed": _policy.installed,
        "allowed_endpoints": allowed_endpoints(),
        "refused_this_run": sum(1 for a in _policy.attempts if a["verdict"] == "refused"),
        "huggingface_offline": os.environ.get("HF_HUB_OFFLINE") == "1",
        "do_not_track": os.environ.get("DO_NOT_TRACK") == "1",
        "chroma_telemetry": _chroma_telemetry(),
        "update_checks": "none: Fieldmind has no update check; knowledge comes only by `fieldmind sync`",
        "log": str(_policy.log_path) if _policy.log_path else None,
    }
