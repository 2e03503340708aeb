"""Rebuilding after a change: only the changed articles are read, and the output — every
dump byte for byte, the store, the search index, the manifest — is what a build from scratch
of the same sources gives. The corpus is a small synthetic one (benchmarks/generate_corpus.py)
built in batches of four, so the batches run in worker processes as a large corpus's do.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

import claimgraph.assembly
import claimgraph.batches
import claimgraph.build
import claimgraph.dumps
import claimgraph.dumps_ahead
import claimgraph.sources
from claimgraph.build import BuildResult, build
from claimgraph.errors import SourceError
from claimgraph.publishing import STORE_DIR
from claimgraph.search import SEARCH_FILE
from test_benchmarks import generator  # benchmarks/generate_corpus.py, loaded once

DUMPS = ("dataset.nq", "dataset.trig", "dataset.ttl", "dataset.nt", "dataset.jsonld")




@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(claimgraph.assembly, "BATCH_SIZE", 4)
    data = tmp_path / "data"
    generator.generate(data, 10, seed=7, outlets=4, authors=8, pool=60)
    return data


def _store_quads(result: BuildResult) -> set[ox.Quad]:
    store = ox.Store.read_only(str(result.out_dir / STORE_DIR))
    return set(store)


def _search_rows(result: BuildResult) -> list[tuple]:
    db = sqlite3.connect(result.out_dir / SEARCH_FILE)
    try:
        return sorted(db.execute("SELECT iri, kind, label, name, text, description, graph FROM docs"))
    finally:
        db.close()


def _manifest(result: BuildResult) -> dict:
    return json.loads((result.out_dir / "build.json").read_text(encoding="utf-8"))


def assert_same_output(rebuilt: BuildResult, fresh: BuildResult) -> None:
    for name in DUMPS:
        assert (rebuilt.out_dir / name).read_bytes() == (fresh.out_dir / name).read_bytes(), \
            f"{name} differs from a build from scratch"
    assert _store_quads(rebuilt) == _store_quads(fresh)
    assert _search_rows(rebuilt) == _search_rows(fresh)
    # the index's rows are the same, but not its SQLite pages: compare the manifests without it
    rebuilt_manifest, fresh_manifest = _manifest(rebuilt), _manifest(fresh)
    for manifest in (rebuilt_manifest, fresh_manifest):
        manifest["files"].pop(SEARCH_FILE)
    assert rebuilt_manifest == fresh_manifest


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loaded: list[str] = []
    real = claimgraph.batches.load_article

    def counting(path, *args, **kwargs):
        loaded.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(claimgraph.batches, "load_article", counting)
    return loaded


def test_a_rebuild_reads_only_the_edited_article_and_equals_a_fresh_build(corpus, tmp_path, monkeypatch):
    first = build(corpus, tmp_path / "dist", site=False)
    assert first.assembled.reused == 0
    sources_before = _manifest(first)["sources"]
    edited = generator.touch_article(corpus)
    loaded = _count_loads(monkeypatch)  # one changed article: one batch, run in this process
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    assert loaded == [edited.name]
    assert rebuilt.assembled.reused == 9
    assert rebuilt.assembled.changed >= {str(rebuilt.assembled.iris.article_graph(edited.stem))}
    monkeypatch.undo()
    monkeypatch.setattr(claimgraph.assembly, "BATCH_SIZE", 4)
    fresh = build(corpus, tmp_path / "fresh", site=False)
    assert_same_output(rebuilt, fresh)
    assert _manifest(rebuilt)["sources"] != sources_before


def test_a_rebuild_copies_the_unchanged_graphs_from_the_previous_dumps(corpus, tmp_path, monkeypatch):
    build(corpus, tmp_path / "dist", site=False)
    edited = generator.touch_article(corpus)
    read: list[str] = []
    real = claimgraph.dumps.part_ranges

    def recording(path: Path):
        read.append(path.stem)
        return real(path)

    monkeypatch.setattr(claimgraph.dumps, "part_ranges", recording)
    # the previous dumps are copied from their start as the sources are scanned, up to the
    # edited article, then every article graph's part is written while the shared graphs are
    # made; writing the dumps goes on from there
    started: list[claimgraph.dumps.DumpStart] = []
    real_stop = claimgraph.dumps_ahead.PreviousDumpsCopy.stop_at
    monkeypatch.setattr(claimgraph.dumps_ahead.PreviousDumpsCopy, "stop_at",
                        lambda *a: started.append(real_stop(*a)) or started[-1])
    real_start = claimgraph.build.write_dump_start
    monkeypatch.setattr(claimgraph.build, "write_dump_start",
                        lambda *a: started.append(real_start(*a)) or started[-1])
    starts: list[int] = []
    real_write = claimgraph.dumps._write_dump
    for module in (claimgraph.dumps, claimgraph.dumps_ahead):
        monkeypatch.setattr(module, "_write_dump", lambda *a: starts.append(a[-1]) or real_write(*a))
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    article_iris = sorted(iri for iri in rebuilt.assembled.graph_files if "/graph/article/" in iri)
    edited_iri = next(iri for iri in article_iris if iri.endswith("/" + edited.stem))
    assert len(started) == 2
    assert [g.iri for g in started[0].graphs] == article_iris[:article_iris.index(edited_iri)]
    assert [g.iri for g in started[1].graphs] == article_iris
    assert sorted(started[1].sizes) == sorted(claimgraph.dumps.DUMP_FORMATS)
    # five writes for the second start, going on from the first, then five after it
    assert sorted(starts[:5]) == sorted(started[0].sizes.values())
    assert sorted(starts[-5:]) == sorted(started[1].sizes.values())
    # the edited article's parts (and the shared graphs', written again) come from their files;
    # the nine others', from the previous dumps
    articles = {path.stem for iri, path in rebuilt.assembled.graph_files.items() if "/graph/article/" in iri}
    assert len(articles) == 10 and set(read) & articles == {edited.stem}
    monkeypatch.undo()
    monkeypatch.setattr(claimgraph.assembly, "BATCH_SIZE", 4)
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_a_new_article_before_the_unchanged_ones_means_writing_the_dumps_whole(corpus, tmp_path, monkeypatch):
    """The dumps written ahead begin with the unchanged graphs before the edited one; an
    article added before them all makes those not the build's first graphs, and the dumps
    must not go on from them."""
    build(corpus, tmp_path / "dist", site=False)
    articles = corpus / "articles"
    first = sorted(articles.glob("*.txt"))[0]
    for source in articles.glob(first.stem + ".*"):
        (articles / source.name.replace(first.stem, "0-" + first.stem)).write_bytes(source.read_bytes())
    generator.touch_article(corpus)
    resumed: list[bool] = []
    real = claimgraph.dumps._graphs

    def recording(files, known, start=None):
        graphs, went_on = real(files, known, start)
        if start is not None:
            resumed.append(went_on)
        return graphs, went_on

    monkeypatch.setattr(claimgraph.dumps, "_graphs", recording)
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    assert resumed and not any(resumed)
    monkeypatch.undo()
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_a_dump_changed_since_the_last_build_is_not_copied_from(corpus, tmp_path):
    first = build(corpus, tmp_path / "dist", site=False)
    for name in ("dataset.ttl", "dataset.jsonld"):  # same size, other bytes
        with (first.out_dir / name).open("r+b") as handle:
            handle.seek((first.out_dir / name).stat().st_size // 2)
            handle.write(b"XX")
    generator.touch_article(corpus)
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_a_damaged_dump_layout_means_writing_the_dumps_whole(corpus, tmp_path):
    first = build(corpus, tmp_path / "dist", site=False)
    layout_path = first.out_dir / claimgraph.dumps.LAYOUT
    layout = json.loads(layout_path.read_text(encoding="utf-8"))
    del next(iter(layout["graphs"].values()))["offsets"]["ttl"]
    layout_path.write_text(json.dumps(layout), encoding="utf-8")
    generator.touch_article(corpus)
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_a_rebuild_hashes_again_only_the_sources_that_may_have_changed(corpus, tmp_path, monkeypatch):
    """A source whose size, times and inode are as the last scan saw them keeps its hash;
    an edit that keeps the size is still seen (its change time moves)."""
    time.sleep(1.1)  # the generated files are older than the first scan by more than its margin
    build(corpus, tmp_path / "dist", site=False)
    text = sorted((corpus / "articles").glob("*.txt"))[2]
    body = text.read_text(encoding="utf-8")
    position = body.rindex(" the ") + 1
    text.write_text(body[:position] + "T" + body[position + 1:], encoding="utf-8")  # same size
    hashed: list[str] = []
    real = claimgraph.sources._sha256

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(claimgraph.sources, "_sha256", counting)
    loaded = _count_loads(monkeypatch)
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    # the edited article's files only (read again, they are hashed again as they are read)
    assert text.name in hashed and set(hashed) <= {text.name, f"{text.stem}.annotations.yaml"}, hashed
    assert loaded == [text.name]
    monkeypatch.undo()
    monkeypatch.setattr(claimgraph.assembly, "BATCH_SIZE", 4)
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_a_removed_article_leaves_the_store_the_dumps_and_the_index(corpus, tmp_path):
    build(corpus, tmp_path / "dist", site=False)
    gone = sorted((corpus / "articles").glob("*.txt"))[3]
    gone_graph = f"graph/article/{gone.stem}"
    gone.unlink()
    gone.with_name(f"{gone.stem}.annotations.yaml").unlink()
    rebuilt = build(corpus, tmp_path / "dist", site=False)
    assert rebuilt.assembled.reused == 9
    assert not any(gone_graph in q.graph_name.value for q in _store_quads(rebuilt)
                   if isinstance(q.graph_name, ox.NamedNode))
    assert not any(gone_graph in row[-1] for row in _search_rows(rebuilt))
    assert_same_output(rebuilt, build(corpus, tmp_path / "fresh", site=False))


def test_nothing_changed_reuses_everything(corpus, tmp_path, monkeypatch):
    first = build(corpus, tmp_path / "dist", site=False)
    before = {name: (first.out_dir / name).read_bytes() for name in DUMPS}
    loaded = _count_loads(monkeypatch)
    mapped: list[int] = []
    real = claimgraph.assembly.map_metadata
    monkeypatch.setattr(claimgraph.assembly, "map_metadata", lambda *args: mapped.append(1) or real(*args))
    again = build(corpus, tmp_path / "dist", site=False)
    assert loaded == [] and again.assembled.reused == 10
    assert mapped == []  # the metadata graph too is the previous build's
    assert {name: (again.out_dir / name).read_bytes() for name in DUMPS} == before
    # a claim's summary fewer changes a graph's size, and one article fewer the graphs and the
    # sources: the metadata graph says both, so it is made again, as a fresh build makes it
    annotations = next(p for p in sorted((corpus / "articles").glob("*.annotations.yaml"))
                       if "    summary:" in p.read_text(encoding="utf-8"))
    lines = annotations.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.remove(next(line for line in lines if line.startswith("    summary:")))
    annotations.write_text("".join(lines), encoding="utf-8")
    gone = sorted(p for p in (corpus / "articles").glob("*.txt") if p.stem != annotations.name.split(".")[0])[3]
    for step in range(2):
        if step == 1:
            for source in (corpus / "articles").glob(gone.stem + ".*"):
                source.unlink()
        rebuilt = build(corpus, tmp_path / "dist", site=False)
        assert len(mapped) == step + 1
        monkeypatch.setattr(claimgraph.assembly, "map_metadata", real)
        assert_same_output(rebuilt, build(corpus, tmp_path / f"fresh{step}", site=False))
        monkeypatch.setattr(claimgraph.assembly, "map_metadata", lambda *args: mapped.append(1) or real(*args))


def test_a_source_error_in_a_worker_names_its_file_and_line_and_keeps_the_output(corpus, tmp_path):
    first = build(corpus, tmp_path / "dist", site=False)
    before = (first.out_dir / "dataset.nq").read_bytes()
    broken = sorted((corpus / "articles").glob("*.annotations.yaml"))[-1]  # in the last batch
    lines = broken.read_text(encoding="utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.strip().startswith("kind:"))
    lines[where] = lines[where].split("kind:")[0] + "kind: gossip"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = corpus / "dataset.yaml"  # a new dataset.yaml: every article is read again, in workers
    dataset.write_text(dataset.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        build(corpus, tmp_path / "dist", site=False)
    assert caught.value.path == broken and caught.value.line == where + 1
    assert "gossip" in caught.value.message or "kind" in caught.value.message
    assert (first.out_dir / "dataset.nq").read_bytes() == before


def test_the_cache_is_kept_across_changes_to_code_that_makes_no_graph():
    """A rebuild reuses cached graphs unless code that makes graphs, their dump parts or
    their search rows changed: every module a build's worker imports, less those that only
    write the output, but none of the code that serves or renders documents."""
    import subprocess
    import sys

    from claimgraph.buildcache import graph_code

    package = Path(claimgraph.build.__file__).parent
    names = {path.relative_to(package).as_posix() for path in graph_code()}
    assert {"mapping.py", "batches.py", "validation.py", "graphparts.py", "search.py",
            "documents/jsonld_doc.py"} <= names
    assert not names & {"documents/describe.py", "documents/rdf.py", "web/app.py", "site.py", "cli.py"}
    loaded = subprocess.run([sys.executable, "-c", "import sys, claimgraph.batches; print(*sorted(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout.split()
    worker = {m.removeprefix("claimgraph.").replace(".", "/") for m in loaded if m.startswith("claimgraph.")}
    writing_only = {"publishing", "linking", "linking/cache"}
    for module in worker - writing_only:
        assert f"{module}.py" in names or f"{module}/__init__.py" in names, module
