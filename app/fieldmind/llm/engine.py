"""Running a GGUF model with llama-cpp-python: load once, stream tokens, stop when asked.

`llama_cpp` is imported on first load, never at import time. One engine serves one model; a lock keeps
llama.cpp's single context to one generation at a time.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

from fieldmind.errors import ModelError
from fieldmind.llm.catalog import ResolvedModel
from fieldmind.llm.prompts import Prompt
from fieldmind.quiet import quiet_stderr


def load_cpu_backend() -> None:
    """Load the best CPU backend for this machine when llama.cpp was built with one per CPU level.

    The self-contained bundle carries llama.cpp built with GGML_BACKEND_DL: `libggml-cpu-<level>` files
    beside libllama, of which ggml loads the best one this CPU can run. Its own search looks beside the
    executable and in the current directory, neither right for a Python program, so the library directory
    is named here. A build with one CPU backend linked in (the development install) has nothing to load.
    """
    import ctypes

    import llama_cpp
    from llama_cpp import _ggml

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    if not any(lib_dir.glob("*ggml-cpu-*")):
        return
    ggml = _ggml.libggml
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    if ggml.ggml_backend_reg_count() == 0:
        ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        with quiet_stderr():
            ggml.ggml_backend_load_all_from_path(os.fsencode(lib_dir))
    if ggml.ggml_backend_reg_count() == 0:
        raise ModelError(f"{lib_dir}: no llama.cpp CPU backend loads on this CPU; the bundle is incomplete")


def system_info() -> str:
    """llama.cpp's description of its build: which CPU features it was compiled to use."""
    import llama_cpp

    load_cpu_backend()
    info = llama_cpp.llama_print_system_info()
    return info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)


def check_build() -> str:
    """Refuse a llama.cpp build that would crash on this CPU (AMX, or instructions it lacks), with the fix."""
    from fieldmind.llm.cpu import build_problem

    info = system_info()
    problem = build_problem(info)
    if problem:
        raise ModelError(f"{problem}; rebuild it with packaging/setup.sh --rebuild-llama (portable flags).")
    return info


class Engine:
    """One loaded model and the settings it runs with."""

    backend = "local"

    def __init__(self, model: ResolvedModel, threads: int, context_size: int) -> None:
        self.model = model
        self.threads = threads
        self.context_size = context_size
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def wrote(self) -> tuple[str, str]:
        """(name, backend) of what wrote the latest answer: always this model."""
        return self.name, self.backend

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def load(self) -> None:
        """Load the weights (memory-mapped); safe to call again."""
        if self._llama is not None:
            return
        check_build()
        import llama_cpp

        try:
            with quiet_stderr():
                self._llama = llama_cpp.Llama(
                    model_path=str(self.model.path),
                    n_ctx=self.context_size,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    n_batch=512,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"{self.model.path}: llama.cpp could not load this model ({exc})") from exc

    def close(self) -> None:
        """Free the model, after the answer being written (if any) is done."""
        with self._lock:
            if self._llama is not None:
                with contextlib.suppress(Exception):
                    self._llama.close()
                self._llama = None

    def stream(self, prompt: Prompt, max_tokens: int) -> Generator[str, None, None]:
        """Text pieces as the model writes them (greedy). Closing the iterator stops it."""
        self.load()
        with self._lock:
            if self.model.chat:
                stream = self._llama.create_chat_completion(
                    messages=prompt.messages, max_tokens=max_tokens, temperature=0.0, stream=True
                )
                pieces = (c["choices"][0]["delta"].get("content") or "" for c in stream)
            else:
                stream = self._llama.create_completion(
                    prompt=prompt.completion,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    stop=prompt.stops,
                    stream=True,
                )
                pieces = (c["choices"][0]["text"] or "" for c in stream)
            try:
                for piece in pieces:
                    if piece:
                        yield piece
            finally:
                stream.close()
