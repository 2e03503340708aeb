"""The build output is replaced whole or not at all."""

from __future__ import annotations

import errno

import pyoxigraph as ox
import pytest

import claimgraph.build
from claimgraph.build import build
from claimgraph.cli import main
from claimgraph.errors import OutputError
from claimgraph.publishing import _bulk_load, recover_output, write_store
from conftest import DATA
from test_sources import snapshot


def test_a_write_error_leaves_the_previous_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "dist"
    build(DATA, out)
    before = snapshot(out)

    def disk_full(files, out_dir, previous_out=None, prefilled=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "dataset.nq"))

    monkeypatch.setattr(claimgraph.build, "write_dumps", disk_full)
    assert main(["build", "--data", str(DATA), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "previous output is unchanged" in err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"], "a temporary folder was left behind"


def test_an_interrupted_build_leaves_the_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "dist"
    build(DATA, out)
    before = snapshot(out)

    def interrupted(store, iris, out_dir, version):
        raise KeyboardInterrupt

    monkeypatch.setattr(claimgraph.build, "write_site", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(DATA, out)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


def test_a_half_done_swap_is_recovered(tmp_path):
    out = tmp_path / "dist"
    build(DATA, out)
    before = snapshot(out)
    out.rename(tmp_path / "dist.previous")  # as if killed between the two renames of the fallback
    (tmp_path / ".dist.building-x").mkdir()
    recover_output(out)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


def test_an_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as caught:
        build(DATA, blocker / "dist")
    assert "output folder" in str(caught.value)


def test_store_loads_chunks_in_parallel_and_keeps_blank_nodes_together(tmp_path):
    """Many small chunks, loaded two at a time, give every quad once; a blank node label
    shared by two graph files stays one node (those graphs are loaded in one go)."""
    files = []
    for n in range(12):
        path = tmp_path / f"g{n:02}.nq"
        path.write_text("".join(f'<urn:s{n}> <urn:p> "{k}" <urn:g{n}> .\n' for k in range(50)))
        files.append(path)
    for n in (1, 2):
        path = tmp_path / f"blank{n}.nq"
        path.write_text(f'_:shared <urn:p> "b{n}" <urn:b{n}> .\n')
        files.append(path)
    store = ox.Store(str(tmp_path / "store"))
    _bulk_load(store, files, chunk_bytes=1000, threads=2)
    assert len(store) == 12 * 50 + 2
    rows = list(store.query("SELECT (COUNT(DISTINCT ?s) AS ?n) { GRAPH ?g { ?s <urn:p> ?o } FILTER isBlank(?s) }"))
    assert rows[0]["n"].value == "1"


def test_store_update_swaps_graphs_and_reloads_when_a_graph_does_not_come_out_whole(tmp_path):
    """A rebuild swaps the changed graphs into a checkpoint of the previous store, and checks
    each swapped graph against its file; one that does not match means loading afresh."""
    graphs = []
    for n in range(3):
        path = tmp_path / f"g{n}.nq"
        path.write_text("".join(f'<urn:s{n}> <urn:p> "{k}" <urn:g{n}> .\n' for k in range(4)))
        graphs.append(path)
    assert write_store(tmp_path / "before", graphs, 12) == 12
    changed = tmp_path / "changed.nq"
    changed.write_text('<urn:s1> <urn:p> "new" <urn:g1> .\n')
    files = [graphs[0], changed, graphs[2]]
    assert write_store(tmp_path / "after", files, 9, tmp_path / "before", {"urn:g1": changed}) == 9
    store = ox.Store.read_only(str(tmp_path / "after"))
    assert {q.object.value for q in store.quads_for_pattern(None, None, None, ox.NamedNode("urn:g1"))} == {"new"}
    del store
    # a file whose lines are not its quads (one said twice) does not match what was loaded:
    # the store is then loaded afresh from all the files, and its real size returned
    doubled = tmp_path / "doubled.nq"
    doubled.write_text('<urn:s1> <urn:p> "x" <urn:g1> .\n' * 2)
    files = [graphs[0], doubled, graphs[2]]
    assert write_store(tmp_path / "again", files, 10, tmp_path / "before", {"urn:g1": doubled}) == 9
