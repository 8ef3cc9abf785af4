"""Hostile and broken files (issue 15): bounded, named, and never stopping the rest of an ingest."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT

GOOD = "# Pump\n\nThe HT-9 impeller nut torque is 42 N.m.\n"


def _docx_with(path: Path, document_xml: bytes | None = None, inflate_mb: int = 0) -> Path:
    """A Word file made from a real one, its main part replaced (or grown by `inflate_mb` of spaces)."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, source.read(item))
                continue
            if document_xml is not None:
                out.writestr(item.filename, document_xml)
            else:
                with out.open(item.filename, "w", force_zip64=True) as part:
                    part.write(source.read(item)[:-20])
                    block = b" " * 2**20
                    for _ in range(inflate_mb):
                        part.write(block)
    return path


def _lying_docx(path: Path, inflate_mb: int, declared: int) -> Path:
    """A Word file whose main part inflates to `inflate_mb` MB while its zip headers declare `declared` bytes."""
    import struct

    _docx_with(path, inflate_mb=inflate_mb)
    data = bytearray(path.read_bytes())
    name = b"word/document.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + size_at : at + size_at + 4] = struct.pack("<I", declared)
            at = data.find(signature, at + 4)
    # zip64 extra fields carry the real size too (force_zip64): lie there as well
    data = data.replace(struct.pack("<Q", inflate_mb * 2**20 + 1), struct.pack("<Q", declared))
    path.write_bytes(bytes(data))
    return path


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>
<w:t>&lol4;</w:t></w:r></w:p></w:body></w:document>"""

INGEST_AND_MEASURE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from fieldmind.knowledge.index import KnowledgeBase
from fieldmind.knowledge.embedder import Embedder, ONNX_NAME
kb = KnowledgeBase(Path(sys.argv[2]), embedder=Embedder(onnx_path=Path(sys.argv[4]) / ONNX_NAME))
report = kb.ingest([Path(sys.argv[3])])
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(json.dumps({"report": report.to_json(), "peak_mb": int(hwm.split()[1]) // 1024}))
"""


def _ingest_and_measure(index: Path, folder: Path, embedder) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Ingest `folder` in a fresh process: its report and its peak memory (MB)."""
    command = [sys.executable, "-c", INGEST_AND_MEASURE, str(ROOT / "app"), str(index), str(folder)]
    out = subprocess.run([*command, str(embedder.onnx_path.parent)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[type-arg]
    return result


def test_a_docx_bomb_is_refused_before_it_inflates_and_the_good_file_is_added(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "manuals"
    folder.mkdir()
    _docx_with(folder / "bomb.docx", inflate_mb=600)
    assert (folder / "bomb.docx").stat().st_size < 3 * 2**20  # small on disk, 600 MB inflated
    (folder / "pump.md").write_text(GOOD)
    result = _ingest_and_measure(tmp_path / "index", folder, embedder)
    assert result["report"]["added"] == 1
    [failure] = result["report"]["failed"]
    assert failure["path"].endswith("bomb.docx") and "decompression bomb" in failure["error"]
    assert result["peak_mb"] < 500, result


@pytest.mark.parametrize(
    ("name", "xml"),
    [("malformed.docx", b"<w:document><w:body><w:p>unclosed"), ("laughs.docx", BILLION_LAUGHS)],
)
def test_broken_word_xml_fails_that_file_only(writable_kb, tmp_path: Path, name: str, xml: bytes) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "manuals"
    folder.mkdir()
    _docx_with(folder / name, document_xml=xml)
    (folder / "pump.md").write_text(GOOD)
    report = writable_kb.ingest([folder])
    assert report.added == 1 and [f["path"] for f in report.failed] == [str(folder / name)]
    assert report.failed[0]["error"] and "\n" not in report.failed[0]["error"]


def test_fifos_devices_and_odd_names_are_named_and_never_hang(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "manuals"
    folder.mkdir()
    os.mkfifo(folder / "pipe.md")
    (folder / "device.md").symlink_to("/dev/zero")
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    odd = os.fsencode(folder) + b"/caf\xe9-manual.md"  # not valid UTF-8, as on some USB sticks
    Path(os.fsdecode(odd)).write_text(GOOD.replace("HT-9", "HT-7"))
    (folder / "pump.md").write_text(GOOD)
    report = writable_kb.ingest([folder])  # hashing a FIFO before the type check hung here for ever
    assert report.added == 2, report.failed
    names = [d.name for d in writable_kb.documents()]
    assert "caf\\xe9-manual.md" in names and not any("\\udc" in n for n in names), names  # the byte, as the README says
    reasons = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert "named pipe" in reasons["pipe.md"] and "device" in reasons["device.md"]
    assert "dangling" in reasons["dangling.md"]
    assert all(r.endswith("only regular files are read") or "dangling" in r for r in reasons.values())


BROKEN = {
    ".pdf": lambda rnd: b"%PDF-1.4\n" + rnd,
    ".docx": lambda rnd: b"PK\x03\x04" + rnd,
    ".md": lambda rnd: b"\x00" + rnd,
    ".html": lambda rnd: rnd[:1] + b"\xff\xfe\x00" + rnd,
    ".txt": lambda rnd: b"",
}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from(sorted(BROKEN)), min_size=1, max_size=4),
    noise=st.binary(min_size=16, max_size=2000),
)
def test_a_folder_of_good_and_broken_files_adds_every_good_one(tmp_path_factory, embedder, kinds, noise) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    folder = tmp_path_factory.mktemp("mixed")
    good = []
    for n in range(2):
        path = folder / f"good-{n}.md"
        path.write_text(GOOD.replace("42", str(40 + n)))
        good.append(path)
    bad = []
    for n, suffix in enumerate(kinds):
        path = folder / f"bad-{n}{suffix}"
        path.write_bytes(BROKEN[suffix](noise))
        bad.append(path)
    kb = KnowledgeBase(folder / ".index", embedder=embedder)
    try:
        report = kb.ingest([folder])
        assert report.added == len(good)
        assert sorted(f["path"] for f in report.failed) == sorted(map(str, bad))
        assert all(f["error"] and "Traceback" not in f["error"] for f in report.failed)
    finally:
        kb.close()


def _resign(signed: dict[str, object]) -> tuple[bytes, dict[str, object]]:
    """Signed metadata with odd but validly signed content (whoever holds the publisher key can write it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldmind.sync import keys
    from fieldmind.sync.metadata import canonical

    private = Ed25519PrivateKey.generate()
    signature = {"keyid": keys.key_id(private.public_key()), "sig": keys.sign(private, canonical(signed))}
    raw = json.dumps({"signed": signed, "signatures": [signature]}).encode()
    return raw, {keys.key_id(private.public_key()): private.public_key()}


GOOD_FILE = {"path": "a.md", "sha256": "a" * 64, "length": 10}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expires": "2099-01-01T00:00:00"}, "timezone"),
        (
            {
                "packs": {
                    "fleet": {
                        "version": 1,
                        "published": "2026-01-01T00:00:00Z",
                        "files": [{**GOOD_FILE, "length": 10**400}],
                    }
                }
            },
            "less than or equal",
        ),
        (
            {"packs": {"fleet": {"version": 10**30, "published": "2026-01-01T00:00:00Z", "files": [GOOD_FILE]}}},
            "less than or equal",
        ),
        (
            {"packs": {"fleet\n": {"version": 1, "published": "2026-01-01T00:00:00Z", "files": [GOOD_FILE]}}},
            "bad pack name",
        ),
        (
            {
                "packs": {
                    "fleet": {
                        "version": 1,
                        "published": "2026-01-01T00:00:00Z",
                        "files": [{**GOOD_FILE, "sha256": "a" * 64 + "\n"}],
                    }
                }
            },
            "64 lower-case hex",
        ),
        # numbers are whole numbers, never strings or booleans
        ({"serial": "5"}, "valid integer"),
        ({"serial": True}, "valid integer"),
        (
            {"packs": {"fleet": {"version": "2", "published": "2026-01-01T00:00:00Z", "files": [GOOD_FILE]}}},
            "valid integer",
        ),
        (
            {
                "packs": {
                    "fleet": {
                        "version": 1,
                        "published": "2026-01-01T00:00:00Z",
                        "files": [{**GOOD_FILE, "length": 1.0}],
                    }
                }
            },
            "valid integer",
        ),
    ],
)
def test_odd_but_validly_signed_metadata_is_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    from fieldmind.sync.metadata import MetadataError, verify_index

    signed: dict[str, object] = {
        "type": "fieldmind-site",
        "spec": 1,
        "serial": 1,
        "issued": "2026-01-01T00:00:00Z",
        "expires": "2099-01-01T00:00:00Z",
        "packs": {"fleet": {"version": 1, "published": "2026-01-01T00:00:00Z", "files": [GOOD_FILE]}},
    }
    raw, trusted = _resign({**signed, **change})
    with pytest.raises(MetadataError, match="malformed") as caught:
        verify_index(raw, trusted)
    assert reason in str(caught.value)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_a_site_index_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    from fieldmind.sync.fetch import FolderSource, IntegrityError
    from fieldmind.sync.metadata import INDEX_FILE

    site = tmp_path / "stick"
    site.mkdir()
    if kind == "fifo":
        os.mkfifo(site / INDEX_FILE)
    else:
        (site / INDEX_FILE).symlink_to("/dev/zero")
    with pytest.raises(IntegrityError, match="not a regular file"):
        FolderSource(site).fetch_index()  # read 3.8 GB of /dev/zero, or hung on the FIFO, before


def test_a_slow_loris_server_is_given_up_on_within_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loopback server that sends the index one byte every 0.3 s: each read succeeds, the whole never ends."""
    import http.server
    import threading
    import time

    from fieldmind.sync import fetch

    class Dribble(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(200):
                try:
                    self.wfile.write(b"{")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.3)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Dribble)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(fetch, "INDEX_DEADLINE_S", 2.0)
    source = fetch.HttpSource(f"http://127.0.0.1:{server.server_address[1]}", timeout=5.0)
    try:
        started = time.monotonic()
        with pytest.raises(fetch.TransientError, match="too slow"):
            source.fetch_index()
        assert time.monotonic() - started < 6.0
    finally:
        source.close()
        server.shutdown()
        server.server_close()


def test_a_really_full_disk_stops_the_ingest_with_one_clear_line(tmp_path: Path, models_dir: Path) -> None:
    """A 3 MB tmpfs for the index (in a mount namespace of its own): the ingest that fills it names the file,
    says what to do, prints no traceback, and what was stored before is still there."""
    import shutil

    from conftest import DEMO_PDF, fieldmind_command

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) for a private tmpfs")
    folder = tmp_path / "manuals"
    folder.mkdir()
    filler = folder / "big.md"
    filler.write_text("\n\n".join(f"## Part {n}\n\n" + f"Check bolt BX-{n} every {n} hours. " * 40 for n in range(300)))
    mount = tmp_path / "small"
    mount.mkdir()
    home = mount / "home"
    command = " ".join(map(str, fieldmind_command()))
    script = (
        f"mount -t tmpfs -o size=3m tmpfs {mount} && "
        f"{command} ingest {DEMO_PDF} --home {home} --json > {tmp_path / 'first.json'} && "
        f"{command} ingest {folder} --home {home} --json > {tmp_path / 'second.json'} 2> {tmp_path / 'second.err'}; "
        f"echo $? > {tmp_path / 'second.rc'}; "
        f"{command} search 'cylinder head bolts' --home {home} --json > {tmp_path / 'after.json'}"
    )
    env = {**os.environ, "FIELDMIND_MODEL__DIR": str(models_dir)}
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=600, env=env)
    if "mount" in out.stderr and "permission" in out.stderr.lower():
        pytest.skip(f"no rights to mount a tmpfs here: {out.stderr.strip()[:200]}")
    assert json.loads((tmp_path / "first.json").read_text())["added"] == 1, out.stderr[-2000:]
    assert (tmp_path / "second.rc").read_text().strip() == "1"
    error = (tmp_path / "second.err").read_text()
    assert "Traceback" not in error, error[-3000:]
    assert "disk full while storing" in error and "big.md" in error and "free some space" in error
    hits = json.loads((tmp_path / "after.json").read_text())
    assert hits and hits[0]["doc"] == DEMO_PDF.name  # what was stored before the disk filled up is still there


def test_a_signed_pack_with_a_broken_document_is_refused_whole_and_the_others_apply(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Decided: a pack is applied whole or not at all (it is what the publisher signed). One unreadable document
    refuses its pack, by its path in the pack, in the result and the audit; other packs still apply."""
    from fieldmind.sync.runner import run_sync
    from fieldmind.sync.state import SyncPaths, read_audit
    from sync_helpers import DOCS_V1, Publisher, device, pack_docs

    publisher = Publisher(tmp_path / "publisher")
    publisher.publish(1, DOCS_V1, name="pumps")
    src = publisher.root / "src-manuals"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "ok.md").write_text(GOOD)
    _docx_with(src / "docs" / "broken.docx", document_xml=b"<w:document><w:body><w:p>unclosed")
    from fieldmind.sync.pack import build

    build(src, "manuals", 1, publisher.key, publisher.site, 30)
    services = device(tmp_path / "home", embedder, publisher.public)
    try:
        result = run_sync(services, str(publisher.site))  # did: roll back the whole update, with a traceback
        assert [a["name"] for a in result.applied] == ["pumps"], result.rejected
        [rejected] = result.rejected
        assert rejected["name"] == "manuals" and rejected["reason"].startswith("docs/broken.docx: ")
        assert set(pack_docs(services)) == set(DOCS_V1)
        events = read_audit(SyncPaths(services.settings.home))
        assert any(e["event"] == "rejected" and e.get("pack") == "manuals" for e in events)
    finally:
        services.close()


@pytest.mark.parametrize(
    ("paths", "reason"),
    [
        (["manual.md", "Manual.md"], "differ only in case"),
        (["ｍanual.md"], "full-width"),
        (["mаnual.md"], "mixes CYRILLIC and LATIN letters"),  # the second letter is a Cyrillic а
        (["a" * 300 + ".md"], r"path too long \(303 characters"),
    ],
)
def test_look_alike_case_twin_and_overlong_pack_paths_are_refused_with_the_right_reason(
    paths: list[str], reason: str
) -> None:
    from pydantic import ValidationError

    from fieldmind.sync.metadata import PackEntry

    files = [{"path": p, "sha256": f"{n:064x}", "length": 1} for n, p in enumerate(paths)]
    with pytest.raises(ValidationError, match=reason):
        PackEntry.model_validate({"version": 1, "published": "2026-01-01T00:00:00Z", "files": files})


def test_removing_a_name_two_documents_share_asks_for_the_id(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.errors import FieldmindError

    for folder in ("site-a", "site-b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "doc1.md").write_text(GOOD.replace("HT-9", folder.upper()))
    writable_kb.ingest([tmp_path / "site-a", tmp_path / "site-b"])
    with pytest.raises(FieldmindError, match=r"'doc1\.md' names 2 documents"):
        writable_kb.remove(["doc1.md"])
    assert len(writable_kb.documents()) == 2  # nothing removed
    one = writable_kb.documents()[0]
    assert writable_kb.remove([one.id]) == (1, [])


def test_the_cli_ingests_a_mixed_folder_names_each_bad_file_and_exits_1_without_a_traceback(
    tmp_path: Path, models_dir: Path
) -> None:
    from conftest import fieldmind_command

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD)
    noise = bytes(range(256)) * 8
    bad = {f"bad{suffix}": make(noise) for suffix, make in BROKEN.items()}
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    _docx_with(folder / "laughs.docx", document_xml=BILLION_LAUGHS)
    os.mkfifo(folder / "pipe.md")
    env = {**os.environ, "FIELDMIND_MODEL__DIR": str(models_dir)}
    out = subprocess.run(
        [*fieldmind_command(), "ingest", str(folder), "--json", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == 1
    assert sorted(Path(f["path"]).name for f in report["failed"]) == sorted([*bad, "laughs.docx", "pipe.md"])


def test_a_pdf_with_more_pages_than_the_bound_is_refused_before_its_pages_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldmind.errors import InputError
    from fieldmind.knowledge.parsers import parse
    from fieldmind.knowledge.parsers import pdf as pdf_parser

    from helpers import make_pdf

    path = make_pdf(tmp_path / "many.pdf", ["page one text here", "page two text here", "page three text"])
    monkeypatch.setattr(pdf_parser, "MAX_PAGES", 2)
    with pytest.raises(InputError, match=r"3 pages \(the limit is 2\)"):
        parse(path)


def test_show_png_never_replaces_a_device_and_names_what_it_refused(tmp_path: Path, models_dir: Path) -> None:
    """`show --png /dev/null` as root replaced /dev/null with a PNG file: now nothing but a regular file (or
    nothing) is written over, and the refusal is one line naming the path."""
    import stat

    from conftest import DEMO_PDF, fieldmind_command

    home = tmp_path / "home"
    env = {**os.environ, "FIELDMIND_MODEL__DIR": str(models_dir)}
    cli = fieldmind_command()
    added = subprocess.run([*cli, "ingest", str(DEMO_PDF), "--home", str(home)], capture_output=True, env=env)
    assert added.returncode == 0, added.stderr[-2000:]
    os.mkfifo(tmp_path / "pipe.png")
    for target, what in [
        ("/dev/null", "a device"),
        ("/dev/full", "a device"),
        (str(tmp_path / "pipe.png"), "a named pipe"),
    ]:
        before = Path(target).lstat().st_mode
        out = subprocess.run(
            [*cli, "show", DEMO_PDF.name, "7", "--png", target, "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert out.returncode == 1 and f"{target}: {what}" in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert Path(target).lstat().st_mode == before
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    good = tmp_path / "page.png"
    out = subprocess.run(
        [*cli, "show", DEMO_PDF.name, "7", "--png", str(good), "--home", str(home)], capture_output=True, env=env
    )
    assert out.returncode == 0 and good.read_bytes().startswith(b"\x89PNG")


def test_user_named_outputs_refuse_odd_targets_and_unwritable_places_with_one_line(tmp_path: Path) -> None:
    from fieldmind.errors import FieldmindError
    from fieldmind.files import write_user_file
    from fieldmind.sync import keys

    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere" / "x.png")
    with pytest.raises(FieldmindError, match="a link to nothing"):
        write_user_file(tmp_path / "dangling.png", b"x")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(FieldmindError, match=r"folder\.png: a folder, not a file"):
        write_user_file(tmp_path / "folder.png", b"x")
    with pytest.raises(FieldmindError, match=r"/proc/version: cannot write it"):
        write_user_file(Path("/proc/version"), b"x")  # a regular file whose folder takes no new file, even as root
    linked = tmp_path / "linked.md"
    linked.symlink_to(tmp_path / "real.md")
    (tmp_path / "real.md").write_text("old")
    write_user_file(linked, "new")
    assert linked.is_symlink() and (tmp_path / "real.md").read_text() == "new"

    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    os.mkfifo(keys_dir / keys.PUBLIC_FILE)  # would hang a plain write
    with pytest.raises(FieldmindError, match="named pipe"):
        keys.generate(keys_dir)
    assert not (keys_dir / keys.PRIVATE_FILE).exists()


def test_deeply_nested_or_odd_unsigned_indexes_are_refused_with_a_reason_not_a_crash(tmp_path: Path) -> None:
    """200,000 nested `[` (no signature needed) crashed `sync` with a RecursionError; a keyid given as a list
    raised a TypeError."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldmind.sync import keys
    from fieldmind.sync.metadata import MetadataError, verify_index

    public = Ed25519PrivateKey.generate().public_key()
    trusted = {keys.key_id(public): public}
    with pytest.raises(MetadataError, match="nested 200000 deep"):
        verify_index(b"[" * 200_000, trusted)
    with pytest.raises(MetadataError, match="nested"):
        verify_index(b'{"signed": ' + b"{" * 5000 + b"}" * 5000 + b', "signatures": []}', trusted)
    odd = json.dumps({"signed": {"a": "[[[[[[[[[[[[[[[[[[[[[[["}, "signatures": [{"keyid": ["x"], "sig": "y"}]})
    with pytest.raises(MetadataError, match="no valid signature"):  # brackets inside strings are not nesting
        verify_index(odd.encode(), trusted)


def test_a_docx_whose_zip_headers_lie_about_sizes_is_inflated_in_bounded_steps(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """A file declaring 200 KB parts that inflate to 1 GB peaked at 2.16 GB before a BadZipFile: zipfile asks zlib
    for 2 GB at once. Now parts are inflated a megabyte at a time, never past their declared size."""
    import zipfile

    folder = tmp_path / "manuals"
    folder.mkdir()
    liar = _lying_docx(folder / "liar.docx", inflate_mb=1024, declared=200_000)
    with zipfile.ZipFile(liar) as archive:
        assert sum(m.file_size for m in archive.infolist()) < 2**20  # what the headers say
    (folder / "pump.md").write_text(GOOD)
    result = _ingest_and_measure(tmp_path / "index", folder, embedder)
    assert result["report"]["added"] == 1
    [failure] = result["report"]["failed"]
    assert failure["path"].endswith("liar.docx") and "not a readable Word document" in failure["error"]
    assert result["peak_mb"] < 600, result


def test_a_server_trickling_header_lines_is_given_up_on_within_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The status line, then one header line every 0.5 s, forever: each read succeeds, no body ever starts. It
    was still running at 420 s (httpx bounds each read alone); the deadline now covers the headers too."""
    import time

    from fieldmind.sync import fetch

    def trickle_headers(handler: object) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")  # type: ignore[attr-defined]
        for n in range(200):
            try:
                handler.wfile.write(f"X-Slow-{n}: 1\r\n".encode())  # type: ignore[attr-defined]
                handler.wfile.flush()  # type: ignore[attr-defined]
            except OSError:
                return
            time.sleep(0.5)

    from helpers import misbehaving_server

    server, url = misbehaving_server(trickle_headers)
    monkeypatch.setattr(fetch, "INDEX_DEADLINE_S", 2.0)
    source = fetch.HttpSource(url, timeout=5.0)
    try:
        started = time.monotonic()
        with pytest.raises(fetch.TransientError, match="too slow"):
            source.fetch_index()
        assert time.monotonic() - started < 4.0
        source.until(time.monotonic() + 1.5)  # a file's own bound is long; the sync's is what cuts it here
        started = time.monotonic()
        with pytest.raises(fetch.TransientError, match="too slow"):
            source.fetch_file("a" * 64, 10**9, Path("/nonexistent") / "x")
        assert time.monotonic() - started < 3.5
    finally:
        source.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_a_folder_source_whose_pack_file_is_a_fifo_is_refused_naming_it(tmp_path: Path) -> None:
    """A USB stick whose pack file is a FIFO hung the sync at "downloading 1/1"."""
    from fieldmind.sync.fetch import FolderSource, IntegrityError
    from fieldmind.sync.metadata import FILES_DIR

    (tmp_path / "stick" / FILES_DIR).mkdir(parents=True)
    os.mkfifo(tmp_path / "stick" / FILES_DIR / ("b" * 64))
    (tmp_path / "staging").mkdir()
    with pytest.raises(IntegrityError, match="not a regular file"):
        FolderSource(tmp_path / "stick").fetch_file("b" * 64, 10, tmp_path / "staging" / ("b" * 64))


def test_control_characters_of_a_pdf_title_never_reach_an_answer_card(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """ESC and BEL in a PDF's title reached the work-order card (and the terminal) as they were."""
    from fieldmind.assistant import Assistant
    from fieldmind.cards import card_for

    from helpers import make_pdf

    pdf = make_pdf(
        tmp_path / "pump.pdf",
        ["The HT-9 impeller nut torque is 42 N.m, tightened in two stages."],
        title="Pump\x1b[2J\x07 Manual\x1b]0;owned\x07",
    )
    writable_kb.ingest([pdf])
    [record] = writable_kb.documents()
    assert record.title is not None and "\x1b" not in record.title and "\x07" not in record.title
    answer = Assistant(writable_kb, None).ask("What is the HT-9 impeller nut torque?")
    card = card_for(answer, writable_kb)
    for form in ("md", "json"):
        rendered = card.render(form)
        assert "\x1b" not in rendered and "\x07" not in rendered and "Pump" in rendered
