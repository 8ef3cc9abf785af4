"""The house rules that a machine can check: ruff clean, modules small enough to read."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_ruff_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "app", "tests", "knowledge", "bench", "models"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    """`mypy` with the project's settings (strict on app/, warn_unused_ignores): every type holds."""
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_modules_stay_under_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in (ROOT / "app").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert not long
