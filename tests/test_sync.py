"""Sync end to end against a real HTTP server on loopback and a folder source, with the faults it must survive."""

from __future__ import annotations

import errno
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from fieldmind.sync.fetch import FolderSource, SyncError, TransientError
from fieldmind.sync.metadata import FILES_DIR, INDEX_FILE, PackEntry, SiteIndex, utcnow
from fieldmind.sync.runner import run_sync
from fieldmind.sync.state import SyncPaths, SyncState
from sync_helpers import DOCS_V1, DOCS_V2, Publisher, device, pack_docs
from sync_server import serve


@pytest.fixture
def publisher(tmp_path: Path) -> Publisher:
    return Publisher(tmp_path / "publisher")


def _answers(services, query: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(p.text for p in services.knowledge.search(query, k=3))


def test_http_sync_applies_a_pack_then_only_what_changed(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, faults):
        stages: list[Any] = []
        result = run_sync(services, url, progress=stages.append)
        assert result.applied == [{"name": "pumps", "version": 1, "added": 3, "updated": 0, "removed": 0}]
        assert result.up_to_date and not result.rejected
        downloads = [s for s in stages if s.stage == "downloading"]
        assert [(s.done, s.total) for s in downloads] == [(1, 3), (2, 3), (3, 3)]  # counts, not a bare "syncing"
        assert downloads[0].seconds_left is None and downloads[1].seconds_left is not None  # a pace once one is in
        assert downloads[0].describe() == "downloading 1/3" and stages[-1].describe() == "applying"
        assert pack_docs(services) == dict.fromkeys(["pump.md", "valve.md", "filter.md"], "pack:pumps@1")
        assert "42 N.m" in _answers(services, "HT-9 impeller nut torque")

        publisher.publish(2, DOCS_V2)
        embedded: list[str] = []
        original = services.embedder.encode
        services.embedder.encode = lambda texts: (embedded.extend(texts), original(texts))[1]  # type: ignore[method-assign]
        faults.requests.clear()
        result = run_sync(services, url)
        services.embedder.encode = original  # type: ignore[method-assign]
        assert result.applied == [{"name": "pumps", "version": 2, "added": 1, "updated": 1, "removed": 1}]
        assert all("NV-220" not in text for text in embedded), embedded
        fetched = [p for method, p, _ in faults.requests if p.startswith("/files/")]
        assert len(fetched) == 2  # only the two new files
        assert pack_docs(services) == dict.fromkeys(["pump.md", "valve.md", "gauge.md"], "pack:pumps@2")
        text = _answers(services, "HT-9 impeller nut torque")
        assert "55 N.m" in text and "42 N.m" not in text
        assert "FX-7" not in _answers(services, "FX-7 filter element replacement")

        again = run_sync(services, url)
        assert again.applied == [] and again.up_to_date
    audit = [json.loads(line) for line in SyncPaths(isolated_home).audit.read_text().splitlines()]
    assert [(a["pack"], a["version"]) for a in audit if a["event"] == "applied"] == [("pumps", 1), ("pumps", 2)]
    assert all(len(f["sha256"]) == 64 for f in audit[-1]["files"])


def test_folder_source_like_a_usb_stick(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    result = run_sync(services, str(publisher.site))
    assert result.applied[0]["added"] == 3
    assert len(list(SyncPaths(isolated_home).library.glob("[0-9a-f]" * 8 + "*"))) >= 3
    from fieldmind.doctor import index_health

    assert not list((isolated_home / "index").glob("*/.writing"))  # a whole, checked sync is no interrupted write
    health = index_health(services)
    assert health["ok"] and not health["interrupted_write"], health


def test_a_site_signed_by_another_key_is_rejected(publisher, isolated_home, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stranger = Publisher(tmp_path / "stranger")
    stranger.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    result = run_sync(services, str(stranger.site))
    assert result.applied == [] and "no valid signature by a trusted publisher key" in result.rejected[0]["reason"]
    assert pack_docs(services) == {}


def test_missing_or_tampered_signatures_are_rejected(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    index_file = publisher.site / INDEX_FILE
    document = json.loads(index_file.read_text())
    tampered = dict(document, signed=dict(document["signed"], serial=99))
    index_file.write_text(json.dumps(tampered))
    assert "no valid signature" in run_sync(services, str(publisher.site)).rejected[0]["reason"]
    index_file.write_text(json.dumps(dict(document, signatures=[])))
    assert "no signature" in run_sync(services, str(publisher.site)).rejected[0]["reason"]
    assert pack_docs(services) == {}


def test_an_older_version_replayed_is_refused(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    old_site = publisher.snapshot("v1")
    publisher.publish(2, DOCS_V2)
    services = device(isolated_home, embedder, publisher.public)
    run_sync(services, str(publisher.site))
    result = run_sync(services, str(old_site))
    assert result.rejected == [{"name": "pumps", "reason": "rollback refused: the site offers v1, this device has v2"}]
    assert set(pack_docs(services).values()) == {"pack:pumps@2"}
    assert SyncState.load(SyncPaths(isolated_home).state).floors == {"pumps": 2}


def test_expired_metadata_is_refused_and_current_knowledge_still_served(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    first = run_sync(services, str(publisher.site))
    publisher.publish(2, DOCS_V2, expires_days=1 / 86400)  # one second
    time.sleep(1.5)
    result = run_sync(services, str(publisher.site))
    assert result.applied == [] and "metadata expired" in result.rejected[0]["reason"]
    assert not result.up_to_date and result.last_verified == first.last_verified
    assert "42 N.m" in _answers(services, "HT-9 impeller nut torque")


def test_a_clock_set_back_is_refused(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    paths = SyncPaths(isolated_home)
    paths.ensure()
    SyncState(last_seen_time="2099-01-01T00:00:00+00:00").save(paths.state)
    with pytest.raises(SyncError, match=r"clock .* is behind the last time seen"):
        run_sync(services, str(publisher.site))


def test_files_mixed_from_two_versions_are_rejected(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    v1_files = {p.name: p.read_bytes() for p in (publisher.site / FILES_DIR).iterdir()}
    publisher.publish(2, DOCS_V2)
    index = json.loads((publisher.site / INDEX_FILE).read_text())["signed"]
    pump_v2 = next(f for f in index["packs"]["pumps"]["files"] if f["path"] == "pump.md")
    pump_v1 = next(content for content in v1_files.values() if b"42 N.m" in content)
    (publisher.site / FILES_DIR / pump_v2["sha256"]).write_bytes(pump_v1)  # v1's file served as v2's
    services = device(isolated_home, embedder, publisher.public)
    with pytest.raises(SyncError, match=r"does not match its signed sha256|signed index says"):
        run_sync(services, str(publisher.site))
    assert pack_docs(services) == {}


@pytest.mark.parametrize(
    "bad_path", ["../evil.md", "/etc/passwd.md", "docs/../../x.md", "a\\b.md", ".hidden.md", "bad\x07.md"]
)
def test_path_tricks_in_signed_metadata_are_refused(publisher, isolated_home, embedder, bad_path: str) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.sync import keys

    publisher.site.mkdir(parents=True)
    entry = PackEntry(version=1, published=utcnow(), files=[])
    raw = SiteIndex(serial=1, issued=utcnow(), expires=utcnow().replace(year=2099), packs={"pumps": entry})
    signed = raw.model_dump(mode="json")
    signed["packs"]["pumps"]["files"] = [{"path": bad_path, "sha256": "0" * 64, "length": 1}]
    document = {"signed": signed, "signatures": []}
    private = keys.load_private(publisher.key)
    from fieldmind.sync.metadata import canonical

    document["signatures"] = [
        {"keyid": keys.key_id(private.public_key()), "sig": keys.sign(private, canonical(signed))}
    ]
    (publisher.site / INDEX_FILE).write_text(json.dumps(document))
    services = device(isolated_home, embedder, publisher.public)
    result = run_sync(services, str(publisher.site))
    assert "malformed" in result.rejected[0]["reason"] and result.applied == []


def _site_file_paths(site: Path) -> list[str]:
    index = json.loads((site / INDEX_FILE).read_text())["signed"]
    return [f"/{FILES_DIR}/{f['sha256']}" for f in index["packs"]["pumps"]["files"]]


def test_a_truncated_download_is_resumed_with_range(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, {"big.md": "# Big\n\n" + "The FX-7 filter element lasts 300 hours. " * 400})
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, faults):
        path = _site_file_paths(publisher.site)[0]
        faults.truncate[path] = 5000
        result = run_sync(services, url)
    assert result.applied[0]["added"] == 1
    ranges = [r for method, p, r in faults.requests if p == path]
    assert ranges == [None, "bytes=5000-"]


def test_a_server_that_ignores_range_restarts_from_zero(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, {"big.md": "# Big\n\n" + "The FX-7 filter element lasts 300 hours. " * 400})
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, faults):
        path = _site_file_paths(publisher.site)[0]
        faults.truncate[path] = 5000
        faults.ignore_range = True
        result = run_sync(services, url)
    assert result.applied[0]["added"] == 1
    assert "300 hours" in _answers(services, "FX-7 filter element")


def test_a_flipped_bit_is_rejected_and_refetched(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, faults):
        path = _site_file_paths(publisher.site)[0]
        faults.flip[path] = 10
        result = run_sync(services, url)
    assert result.applied[0]["added"] == 3
    assert [p for _, p, _ in faults.requests].count(path) == 2


def test_a_body_longer_than_declared_is_cut_off_and_refused(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, faults):
        path = _site_file_paths(publisher.site)[0]
        faults.extra[path] = 10_000_000
        with pytest.raises(SyncError, match="longer than the declared"):
            run_sync(services, url)
    assert pack_docs(services) == {}
    assert not list(SyncPaths(isolated_home).staging.glob("*.partial"))


def test_disk_full_during_staging_stops_cleanly(publisher, isolated_home, embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Simulated full disk: writes to staging fail with ENOSPC (a real small filesystem needs mount rights)."""
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    real_open = Path.open

    def full_disk_open(self, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(self, mode, *args, **kwargs)
        if self.name.endswith(".partial") and ("w" in mode or "a" in mode):

            def write(_data):  # type: ignore[no-untyped-def]
                raise OSError(errno.ENOSPC, "No space left on device")

            handle.write = write
        return handle

    monkeypatch.setattr(Path, "open", full_disk_open)
    with pytest.raises(SyncError, match="disk full"):
        run_sync(services, str(publisher.site))
    monkeypatch.undo()
    assert pack_docs(services) == {}
    assert run_sync(services, str(publisher.site)).applied[0]["added"] == 3  # and it works once there is room


def test_a_usb_stick_removed_mid_copy_applies_nothing(
    publisher, isolated_home, embedder, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    run_sync(services, str(publisher.site))
    publisher.publish(2, DOCS_V2)
    stick = tmp_path / "usb"
    shutil.copytree(publisher.site, stick)
    real_fetch = FolderSource.fetch_file
    calls = []

    def pulled_out(self, sha256, length, dest, progress=None):  # type: ignore[no-untyped-def]
        calls.append(sha256)
        if len(calls) == 2:
            shutil.rmtree(stick)
        return real_fetch(self, sha256, length, dest, progress)

    monkeypatch.setattr(FolderSource, "fetch_file", pulled_out)
    monkeypatch.setattr("fieldmind.sync.runner.time.sleep", lambda _s: None)
    with pytest.raises(TransientError, match="was the stick removed"):
        run_sync(services, str(stick))
    assert set(pack_docs(services).values()) == {"pack:pumps@1"}
    assert "42 N.m" in _answers(services, "HT-9 impeller nut torque")


def test_an_extra_unsigned_file_on_the_site_is_ignored(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    publisher.publish(1, DOCS_V1)
    (publisher.site / "extra.md").write_text("# Extra\n\nUnsigned advice: torque everything to 999 N.m.\n")
    (publisher.site / FILES_DIR / ("f" * 64)).write_text("# Smuggled\n\n999 N.m\n")
    services = device(isolated_home, embedder, publisher.public)
    with serve(publisher.site) as (url, _faults):
        run_sync(services, url)
    assert not any("999" in p.text for p in services.knowledge.search("torque 999 N.m", k=5))
    assert ("f" * 64) not in {p.name for p in SyncPaths(isolated_home).library.iterdir()}


def test_two_syncs_at_once_the_second_is_refused(publisher, isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    from filelock import FileLock

    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    paths = SyncPaths(isolated_home)
    paths.ensure()
    with FileLock(str(paths.lock)), pytest.raises(SyncError, match="another sync is running"):
        run_sync(services, str(publisher.site))
    assert run_sync(services, str(publisher.site)).applied


def test_a_trickled_body_ends_the_whole_sync_within_one_bound_not_one_per_retry(
    publisher, isolated_home, embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Every file body one byte every 0.2 s: each file was retried 4 × its own bound, with no bound on the whole.
    Now the downloads share one bound (each file's once), retries included."""
    from fieldmind.sync import fetch, runner

    publisher.publish(1, DOCS_V1)
    services = device(isolated_home, embedder, publisher.public)
    monkeypatch.setattr(fetch, "FILE_GRACE_S", 1.0)
    monkeypatch.setattr(runner, "FILE_GRACE_S", 1.0)
    monkeypatch.setattr(fetch, "MIN_RATE", 10**9)
    monkeypatch.setattr(runner, "MIN_RATE", 10**9)
    with serve(publisher.site) as (url, faults):
        faults.trickle = 0.2
        started = time.monotonic()
        with pytest.raises(TransientError, match=r"too slow|longer than their bound"):
            run_sync(services, url)
        assert time.monotonic() - started < 3 * 1.0 + 3.0  # three files' bounds once, not 4 tries × 3 files
    assert pack_docs(services) == {}
