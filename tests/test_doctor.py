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
