"""`fieldmind doctor`: this machine, its llama.cpp build, which models fit and how fast, paths, index health,
network policy and sync state — what a field technician or their IT desk needs when something is off.

Model speeds are measured once per model file and llama.cpp build (a short generation) and cached in
`<home>/doctor.json`; models not installed get an estimate scaled by size from a measured one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldmind.services import Services

CPU_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_int8",
    "amx_tile",
    "neon",
    "asimd",
)


def cpu_features() -> dict[str, Any]:
    model, flags = platform.processor() or "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"model": model, "features": [f for f in CPU_FLAGS if f in flags]}


def llama_build() -> dict[str, Any]:
    try:
        from fieldmind.llm.engine import system_info
    except ImportError as exc:  # pragma: no cover - llama_cpp missing
        return {"error": str(exc)}
    try:
        info = system_info()
    except Exception as exc:
        return {"error": f"llama-cpp-python does not load: {exc}"}
    from fieldmind.llm.cpu import build_features, build_problem

    enabled = sorted(build_features(info))
    problem = build_problem(info)
    return {"features": enabled, "amx": "AMX_INT8" in enabled, "safe_on_this_cpu": problem is None, "problem": problem}


def _measure(path: Path, threads: int) -> float:
    from fieldmind.llm.catalog import ResolvedModel
    from fieldmind.llm.engine import Engine

    engine = Engine(ResolvedModel(path.stem, path, False, path.stat().st_size), threads, 512)
    engine.load()
    try:
        llama = engine._llama
        ids = llama.tokenize(b"The maintenance schedule of a diesel generator", add_bos=True)
        stamps = []
        for n, _ in enumerate(llama.generate(ids, temp=0.0)):
            stamps.append(time.perf_counter())
            if n >= 32:
                break
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])
    finally:
        engine.close()


def model_speeds(services: Services, measure: bool) -> list[dict[str, Any]]:
    from fieldmind.llm.catalog import fits
    from fieldmind.llm.engine import system_info

    cache_path = services.settings.home / "doctor.json"
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    build = hashlib.sha256(system_info().encode()).hexdigest()[:16]
    rows = []
    for entry in services.catalog:
        installed = services.catalog.is_installed(entry)
        key = f"{entry.sha256}:{build}"
        speed, how = cache.get(key), "measured"
        if speed is None and installed and measure:
            speed = round(_measure(services.catalog.file_of(entry), services.settings.threads), 1)
            cache[key] = speed
        rows.append(
            {
                "name": entry.name,
                "size_bytes": entry.size_bytes,
                "installed": installed,
                "fits": fits(entry),
                "tokens_per_s": speed,
                "how": how if speed else None,
            }
        )
    measured = [(r["size_bytes"], r["tokens_per_s"]) for r in rows if r["tokens_per_s"]]
    if measured:
        size, speed = measured[0]
        for row in rows:
            if not row["tokens_per_s"]:
                row["tokens_per_s"] = round(speed * size / row["size_bytes"], 1)
                row["how"] = "estimated from size"
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache))
    return rows


def site_health(services: Services) -> dict[str, Any] | None:
    """The site's shared store, when one is configured: where, how big, how far (one heartbeat)."""
    site = services.knowledge.site
    if site is None:
        return None
    from fieldmind.knowledge.site import SiteOfflineError
    from fieldmind.sources import DocumentSource

    copy = sum(1 for d in services.knowledge.documents() if DocumentSource.parse(d.source).is_site)
    try:
        round_trip = site.round_trip_ms()
        counts = site.counts()
    except SiteOfflineError as exc:
        return {"server": site.where, "ok": False, "error": str(exc), "local_copy_documents": copy}
    return {
        "server": site.where,
        "ok": True,
        "round_trip_ms": round(round_trip, 1),
        "documents": counts["documents"],
        "passages": counts["passages"],
        "local_copy_documents": copy,
        "terminal": site.terminal,
        "what_travels": "passages, page texts and vectors of documents ingested with --site; nothing else",
    }


def inference_server(services: Services) -> dict[str, Any] | None:
    """The site's inference server, when one is configured: its model, round trip and speed (always measured:
    a bounded round trip and 32 tokens), and what travels."""
    server = services.server
    if server is None:
        return None
    return server.probe() | {
        "first_byte_bound_ms": services.settings.engine.first_byte_ms,
        "fallback": f"this laptop's model ({services.settings.model.name}) whenever the server is late or down",
        "what_travels": "the question and the quote chosen from your manuals, for the short answer; never a document",
        "log": str(services.settings.logs_dir / "engine.log"),
    }


def index_health(services: Services) -> dict[str, Any]:
    kb = services.knowledge
    try:
        counts = kb.counts()
        vectors = counts["vectors"]
        generation = kb.current_generation()
        packs = kb.pack_versions()
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    journal = services.settings.home / "sync" / "journal.json"
    return {
        "ok": vectors == counts["chunks"] and not kb.interrupted(),
        "generation": generation,
        "documents": counts["documents"],
        "passages": counts["chunks"],
        "vectors": vectors,
        "interrupted_write": kb.interrupted(),
        "sync_in_progress": journal.exists(),
        "packs": packs,
    }


def reader_health(services: Services) -> dict[str, Any]:
    """Whether Fieldmind's own reader scores the answers, or why the hand-weighted scores stand in for it."""
    from fieldmind.answers.reader import ReaderError

    reader = services.reader
    if reader is None:
        return {"ok": False, "file": None, "scoring": "hand-weighted", "error": "this build ships no reader"}
    try:
        reader.load()
    except ReaderError as exc:
        return {"ok": False, "file": str(reader.file.path), "scoring": "hand-weighted", "error": str(exc)}
    return {"ok": True, "file": str(reader.file.path), "sha256": reader.file.sha256, "scoring": "reader"}


def report(services: Services, measure: bool = True) -> dict[str, Any]:
    from fieldmind import netguard
    from fieldmind.llm.catalog import total_ram_bytes
    from fieldmind.sync.state import SyncPaths, SyncState

    settings = services.settings
    state = SyncState.load(SyncPaths(settings.home).state)
    return {
        "machine": {
            "cores": os.cpu_count(),
            "ram_gb": round(total_ram_bytes() / 2**30, 1),
            "cpu": cpu_features(),
            "os": platform.platform(),
            "python": platform.python_version(),
        },
        "llama_cpp": llama_build(),
        "models": model_speeds(services, measure),
        "active_model": settings.model.name,
        "reader": reader_health(services),
        "paths": {
            "home": str(settings.home),
            "models": str(settings.models_dir),
            "index": str(settings.index_dir),
            "library": str(settings.home / "library"),
            "logs": str(settings.logs_dir),
        },
        "index": index_health(services),
        "site_store": site_health(services),
        "inference_server": inference_server(services),
        "network_policy": netguard.describe(),
        "sync": {
            "source": settings.sync.source,
            "trusted_keys": len(settings.sync.trusted_keys),
            "last_verified": state.last_verified,
            "version_floors": state.floors,
        },
    }
