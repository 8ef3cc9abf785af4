"""`fieldmind doctor`'s reading of llama.cpp's build line, for both kinds of build."""

from __future__ import annotations

import pytest

from fieldmind import doctor
from fieldmind.llm import engine


@pytest.mark.parametrize(
    "line",
    [
        "AVX = 1 | AVX2 = 1 | AMX_INT8 = 1 | F16C = 0 | ",  # one CPU backend linked in (setup.sh's build)
        "CPU : AVX = 1 | AVX2 = 1 | AMX_INT8 = 1 | F16C = 0 | ",  # a CPU level loaded at start (the bundle's)
    ],
)
def test_features_and_amx_are_read_from_either_build_line(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "system_info", lambda: line)
    build = doctor.llama_build()
    assert build["features"] == ["AMX_INT8", "AVX", "AVX2"]
    assert build["amx"] is True and build["safe_on_this_cpu"] is False


def test_the_site_store_is_shown_and_an_unreachable_one_said_so(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    import socket

    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])  # nobody listens there
    alone = Services(load_settings(tmp_path / "alone", demo_knowledge=False), embedder=embedder)
    assert doctor.site_health(alone) is None
    site = {"backend": "http", "chroma_host": "127.0.0.1", "chroma_port": port}
    terminal = Services(load_settings(tmp_path / "t", demo_knowledge=False, knowledge=site), embedder=embedder)
    health = doctor.site_health(terminal)
    assert health is not None and health["ok"] is False and health["server"] == f"127.0.0.1:{port}"
    assert "does not answer" in health["error"] and health["local_copy_documents"] == 0
    alone.close()
    terminal.close()
