"""The map in the README's Layout section, enforced: which layer may import which (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "app" / "fieldmind"

FORBIDDEN = {
    # layer (module prefix): what it must never import, at any depth
    "fieldmind.knowledge": (
        "fieldmind.answers",
        "fieldmind.assistant",
        "fieldmind.llm",
        "fieldmind.sync",
        "fieldmind.cli",
        "fieldmind.tui",
        "textual",
    ),
    "fieldmind.llm": (
        "fieldmind.knowledge",
        "fieldmind.answers",
        "fieldmind.assistant",
        "fieldmind.sync",
        "fieldmind.cli",
        "fieldmind.tui",
        "textual",
    ),
    "fieldmind.answers": ("fieldmind.sync", "fieldmind.llm.engine", "fieldmind.cli", "fieldmind.tui", "textual"),
    "fieldmind.assistant": ("fieldmind.sync", "fieldmind.cli", "fieldmind.tui", "textual"),
    "fieldmind.sync": (
        "fieldmind.services",  # sync takes what it writes (SyncTarget), not the composition root
        "fieldmind.answers",
        "fieldmind.assistant",
        "fieldmind.cli",
        "fieldmind.tui",
        "textual",
        # sync deals in packs and journals; index generations are the knowledge layer's (generations, staging)
        "fieldmind.knowledge.store",
        "fieldmind.knowledge.ingest",
        "fieldmind.knowledge.vectors",
    ),
    # the read side (a question) never writes, locks for writing nor connects: not even by way of the site
    "fieldmind.knowledge.reading": (
        "fieldmind.knowledge.index",
        "fieldmind.knowledge.ingest",
        "fieldmind.knowledge.site",
        "fieldmind.knowledge.staging",
        "fieldmind.knowledge.repair",
        "filelock",
        "httpx",
        "urllib",
        "socket",
    ),
    # the ingest pipeline writes into what it is given, never the knowledge base that drives it
    "fieldmind.knowledge.ingest": ("fieldmind.knowledge.index", "fieldmind.knowledge.staging"),
    "fieldmind.services": ("fieldmind.cli", "fieldmind.tui", "textual"),
    "fieldmind.cli": ("fieldmind.tui.screens", "fieldmind.tui.widgets", "textual"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    module = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_each_layer_imports_only_what_it_may() -> None:
    assert {"fieldmind.answers", "fieldmind.knowledge.retrieve"} <= _imports(PACKAGE / "assistant.py")  # it reads
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        for layer, banned in FORBIDDEN.items():
            if name == layer or name.startswith(layer + "."):
                for imported in sorted(_imports(path)):
                    if any(imported == b or imported.startswith(b + ".") for b in banned):
                        broken.append(f"{name} imports {imported} (layer {layer} may not)")
    assert not broken, "\n".join(broken)
