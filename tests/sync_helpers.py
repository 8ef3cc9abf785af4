"""A publisher and a device for sync tests: real keys, real packs on disk, real services."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fieldmind.services import Services
from fieldmind.settings import load_settings, save_setting
from fieldmind.sync import keys
from fieldmind.sync.pack import build

DOCS_V1 = {
    "pump.md": "# HT-9 pump\n\n## Impeller\n\nThe HT-9 impeller nut torque is 42 N.m. Use thread locker.\n",
    "valve.md": "# NV-220 valve\n\nBleed the NV-220 valve until the oil runs clear, then close it by hand.\n",
    "filter.md": "# Filters\n\nReplace the FX-7 filter element every 300 hours of running.\n",
}
DOCS_V2 = {
    "pump.md": "# HT-9 pump\n\n## Impeller\n\nThe HT-9 impeller nut torque is 55 N.m since bulletin SB-12.\n",
    "valve.md": DOCS_V1["valve.md"],
    "gauge.md": "# PG-3 gauge\n\nThe PG-3 pressure gauge reads 0 to 16 bar; recalibrate it yearly.\n",
}


class Publisher:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys = root / "keys"
        keys.generate(self.keys)
        self.site = root / "site"

    @property
    def key(self) -> Path:
        return self.keys / keys.PRIVATE_FILE

    @property
    def public(self) -> Path:
        return self.keys / keys.PUBLIC_FILE

    def publish(self, version: int, docs: dict[str, str], name: str = "pumps", expires_days: float = 30) -> Path:
        src = self.root / f"src-{name}-{version}"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        for path, text in docs.items():
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            (src / path).write_text(text)
        build(src, name, version, self.key, self.site, expires_days)
        return self.site

    def snapshot(self, name: str) -> Path:
        """A copy of the site as it is now (to replay it later)."""
        copy = self.root / f"snapshot-{name}"
        shutil.copytree(self.site, copy)
        return copy


def trust(home: Path, public: Path) -> None:
    settings = load_settings(home)
    key = keys.load_public(public)
    entry = {"id": keys.key_id(key), "key": keys.public_b64(key), "added": "2026-11-26T00:00:00+00:00"}
    save_setting(settings, "sync.trusted_keys", [entry])


def device(home: Path, embedder: Any, public: Path | None = None, **settings: Any) -> Services:
    if public is not None:
        trust(home, public)
    return Services(load_settings(home, demo_knowledge=False, **settings), embedder=embedder)


def pack_docs(services: Services) -> dict[str, str]:
    """name -> source of the documents that came from packs."""
    return {d.name: d.source for d in services.knowledge.documents() if d.source.startswith("pack:")}
