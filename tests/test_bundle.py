"""The self-contained bundle, built by packaging/build and run the way a fleet laptop runs it.

The bundle is unpacked from its archive onto a read-only mount (a USB stick), and every command runs with
`env -i` (no virtualenv, no Python on PATH), a fresh HOME and no network (`unshare -n`). Slow: the build
takes minutes (~5 more the first time, when llama.cpp is compiled for every CPU level).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from fieldmind import __version__

from conftest import ROOT
from helpers import make_pdf, make_scan

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.timeout(3600)]

ARCHIVE = ROOT / "dist" / f"fieldmind-{__version__}-linux-x86_64.tar.gz"
DEB = ROOT / "dist" / f"fieldmind_{__version__}_amd64.deb"
SANDBOX = shutil.which("unshare") and subprocess.run(["unshare", "-n", "-m", "true"]).returncode == 0


@pytest.fixture(scope="module")
def built() -> None:
    if not SANDBOX:
        pytest.skip("needs unshare with network and mount namespaces (root or user namespaces)")
    for stale in (ARCHIVE, DEB):
        stale.unlink(missing_ok=True)
    out = subprocess.run([ROOT / "packaging" / "build"], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, out.stderr[-5000:]


@pytest.fixture(scope="module")
def usb_stick(built: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive unpacked where the test machine's Python and the build tree are nowhere near."""
    stick = tmp_path_factory.mktemp("usb")
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(stick, filter="tar")
    return stick


def isolated(stick: Path, home: Path, *args: str | Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run in new network and mount namespaces with `stick` remounted read-only, under `env -i`."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    empty_path = home.parent / "empty-path"
    empty_path.mkdir(exist_ok=True)
    command = ["env", "-i", f"HOME={home}", f"PATH={empty_path}", "LANG=C.UTF-8", *map(str, args)]
    return subprocess.run(
        ["unshare", "-n", "-m", "sh", "-c", script, "sh", str(stick), *command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_sandbox_is_what_it_claims(usb_stick: Path, tmp_path: Path) -> None:
    """Read-only stick, loopback only, empty environment: the checks below would mean little otherwise."""
    out = isolated(usb_stick, tmp_path, "/bin/sh", "-c", f"/bin/cat /proc/net/dev; /usr/bin/env; : > {usb_stick}/x")
    interfaces = [line.split(":")[0].strip() for line in out.stdout.splitlines() if ":" in line and "|" not in line]
    assert interfaces == ["lo"], out.stdout
    assert "VIRTUAL_ENV" not in out.stdout and "PYTHON" not in out.stdout
    assert "Read-only file system" in out.stderr


def test_the_bundle_runs_from_a_read_only_stick_with_no_network(usb_stick: Path, tmp_path: Path) -> None:
    program = usb_stick / "fieldmind" / "fieldmind"
    home = tmp_path / "home"
    home.mkdir()
    version = isolated(usb_stick, home, program, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"fieldmind, version {__version__}"

    manual = make_pdf(
        tmp_path / "docs" / "loader-hydraulics.pdf",
        [
            "Loader L-40 hydraulics. Safety first: lower the bucket before any work.",
            "Hydraulic filter. Replace the hydraulic return filter element every 400 operating hours.",
        ],
    )
    ingest = isolated(usb_stick, home, program, "ingest", manual, "--json")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 1

    ask = isolated(usb_stick, home, program, "ask", "--json", "How often is the hydraulic return filter replaced?")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["found"] is True, answer
    assert "400" in answer["quote"]["text"]
    assert answer["model"] == "qwen2.5-coder-0.5b-instruct"
    assert (answer["citations"][0]["doc"], answer["citations"][0]["page"]) == (manual.name, 2)

    data = home / ".local" / "share" / "fieldmind"
    assert (data / "index").is_dir(), "writable data goes to the user's data dir"
    docs = isolated(usb_stick, home, program, "docs", "--json")
    assert [d["name"] for d in json.loads(docs.stdout)] == [manual.name]


def test_the_bundle_reads_a_scanned_manual_with_its_own_ocr(usb_stick: Path, tmp_path: Path) -> None:
    """Tesseract, its libraries and its English data travel in the bundle: a scan is read with no system
    Tesseract on PATH (env -i) and no network."""
    program = usb_stick / "fieldmind" / "fieldmind"
    home = tmp_path / "home"
    home.mkdir()
    scan = make_scan(ROOT / "knowledge" / "demo" / "gx7500-generator-manual.pdf", tmp_path / "scan.pdf", pages=[7])
    ingest = isolated(usb_stick, home, program, "ingest", scan, "--json")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 1, ingest.stdout
    found = isolated(usb_stick, home, program, "search", "cylinder head bolts torque", "-k", "1", "--json")
    [hit] = json.loads(found.stdout)
    assert hit["ocr"] is True and "90 N.m" in hit["text"], hit


def test_a_first_question_is_answered_from_the_shipped_demo_manual(usb_stick: Path, tmp_path: Path) -> None:
    """The demo manual comes from the read-only bundle; its index goes to the user's data dir."""
    program = usb_stick / "fieldmind" / "fieldmind"
    ask = isolated(usb_stick, tmp_path, program, "ask", "--json", "What torque for the cylinder head bolts?")
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["found"] is True and "90 N.m" in answer["quote"]["text"], answer
    assert (answer["citations"][0]["doc"], answer["citations"][0]["page"]) == ("gx7500-generator-manual.pdf", 7)


def test_the_bundle_carries_no_torch_and_a_cpu_backend_per_level(built: None) -> None:
    internal = ROOT / "dist" / "fieldmind" / "_internal"
    assert not (internal / "torch").exists() and not list(internal.glob("libtorch*"))
    levels = {p.name for p in (internal / "llama_cpp" / "lib").glob("libggml-cpu-*.so")}
    assert {"libggml-cpu-x64.so", "libggml-cpu-haswell.so", "libggml-cpu-zen4.so"} <= levels
    assert "libggml-cpu-sapphirerapids.so" not in levels  # AMX kernels crash on AMX Xeons (llama.cpp #20824)


def test_the_deb_installs_the_bundle_under_opt(built: None, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", DEB, tmp_path], check=True)
    assert (tmp_path / "usr" / "bin" / "fieldmind").readlink() == Path("/opt/fieldmind/fieldmind")
    out = subprocess.run(
        ["env", "-i", f"HOME={tmp_path}", tmp_path / "opt" / "fieldmind" / "fieldmind", "--version"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and __version__ in out.stdout, out.stderr


def test_the_baseline_cpu_level_alone_answers(built: None, tmp_path: Path) -> None:
    """An x86-64 CPU with no AVX gets the plain x64 level: left alone in a copy, it still answers."""
    copy = tmp_path / "old-cpu"
    shutil.copytree(ROOT / "dist" / "fieldmind", copy / "fieldmind", copy_function=os.link, symlinks=True)
    for level in (copy / "fieldmind" / "_internal" / "llama_cpp" / "lib").glob("libggml-cpu-*.so"):
        if level.name != "libggml-cpu-x64.so":
            level.unlink()
    env = {"HOME": str(tmp_path / "home"), "PATH": "/nonexistent"}
    program = copy / "fieldmind" / "fieldmind"
    doctor = subprocess.run([program, "doctor", "--json"], env=env, capture_output=True, text=True)
    assert doctor.returncode == 0, doctor.stderr
    assert "AVX" not in json.loads(doctor.stdout)["llama_cpp"]["features"]
    ask = subprocess.run(
        [program, "ask", "--json", "What torque for the cylinder head bolts?"], env=env, capture_output=True, text=True
    )
    assert ask.returncode == 0, ask.stderr
    assert "90 N.m" in json.loads(ask.stdout)["quote"]["text"]


def test_the_bundle_syncs_a_signed_pack_from_a_folder(usb_stick: Path, tmp_path: Path) -> None:
    """A knowledge update on a second stick: the publisher's key trusted, the pack verified and indexed."""
    from sync_helpers import DOCS_V1, Publisher

    publisher = Publisher(tmp_path / "publisher")
    site = publisher.publish(1, DOCS_V1)
    program = usb_stick / "fieldmind" / "fieldmind"
    home = tmp_path / "home"
    home.mkdir()
    trust = isolated(usb_stick, home, program, "trust", "add", publisher.public)
    assert trust.returncode == 0, trust.stderr
    sync = isolated(usb_stick, home, program, "sync", "--source", site, "--json")
    assert sync.returncode == 0, sync.stderr
    assert json.loads(sync.stdout)["applied"][0]["added"] == 3
    search = isolated(usb_stick, home, program, "search", "impeller nut torque", "--json")
    assert search.returncode == 0, search.stderr
    assert "42 N.m" in json.loads(search.stdout)[0]["text"]
