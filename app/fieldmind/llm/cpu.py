"""Does this llama.cpp build fit this CPU? One check for setup.sh, the engine and doctor.

A build compiled for an instruction this CPU lacks dies with SIGILL on its first matrix product (seen on an
AMD EPYC without AVX-VNNI, running a build made with GGML_AVX_VNNI=ON on a Xeon), and a build with AMX
segfaults on AMX Xeons (llama.cpp issue 20824). Both are caught here, before a model is loaded, by comparing
llama.cpp's own feature line with /proc/cpuinfo. Standard library only: setup.sh runs it before install.
"""

from __future__ import annotations

from pathlib import Path

BUILD_TO_CPU = {
    "AVX": ("avx",),
    "AVX2": ("avx2",),
    "AVX_VNNI": ("avx_vnni",),
    "FMA": ("fma",),
    "F16C": ("f16c",),
    "BMI2": ("bmi2",),
    "AVX512": ("avx512f",),
    "AVX512_VBMI": ("avx512_vbmi", "avx512vbmi"),
    "AVX512_VNNI": ("avx512_vnni", "avx512vnni"),
    "AVX512_BF16": ("avx512_bf16",),
    "AMX_INT8": ("amx_int8",),
}
"""llama.cpp's name of a feature it was built to use → the /proc/cpuinfo flags that mean the CPU has it."""


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags, or None where /proc/cpuinfo cannot tell (not Linux)."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
    except OSError:
        return None
    return flags or None


def build_features(info: str) -> set[str]:
    """Features named "= 1" in llama.cpp's system info ("CPU : SSE3 = 1 | AVX = 1 | …")."""
    parts = (part.rsplit(":", 1)[-1] for part in info.split("|") if part.strip().endswith("= 1"))
    return {part.split("=")[0].strip() for part in parts}


def build_problem(info: str, flags: set[str] | None = None) -> str | None:
    """Why this build must not run here, or None when it fits the CPU."""
    enabled = build_features(info)
    if "AMX_INT8" in enabled:
        return (
            "llama-cpp-python was built with AMX (a native build), which crashes on AMX Xeons (llama.cpp issue 20824)"
        )
    flags = cpu_flags() if flags is None else flags
    if flags is None:
        return None
    missing = sorted(f for f in enabled if f in BUILD_TO_CPU and not any(c in flags for c in BUILD_TO_CPU[f]))
    if missing:
        return f"llama-cpp-python was built for CPU instructions this machine lacks ({', '.join(missing)})"
    return None


if __name__ == "__main__":  # packaging/setup.sh: exit 4 when the installed build must not run here
    import sys

    import llama_cpp

    line = llama_cpp.llama_print_system_info()
    text = line.decode() if isinstance(line, bytes) else str(line)
    problem = build_problem(text)
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(4)
    print(text)
