"""Faults during a build: killed at any point, a disk that fills up, a broken output path, two
builds at once, a damaged previous output. Each time the previous ``dist/`` must stay complete
and byte-for-byte untouched, and a rerun must succeed.

The builds here run as real ``claimgraph build`` processes, so a SIGKILL or a file-size limit
(RLIMIT_FSIZE, how a full disk looks to a process: writes fail with EFBIG) hits them as it would
in life. "Complete" is checked from the output itself: every file ``build.json`` lists is there
with its SHA-256, the N-Quads dump parses strictly and the store holds the same quads.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from claimgraph.build import BuildResult, build
from claimgraph.errors import OutputError
from conftest import SEED_SLUG, copy_data
from netguard import netguard  # noqa: F401 - the autouse guard against non-loopback connections
from test_hostile_sources import expanded_jsonld_quads

ARTICLE = f"articles/{SEED_SLUG}.txt"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (and every symlink, by its target) with its hash."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(folder))] = sha256(path)
    return found


def assert_complete(out: Path) -> dict:
    """The output is a whole build: its manifest's files match, the dump and the store agree."""
    manifest = json.loads((out / "build.json").read_text(encoding="utf-8"))
    for name, digest in manifest["files"].items():
        assert (out / name).is_file(), f"{name} is missing from {out}"
        assert sha256(out / name) == digest, f"{name} does not match build.json"
    for name, size in manifest["dumps"].items():
        assert (out / name).stat().st_size == size, f"{name} does not have the size build.json gives"
    assert set(manifest["dumps"]) == {"dataset.nq", "dataset.trig", "dataset.ttl", "dataset.nt", "dataset.jsonld"}
    quads = set(ox.parse(path=str(out / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == manifest["quads"]
    store = ox.Store.read_only(str(out / "store"))
    assert len(store) == manifest["quads"]
    return manifest


def claimgraph(*args: str, cwd: Path, limit_file_size: int | None = None, **popen: object) -> subprocess.Popen:
    def limits() -> None:
        if limit_file_size is not None:  # a full disk: writes past the size fail with EFBIG
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.Popen([sys.executable, "-m", "claimgraph", *args], cwd=cwd, preexec_fn=limits,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def change_headline(data: Path, headline: str) -> None:
    path = data / ARTICLE
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("headline:"))
    lines[at] = f"headline: {headline}"
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """A good build of the seed: the output every faulty build below must leave alone."""
    data = copy_data(tmp_path_factory.mktemp("previous") / "data")
    return build(data, data.parent / "dist")


@pytest.fixture
def project(previous: BuildResult, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A private project: data/ with an edited headline (so a finished build would differ from
    the previous one), a copy of the previous dist/, and that dist's snapshot."""
    data = copy_data(tmp_path / "data")
    change_headline(data, "An edited headline that the previous output does not have")
    dist = tmp_path / "dist"
    subprocess.run(["cp", "-a", str(previous.out_dir), str(dist)], check=True)
    return data, dist, snapshot(dist)


def leftovers(dist: Path) -> list[str]:
    return sorted(p.name for p in dist.parent.iterdir() if p.name not in ("data", "dist"))


# ---------------------------------------------------------------- killed mid-build

def _staging(dist: Path) -> list[Path]:
    return [p for p in dist.parent.iterdir() if p.is_dir() and p.name not in ("data", "dist")]


def _has(name: str) -> Callable[[Path], bool]:
    def check(dist: Path) -> bool:
        return any((p / name).exists() for p in _staging(dist))
    return check


KILL_POINTS = {
    "as-the-staging-folder-appears": lambda dist: bool(_staging(dist)),
    "while-writing-dumps": _has("dataset.nq"),
    "while-writing-the-store-or-site": _has("store"),
    "just-before-the-swap": _has("build.json"),
}


RERUN = {"while-writing-the-store-or-site", "just-before-the-swap"}  # the others leave the same kind of mess


def _kill_at(point: str, data: Path, dist: Path) -> None:
    process = claimgraph("build", "--data", str(data), "--out", str(dist), cwd=dist.parent)
    reached = KILL_POINTS[point]
    deadline = time.monotonic() + 120
    while not reached(dist) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    if process.returncode != -signal.SIGKILL:
        pytest.fail(f"the build finished ({process.returncode}) before the kill point '{point}'")


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_build_killed_at_any_point_leaves_the_previous_output_intact(project, previous, point):
    data, dist, before = project
    for _ in range(5):
        _kill_at(point, data, dist)
        if sha256(dist / "build.json") == before["build.json"]:
            break
        # The swap (a single rename) came between seeing the kill point and the kill, which
        # just before the swap is a race of a millisecond or two: the new output must then be
        # whole. Start again from the previous output until the kill lands first.
        assert_complete(dist)
        shutil.rmtree(dist)
        subprocess.run(["cp", "-a", str(previous.out_dir), str(dist)], check=True)
    else:
        pytest.fail(f"the build swapped its output before every kill at '{point}'")
    assert snapshot(dist) == before, "a killed build changed the previous output"
    assert_complete(dist)
    if point not in RERUN:
        return
    # a rerun finishes the job and clears what the killed one left behind
    rerun = claimgraph("build", "--data", str(data), "--out", str(dist), cwd=dist.parent)
    _, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    manifest = assert_complete(dist)
    assert "edited headline" in (dist / "dataset.nt").read_text(encoding="utf-8")
    assert manifest["articles"] == [SEED_SLUG]
    assert leftovers(dist) == [], "the rerun left staging folders behind"


# ---------------------------------------------------------------- the disk fills up

@pytest.mark.parametrize("limit", [64 * 1024, 350 * 1024], ids=["64KB", "350KB"])
def test_a_disk_that_fills_up_leaves_the_previous_output_intact(project, limit):
    """Writes past ``limit`` bytes per file fail, as on a full disk: at the first article graph,
    or later at the dumps. The build reports it and changes nothing."""
    data, dist, before = project
    process = claimgraph("build", "--data", str(data), "--out", str(dist), cwd=dist.parent,
                         limit_file_size=limit)
    _, err = process.communicate(timeout=180)
    assert process.returncode == 2, f"exit {process.returncode}: {err[-2000:]}"
    assert "claimgraph: error:" in err and "Traceback" not in err, err
    assert "File too large" in err or "cannot write" in err or "could not" in err, err
    assert snapshot(dist) == before
    assert leftovers(dist) == [], "a failed build left a staging folder behind"


def test_an_output_path_that_is_a_file_is_refused_and_kept(tmp_path, capsys):
    from claimgraph.cli import main

    data = copy_data(tmp_path / "data")
    target = tmp_path / "dist"
    target.write_text("not a folder\n", encoding="utf-8")
    code = main(["build", "--data", str(data), "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert target.is_file(), "the build replaced the file named by --out"
    assert target.read_text(encoding="utf-8") == "not a folder\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- two builds at once

def test_two_builds_at_once_leave_one_complete_output(project, tmp_path):
    data, dist, _ = project
    other = copy_data(tmp_path / "other-data")
    change_headline(other, "The other build's headline")
    first = claimgraph("build", "--data", str(data), "--out", str(dist), cwd=dist.parent)
    second = claimgraph("build", "--data", str(other), "--out", str(dist), cwd=dist.parent)
    results = [p.communicate(timeout=240) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert set(codes) <= {0, 2}, results
    for code, (_, err) in zip(codes, results, strict=True):
        assert "Traceback" not in err and (code == 0 or "claimgraph: error:" in err), err
    assert 0 in codes
    assert_complete(dist)
    text = (dist / "dataset.nt").read_text(encoding="utf-8")
    assert ("edited headline" in text) != ("other build's headline" in text)  # one build, whole
    leftover = [p for p in leftovers(dist) if p != "other-data"]
    if leftover:  # a staging folder of the loser may remain; the next build clears it
        rerun = claimgraph("build", "--data", str(data), "--out", str(dist), cwd=dist.parent)
        assert rerun.wait(timeout=180) == 0
        assert [p for p in leftovers(dist) if p != "other-data"] == []


# ---------------------------------------------------------------- every dump says the same

def test_every_dump_of_the_two_article_build_agrees(two_article_build: BuildResult):
    out = two_article_build.out_dir
    manifest = assert_complete(out)
    trig = set(ox.parse(path=str(out / "dataset.trig"), format=ox.RdfFormat.TRIG))
    nquads = set(ox.parse(path=str(out / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    assert trig == nquads and len(nquads) == manifest["quads"]
    triples = {q.triple for q in nquads}
    assert {q.triple for q in ox.parse(path=str(out / "dataset.ttl"), format=ox.RdfFormat.TURTLE)} == triples
    assert {q.triple for q in ox.parse(path=str(out / "dataset.nt"), format=ox.RdfFormat.N_TRIPLES)} == triples
    assert expanded_jsonld_quads(out / "dataset.jsonld") == nquads
    assert set(ox.Store.read_only(str(out / "store"))) == nquads
    counts: dict[str, int] = {}
    for quad in nquads:
        counts[quad.graph_name.value] = counts.get(quad.graph_name.value, 0) + 1
    assert {iri: counts.get(iri) for iri in manifest["graphs"]} == manifest["graphs"]


# ---------------------------------------------------------------- a damaged previous output

def test_a_damaged_cache_in_the_previous_output_is_not_published(project, tmp_path):
    data, dist, _ = project
    change_headline(data, "Repealing Section 907 is essential to restoring fairness in US-Azerbaijan relations")
    reference = build(copy_data(tmp_path / "clean"), tmp_path / "clean-dist")
    cached = [p for p in dist.rglob(f"{SEED_SLUG}.nq") if "site" not in p.parts]
    assert cached, "no cached graph of the article in the previous output"
    for path in cached:
        text = path.read_bytes()
        path.unlink()  # a new file: the damage must not reach other hard links of the old one
        path.write_bytes(text[: len(text) // 2].rsplit(b"\n", 1)[0] + b"\n")
    build(data, dist)
    assert_complete(dist)
    assert set(ox.parse(path=str(dist / "dataset.nq"), format=ox.RdfFormat.N_QUADS)) == \
        set(ox.parse(path=str(reference.out_dir / "dataset.nq"), format=ox.RdfFormat.N_QUADS))


def test_the_non_atomic_swap_restores_the_previous_output_when_it_fails(project, monkeypatch):
    from claimgraph import publishing

    data, dist, before = project
    monkeypatch.setattr(publishing, "_exchange", lambda a, b: False)  # as on a system without renameat2
    real_rename = Path.rename

    def rename(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target) == dist.absolute() and self.name != dist.name + ".previous":
            raise OSError(28, "No space left on device", str(target))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OutputError, match="previous output is unchanged"):
        build(data, dist)
    assert dist.is_dir(), "dist/ is gone after a failed swap"
    assert snapshot(dist) == before
