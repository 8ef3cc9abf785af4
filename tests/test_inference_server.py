"""A site's inference server: a real `python -m llama_cpp.server` on loopback with the small model.

Answers go through it while it answers in time (`engine: server`); when it is killed between answers or in
the middle of one, stalls, is too slow to first byte, refuses the token, or the network is gone, the local
model answers (`engine: local`) within the bound, and it returns to the server once it is back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import SMALL_MODEL, fieldmind_command
from helpers import misbehaving_server

QUESTION = "What torque for the cylinder head bolts?"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """llama.cpp's own OpenAI-compatible server, as a site box runs it (here on loopback)."""

    def __init__(self, model: Path, api_key: str | None = None) -> None:
        self.model = model
        self.port = _free_port()
        self.api_key = api_key
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--n_ctx", "2048", "--n_threads", "2"]
        if self.api_key:
            command += ["--api_key", self.api_key]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "llama_cpp.server exited at start"
            try:
                if httpx.get(f"{self.url}/v1/models", headers=headers, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("llama_cpp.server did not come up in 90 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def small_model_path(models_dir: Path) -> Path:
    from fieldmind.llm.catalog import Catalog

    return Catalog(models_dir).resolve(SMALL_MODEL).path


@pytest.fixture
def llama_server(small_model_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(small_model_path)
    server.start()
    yield server
    server.kill()


def _services(home: Path, embedder: Any, url: str, **engine: Any) -> Any:
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    settings = load_settings(
        home,
        model={"name": SMALL_MODEL},
        engine={
            "backend": "server",
            "url": url,
            "api": "completion",
            "retry_s": 0.3,
            # a server on the same 2 cores as the tests, slower still on a loaded CI machine: generous bounds,
            # except in the tests of each bound
            "stall_s": 10.0,
            "first_byte_ms": 15_000,
        }
        | engine,
    )
    return Services(settings, embedder=embedder)


def _fieldmind_json(*args: str, prefix: tuple[str, ...] = (), **settings: str) -> dict[str, Any]:
    """Run the `fieldmind` command (small model, completion API) and return its JSON; fails on a non-zero exit.

    `settings` are more environment settings, e.g. `FIELDMIND_ENGINE__FIRST_BYTE_MS="15000"`."""
    env = {**os.environ, "FIELDMIND_MODEL__NAME": SMALL_MODEL, "FIELDMIND_ENGINE__API": "completion", **settings}
    out = subprocess.run([*prefix, *fieldmind_command(), *args], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _events(home: Path) -> list[dict[str, Any]]:
    path = home / "logs" / "engine.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_ask_answers_through_the_server_and_json_says_so(isolated_home: Path, llama_server: LlamaServer) -> None:
    # The bound is generous here: the server shares 2 cores with this process loading its fallback model (a CI
    # run missed 800 ms); being passed over when too slow is its own test below.
    answer = _fieldmind_json(
        "ask", "--json", "--engine-url", llama_server.url, QUESTION, FIELDMIND_ENGINE__FIRST_BYTE_MS="15000"
    )
    assert answer["found"] is True and answer["engine"] == "server", _events(isolated_home)
    assert answer["model"] == llama_server.model.name  # the served model, not the local one
    assert answer["timings"]["tokens"] > 0
    used = [e for e in _events(isolated_home) if e["event"] == "answered"]
    assert len(used) == 1 and used[0]["server"] == f"127.0.0.1:{llama_server.port}" and used[0]["sent_chars"] > 0
    network = (isolated_home / "logs" / "network.log").read_text()
    assert f"allowed 127.0.0.1:{llama_server.port}" in network or f"('127.0.0.1', {llama_server.port})" in network
    assert "refused" not in network


def test_killed_between_answers_the_local_model_answers_then_the_server_again(
    tmp_path: Path, embedder: Any, llama_server: LlamaServer
) -> None:
    services = _services(tmp_path / "home", embedder, llama_server.url)
    services.open_knowledge()
    assistant = services.assistant()
    first = assistant.ask(QUESTION)
    assert first.engine == "server"
    from fieldmind.cards import card_for

    card = card_for(first, services.knowledge)  # the work-order card says where the words were written
    assert card.engine == "server" and f"{llama_server.model.name} (site server)" in card.render("md")

    llama_server.kill()
    started = time.perf_counter()
    answer = assistant.ask(QUESTION)
    assert answer.engine == "local" and answer.model == SMALL_MODEL and answer.timings.tokens > 0
    assert time.perf_counter() - started < 60  # the refused connection costs nothing; the local model answers
    assert services.server is not None and not services.server.up
    downs = [e for e in _events(tmp_path / "home") if e["event"] == "down"]
    assert len(downs) == 1 and "connect" in downs[0]["reason"]

    llama_server.start()  # same port: the background health check finds it again
    deadline = time.monotonic() + 30
    while not services.server.up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert services.server.up, services.server.reason
    assert assistant.ask(QUESTION).engine == "server"
    assert [e["event"] for e in _events(tmp_path / "home")] == ["answered", "down", "back", "answered"]
    services.close()


@pytest.mark.parametrize(
    ("fault", "reason"), [(signal.SIGKILL, "the connection dropped"), (signal.SIGSTOP, "silent for 1 s")]
)
def test_cut_off_in_the_middle_of_an_answer_the_local_model_writes_it_afresh(
    tmp_path: Path,
    embedder: Any,
    llama_server: LlamaServer,
    monkeypatch: pytest.MonkeyPatch,
    fault: signal.Signals,
    reason: str,
) -> None:
    """The server is killed, or stops (silent past `stall_s`), once its first words have arrived: the
    half-written answer is dropped and the local model writes the whole of it."""
    from fieldmind.answers import short
    from fieldmind.llm.prompts import Prompt

    counting = Prompt(messages=[], completion="Numbers from one to sixty: 1, 2, 3, 4, 5,", stops=[])
    monkeypatch.setattr(short, "prompt", lambda question, quote: counting)  # a long answer, to cut in two
    services = _services(tmp_path / "home", embedder, llama_server.url, stall_s=1.0)
    services.open_knowledge()
    assistant = services.assistant()
    pieces_seen = []

    def cut_off_at_first_piece() -> bool:  # asked once before the short answer, then after each piece
        pieces_seen.append(1)
        if len(pieces_seen) == 2:
            llama_server.process.send_signal(fault)  # type: ignore[union-attr]
        return False

    started = time.perf_counter()
    answer = assistant.ask_stream(QUESTION, stop=cut_off_at_first_piece)
    done = next(event for event in answer if type(event).__name__ == "AnswerDone").answer
    assert done.engine == "local" and done.model == SMALL_MODEL
    assert time.perf_counter() - started < 60
    events = _events(tmp_path / "home")
    reasons = [e["reason"] for e in events if e["event"] == "down"]
    assert len(reasons) == 1 and reasons[0].startswith(reason), reasons
    assert [(e["event"], e.get("ended")) for e in events] == [("answered", "dropped"), ("down", None)]
    # written afresh: the local model's answer alone, from its first token (greedy: the same numbers)
    assert done.attempt.startswith("6, 7, 8"), done.attempt
    assert done.timings.tokens > 10  # counted afresh, the local model's alone
    services.close()


def test_a_server_too_slow_to_first_byte_is_passed_over_within_the_bound(
    tmp_path: Path, embedder: Any, llama_server: LlamaServer
) -> None:
    llama_server.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]  # alive, accepting, silent
    try:
        services = _services(tmp_path / "home", embedder, llama_server.url, first_byte_ms=500)
        services.open_knowledge()
        assistant = services.assistant()
        assistant.engine.load()  # type: ignore[union-attr]
        answer = assistant.ask(QUESTION)
        assert answer.engine == "local" and answer.timings.tokens > 0
        assert answer.timings.first_token_ms is not None and answer.timings.quote_ms is not None
        waited = answer.timings.first_token_ms - answer.timings.quote_ms
        assert 500 <= waited < 500 + 10_000, waited  # the bound, then the local model's own first token
        downs = [e["reason"] for e in _events(tmp_path / "home") if e["event"] == "down"]
        assert downs == ["no first token within 500 ms"]
    finally:
        llama_server.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    services.close()


def test_an_answer_the_local_model_wrote_names_it_though_the_server_came_back_meanwhile(
    tmp_path: Path, embedder: Any
) -> None:
    """The health check runs in the background and may find the server back while the local model is still
    writing: the answer (its JSON, its card, the status bar) still names the model that wrote it."""
    from fakes import FakeScriptedEngine, services_factory
    from fieldmind.settings import load_settings

    class ServerBackMidAnswer(FakeScriptedEngine):  # a fake local model: the race, made to happen every time
        def stream(self, prompt: Any, max_tokens: int) -> Iterator[str]:
            for written, piece in enumerate(super().stream(prompt, max_tokens)):
                if written == 1:
                    assert services.server is not None and not services.server.up
                    services.server.up = True  # what the health check does when the server answers again
                yield piece

    local = ServerBackMidAnswer(["40", " N·m", " (30", " lb-ft)"], name="this-laptops-model")
    nowhere = f"http://127.0.0.1:{_free_port()}"  # nothing listens: refused at once
    settings = load_settings(tmp_path / "home", engine={"backend": "server", "url": nowhere, "retry_s": 600})
    services = services_factory(embedder, local)(settings)
    services.open_knowledge()
    answer = services.assistant().ask(QUESTION)
    assert services.server is not None and services.server.up  # back: the next answer goes to it
    assert answer.found and answer.attempt.startswith("40 N·m")
    assert (answer.model, answer.engine) == ("this-laptops-model", "local")
    services.close()


def test_a_first_token_later_than_the_stall_bound_but_within_its_own_is_the_servers(
    tmp_path: Path, embedder: Any, llama_server: LlamaServer
) -> None:
    """`first_byte_ms` bounds the wait for the first token even when it is longer than `stall_s` (a slow box
    given a long first-byte bound must not be cut at the stall bound)."""
    services = _services(tmp_path / "home", embedder, llama_server.url, first_byte_ms=30_000, stall_s=3.0)
    services.open_knowledge()
    assistant = services.assistant()
    assistant.engine.load()  # type: ignore[union-attr]
    process = llama_server.process
    assert process is not None
    process.send_signal(signal.SIGSTOP)  # alive, accepting, silent for 5 s: past the stall bound, within 30 s
    resume = threading.Timer(5.0, process.send_signal, args=(signal.SIGCONT,))
    resume.start()
    try:
        answer = assistant.ask(QUESTION)
    finally:
        resume.join()
    assert answer.engine == "server", services.server.reason  # type: ignore[union-attr]
    assert answer.timings.first_token_ms is not None and answer.timings.quote_ms is not None
    assert answer.timings.first_token_ms - answer.timings.quote_ms >= 4500
    assert [e["event"] for e in _events(tmp_path / "home")] == ["answered"]
    services.close()


def test_the_bearer_token_is_sent_and_never_written_down(tmp_path: Path, embedder: Any, small_model_path: Path) -> None:
    server = LlamaServer(small_model_path, api_key="s3cret-site-token")
    server.start()
    try:
        right = _services(tmp_path / "a", embedder, server.url, token="s3cret-site-token")
        right.open_knowledge()
        assert right.assistant().ask(QUESTION).engine == "server"
        wrong = _services(tmp_path / "b", embedder, server.url, token="not-the-token")
        wrong.open_knowledge()
        refused = wrong.assistant().ask(QUESTION)
        assert refused.engine == "local" and "HTTP 401" in wrong.server.reason
        from fieldmind.doctor import report

        doctor = json.dumps(report(right, measure=False))
        for services in (right, wrong):
            services.close()
    finally:
        server.kill()
    written = "".join(p.read_text() for p in tmp_path.rglob("*.log")) + doctor
    assert "s3cret" not in written and "not-the-token" not in written


def test_doctor_shows_the_server_its_model_speed_and_what_travels(
    isolated_home: Path, llama_server: LlamaServer
) -> None:
    data = _fieldmind_json("doctor", "--json", "--no-measure", "--engine-url", llama_server.url)
    server = data["inference_server"]
    assert server["state"] == "up" and server["model"] == llama_server.model.name
    assert server["round_trip_ms"] > 0 and server["tokens_per_s"] > 0 and server["first_token_ms"] > 0
    assert "never a document" in server["what_travels"] and server["token"] == "none"
    assert data["network_policy"]["allowed_endpoints"] == [f"127.0.0.1:{llama_server.port}"]


SANDBOX = shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0


@pytest.mark.skipif(not SANDBOX, reason="needs unshare with a network namespace (root or user namespaces)")
def test_with_no_network_at_all_the_local_model_answers_within_the_bound(isolated_home: Path) -> None:
    unreachable = "http://10.20.30.40:8080"
    answer = _fieldmind_json("ask", "--json", "--engine-url", unreachable, QUESTION, prefix=("unshare", "-n"))
    assert answer["found"] and answer["engine"] == "local" and answer["model"] == SMALL_MODEL
    timings = answer["timings"]
    # no connect or DNS wait: the bound at most, then the local model's first token (generous: a loaded machine)
    assert timings["first_token_ms"] - timings["quote_ms"] < 800 + 10_000


async def test_the_status_bar_says_which_engine_answers_and_follows_the_server(
    isolated_home: Path, embedder: Any, llama_server: LlamaServer
) -> None:
    """Site server up: "(site server)"; killed: the next answer is this laptop's and the bar says so; back: the
    bar follows by itself (a background health check, the UI never waits on it)."""
    from fakes import FakeScriptedEngine, services_factory
    from fieldmind.settings import load_settings
    from fieldmind.tui.app import FieldmindApp
    from test_tui import ANSWER, ask, exchanges, wait_until

    server = {"backend": "server", "url": llama_server.url, "api": "completion", "retry_s": 0.3, "first_byte_ms": 15e3}
    settings = load_settings(isolated_home, engine=server)
    app = FieldmindApp(settings, services_factory(embedder, FakeScriptedEngine(ANSWER)))

    def bar() -> str:
        return str(app.screen.query_one("StatusBar").render())

    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready" and app.engine_state == "server")
        assert f"{llama_server.model.name} (site server)" in bar()
        await ask(pilot)
        # generous: a real llama.cpp server answering on cores the suite shares (timed out once at 30 s under load)
        await wait_until(pilot, lambda: bool(exchanges(app)) and exchanges(app)[0].answer is not None, timeout=90)
        assert exchanges(app)[0].answer.engine == "server"

        llama_server.kill()
        await ask(pilot)
        await wait_until(pilot, lambda: len(exchanges(app)) == 2 and exchanges(app)[1].answer is not None, timeout=90)
        answer = exchanges(app)[1].answer
        assert answer.engine == "local" and answer.short_answer == "".join(ANSWER)
        assert "fake-scripted (this laptop; site server unreachable)" in bar()

        llama_server.start()
        await wait_until(pilot, lambda: app.engine_state == "server")
        assert f"{llama_server.model.name} (site server)" in bar()


def test_stop_ends_a_server_answer_and_the_server_stays_in_use(
    tmp_path: Path, embedder: Any, llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Esc in the app (the pipeline's `stop`) ends the server's stream as it ends the local model's: the answer
    is marked stopped after the words already in, and the server is not taken for down."""
    from fieldmind.answers import short
    from fieldmind.llm.prompts import Prompt

    counting = Prompt(messages=[], completion="Numbers from one to sixty: 1, 2, 3, 4, 5,", stops=[])
    monkeypatch.setattr(short, "prompt", lambda question, quote: counting)
    services = _services(tmp_path / "home", embedder, llama_server.url)
    services.open_knowledge()
    asked = []

    def stop_after_three_pieces() -> bool:  # asked once before the short answer, then after each piece
        asked.append(1)
        return len(asked) > 3

    events = services.assistant().ask_stream(QUESTION, stop=stop_after_three_pieces)
    answer = next(event for event in events if type(event).__name__ == "AnswerDone").answer
    assert answer.stopped and answer.engine == "server" and answer.timings.tokens == 3
    assert services.server.up
    assert [(e["event"], e["ended"]) for e in _events(tmp_path / "home")] == [("answered", "stopped")]
    assert services.assistant().ask(QUESTION).engine == "server"  # the next answer: the server again
    services.close()


def test_a_bad_server_setting_is_one_clear_error(isolated_home: Path) -> None:
    """Not an http(s) URL, or a server backend with no URL: one line naming the setting, no traceback."""
    bad_url = subprocess.run(
        [*fieldmind_command(), "ask", "--engine-url", "ftp://site-box/models", QUESTION],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad_url.returncode == 1 and "Traceback" not in bad_url.stderr
    assert "engine.url" in bad_url.stderr and "must start with http:// or https://" in bad_url.stderr
    no_url = subprocess.run(
        [*fieldmind_command(), "ask", QUESTION],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FIELDMIND_ENGINE__BACKEND": "server"},
    )
    assert no_url.returncode == 1 and "Traceback" not in no_url.stderr
    assert "engine.url is not set" in no_url.stderr and "--engine-url" in no_url.stderr


def _server_client(url: str, tmp_path: Path, **engine: Any) -> Any:
    from fieldmind.llm.server import InferenceServer
    from fieldmind.settings import EngineSettings

    settings = EngineSettings(backend="server", url=url, api="completion", model="m", **engine)
    return InferenceServer(settings, tmp_path / "engine.log")


def _sse_start(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()


def test_a_server_streaming_forever_is_passed_over_at_the_answer_bound(tmp_path: Path) -> None:
    """A token every 0.2 s, never ending: `ask` had no output at 290 s. The whole answer has a bound."""
    from fieldmind.llm.prompts import Prompt
    from fieldmind.llm.server import ServerUnavailableError

    def forever(handler: Any) -> None:
        _sse_start(handler)
        while True:
            try:
                handler.wfile.write(b'data: {"choices": [{"text": "x"}]}\n\n')
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    server, url = misbehaving_server(forever)
    client = _server_client(url, tmp_path, answer_s=2.0, stall_s=5.0, first_byte_ms=3000)
    started = time.monotonic()
    pieces: list[str] = []
    with pytest.raises(ServerUnavailableError, match="longer than 2 s"):
        pieces.extend(client.stream(Prompt(messages=[], completion="q"), 48))
    assert 1.5 < time.monotonic() - started < 4.0 and pieces
    client.close()
    server.shutdown()


def test_one_endless_line_is_bounded_and_not_buffered_whole(tmp_path: Path) -> None:
    """One huge JSON line with no newline drove the process to 2.88 GB: a line over 64 KB ends the answer."""
    import resource

    from fieldmind.llm.prompts import Prompt
    from fieldmind.llm.server import ServerUnavailableError

    def endless_line(handler: Any) -> None:
        _sse_start(handler)
        handler.wfile.write(b'data: {"choices": [{"text": "')
        block = b"a" * 2**20
        for _ in range(3000):  # 3 GB if nobody stops reading
            try:
                handler.wfile.write(block)
            except OSError:
                return

    server, url = misbehaving_server(endless_line)
    client = _server_client(url, tmp_path, answer_s=60.0, stall_s=5.0, first_byte_ms=3000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ServerUnavailableError, match="over 64 KB"):
        list(client.stream(Prompt(messages=[], completion="q"), 48))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, grown_mb
    client.close()
    server.shutdown()


def test_an_error_page_echoing_the_request_never_puts_the_token_anywhere(tmp_path: Path) -> None:
    """A 500 reply that echoes the request put `Authorization: Bearer <token>` into logs/engine.log."""
    from fieldmind.llm.prompts import Prompt
    from fieldmind.llm.server import ServerUnavailableError

    def echo(handler: Any) -> None:
        page = f"internal error; your request was: {handler.headers}".encode()
        handler.send_response(500)
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)

    server, url = misbehaving_server(echo)
    client = _server_client(url, tmp_path, token="s3cret-site-token", first_byte_ms=3000)
    with pytest.raises(ServerUnavailableError) as caught:
        list(client.stream(Prompt(messages=[], completion="q"), 48))
    client.mark_down(str(caught.value))
    client.close()
    server.shutdown()
    written = (tmp_path / "engine.log").read_text() + str(caught.value) + client.reason
    assert "HTTP 500" in written and "Bearer" in str(caught.value)
    assert "s3cret" not in written


def test_a_server_url_given_with_v1_is_the_same_server(tmp_path: Path) -> None:
    """`http://host:8080/v1`, the base URL OpenAI-style clients document, failed with "HTTP 404 from
    /v1/completions" and answered locally; both forms name the same server now."""
    from fieldmind.llm.prompts import Prompt

    seen: list[str] = []

    def answer(handler: Any) -> None:
        seen.append(handler.path)
        _sse_start(handler)
        handler.wfile.write(b'data: {"choices": [{"text": "90 N.m"}]}\n\ndata: [DONE]\n\n')

    server, url = misbehaving_server(answer)
    for given in (url, url + "/v1", url + "/v1/"):
        client = _server_client(given, tmp_path, first_byte_ms=3000)
        assert "".join(client.stream(Prompt(messages=[], completion="q"), 8)) == "90 N.m"
        client.close()
    server.shutdown()
    assert seen == ["/v1/completions"] * 3
