"""The real app in a real terminal (tmux): launch, type a question, get a cited answer, see its page, quit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import fieldmind_command


@pytest.fixture(scope="module", autouse=True)
def tmux_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """This module's own tmux server, kept up by a placeholder session: tmux exits with its last session, and a
    test's new-session that came while the previous test's server was exiting failed ("server exited
    unexpectedly")."""
    if not shutil.which("tmux"):
        yield
        return
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMUX_TMPDIR", str(tmp_path_factory.mktemp("tmux")))
        env.delenv("TMUX", raising=False)
        subprocess.run(["tmux", "new-session", "-d", "-s", "placeholder", "sleep 3600"], check=True)
        try:
            yield
        finally:
            subprocess.run(["tmux", "kill-server"], capture_output=True)


def _pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def _wait_for(session: str, condition, timeout: float) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        screen = _pane(session)
        if condition(screen):
            return screen
        assert time.monotonic() < deadline, f"timed out; the screen was:\n{screen}"
        time.sleep(0.2)


def _command(home: Path, models_dir: Path) -> str:
    return " ".join(
        [
            "env",
            f"FIELDMIND_HOME={shlex.quote(str(home))}",
            f"FIELDMIND_MODEL__DIR={shlex.quote(str(models_dir))}",
            "TERM=xterm-256color",
            *map(shlex.quote, fieldmind_command()),
        ]
    )


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_first_screen_at_80_by_24_names_the_manual_offers_questions_and_shows_every_main_key(
    isolated_home: Path, models_dir: Path
) -> None:
    session = f"fieldmind-{uuid.uuid4().hex[:8]}"
    command = _command(isolated_home, models_dir)
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], check=True)
    try:
        screen = _wait_for(session, lambda s: "1 document loaded" in s, timeout=30)
        assert "What does fault code E07 mean?" in screen and "fieldmind ingest FOLDER" in screen
        footer = screen.rstrip().splitlines()[-1]
        for key in ("f1 Keys", "f2 Library", "f3 Models", "f4 History", "^q Quit", "^s Sources"):
            assert key in footer, footer  # whole, not cut at the edge
        subprocess.run(["tmux", "send-keys", "-t", session, "F2"], check=True)
        _wait_for(session, lambda s: "Documents (1)" in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "F3"], check=True)
        _wait_for(session, lambda s: "Fits" in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)  # to the chat, not the library
        _wait_for(session, lambda s: "1 document loaded" in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "oil"], check=True)
        _wait_for(session, lambda s: "▊  oil" in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@pytest.mark.model
@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_launch_to_a_cited_answer_in_tmux(isolated_home: Path, models_dir: Path) -> None:
    session = f"fieldmind-{uuid.uuid4().hex[:8]}"
    command = _command(isolated_home, models_dir)
    started = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command], check=True)
    try:
        _wait_for(session, lambda s: "Ask about your manuals" in s, timeout=15)
        painted = time.monotonic() - started
        subprocess.run(
            ["tmux", "send-keys", "-t", session, "What torque for the cylinder head bolts?", "Enter"], check=True
        )
        screen = _wait_for(session, lambda s: "page 7" in s and "90 N.m" in s, timeout=180)
        assert "gx7500-generator-manual.pdf" in screen
        assert "qwen2.5-coder-0.5b" in screen  # the status bar names the model
        assert painted < 10  # a generous bound here; bench/ measures start-up precisely
        subprocess.run(["tmux", "send-keys", "-t", session, "C-g"], check=True)  # the quoted page as a picture

        def blocks(screen: str) -> int:
            return sum(screen.count(c) for c in "▀▄")

        # drawn in half blocks (tmux passes no graphics here), in a worker: waited for, not sampled once
        picture = _wait_for(session, lambda s: "page 7 of 10" in s and "marks" in s and blocks(s) > 500, timeout=30)
        assert blocks(picture) > 500
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        _wait_for(session, lambda s: "page 7 of 10" not in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "oil pump"], check=True)  # typing reaches the question
        _wait_for(session, lambda s: "▊  oil pump" in s, timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
        _wait_for(session, lambda s: "Ask about your manuals" not in s, timeout=15)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
