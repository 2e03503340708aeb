"""The dumps agree with each other, parse strictly, and are byte-stable across builds."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from claimgraph.build import build
from claimgraph.jsonld import offline_document_loader, to_jsonld
from conftest import DATA

DUMPS = ("dataset.trig", "dataset.nq", "dataset.ttl", "dataset.nt", "dataset.jsonld", "validation.ttl",
         "ontology.html", "build.json")


def assert_isomorphic(expected: Graph, actual: Graph) -> None:
    if isomorphic(expected, actual):
        return
    _, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    lines = [f"- {t}" for t in sorted(only_expected)[:20]] + [f"+ {t}" for t in sorted(only_actual)[:20]]
    raise AssertionError("graphs differ:\n" + "\n".join(lines))


def test_jsonld_expanded_by_pyld_is_isomorphic_to_turtle(seed_build):
    document = json.loads((seed_build.out_dir / "dataset.jsonld").read_text(encoding="utf-8"))
    assert document["@context"][0] == "https://schema.org"
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads",
                                      "documentLoader": offline_document_loader})
    from_jsonld = Graph()
    for quad in ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS):
        from_jsonld.parse(data=str(ox.Triple(quad.subject, quad.predicate, quad.object)) + " .",
                          format="nt")
    turtle = Graph().parse(seed_build.out_dir / "dataset.ttl", format="turtle")
    assert len(turtle) > 1000
    assert_isomorphic(turtle, from_jsonld)


def test_jsonld_keeps_named_graphs(seed_build):
    document = json.loads((seed_build.out_dir / "dataset.jsonld").read_text(encoding="utf-8"))
    graph_ids = {g["id"] for g in document["@graph"]}
    assert str(seed_build.assembled.iris.article_graph("section-907-opinion")) in graph_ids


def test_context_subset_compacts_exactly_like_the_full_schemaorg_context(seed_build):
    quads = seed_build.assembled.quads()
    assert to_jsonld(quads) == to_jsonld(quads, full_context=True)


def test_trig_and_nquads_hold_the_same_quads(seed_build):
    out = seed_build.out_dir
    trig = set(ox.parse(path=str(out / "dataset.trig"), format=ox.RdfFormat.TRIG))
    nq = set(ox.parse(path=str(out / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    assert trig == nq
    assert len(nq) == seed_build.quad_count
    ds = Dataset()
    ds.parse(out / "dataset.nq", format="nquads")
    assert len(ds) == len(nq)


def test_turtle_and_ntriples_are_the_merged_graphs(seed_build):
    out = seed_build.out_dir
    quads = set(ox.parse(path=str(out / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    merged = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    ttl = {q.triple for q in ox.parse(path=str(out / "dataset.ttl"), format=ox.RdfFormat.TURTLE)}
    nt = {q.triple for q in ox.parse(path=str(out / "dataset.nt"), format=ox.RdfFormat.N_TRIPLES)}
    assert ttl == nt == merged


def test_store_holds_every_quad(seed_build, seed_store):
    nq = set(ox.parse(path=str(seed_build.out_dir / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    assert set(seed_store.quads_for_pattern(None, None, None, None)) == nq


def test_two_builds_are_byte_identical(tmp_path):
    first = build(DATA, tmp_path / "a")
    second = build(DATA, tmp_path / "b")
    for name in DUMPS:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes(), name


def test_source_date_epoch_sets_the_build_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    result = build(DATA, tmp_path / "dist")
    text = (result.out_dir / "dataset.ttl").read_text(encoding="utf-8")
    assert '"2026-01-01T00:00:00Z"^^xsd:dateTime' in text
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    again = build(DATA, tmp_path / "dist2")
    assert "2026-01-01T00:00:00Z" not in (again.out_dir / "dataset.ttl").read_text(encoding="utf-8")


def test_split_prefixes_takes_only_the_leading_prefix_lines():
    from claimgraph.graphparts import split_prefixes
    from claimgraph.namespaces import PREFIXES

    subject = ox.NamedNode("https://claimgraph.example/article/a")
    triples = [ox.Triple(subject, ox.NamedNode("http://schema.org/headline"), ox.Literal("x\n@prefix y: <z> .")),
               ox.Triple(subject, ox.NamedNode("http://schema.org/author"), ox.NamedNode("https://claimgraph.example/entity/b"))]
    written = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    head, rest = split_prefixes(written)
    assert head + rest == written
    assert head and all(line.startswith(b"@prefix") for line in head.splitlines())
    assert not any(line.startswith(b"@prefix") for line in rest.splitlines())
    assert len(head.splitlines()) == sum(line.startswith(b"@prefix") for line in written.splitlines())
    assert split_prefixes(b"<a> <b> <c> .\n") == (b"", b"<a> <b> <c> .\n")
    assert split_prefixes(b"@prefix a: <b> .") == (b"@prefix a: <b> .", b"")


def test_parts_file_holds_each_section_and_refuses_a_damaged_header(tmp_path):
    from claimgraph.errors import OutputError
    from claimgraph.graphparts import PARTS, graph_parts, part_ranges, parts_path, read_part, write_parts

    graph = ox.NamedNode("https://claimgraph.example/graph/article/a")
    quads = [ox.Quad(ox.NamedNode("https://claimgraph.example/article/a"),
                     ox.NamedNode("http://schema.org/headline"), ox.Literal("A \u201cheadline\u201d"), graph)]
    graph_file = tmp_path / "a.nq"
    write_parts(graph_file, quads, search=b'[["x"]]')
    expected = graph_parts(quads) | {"search": b'[["x"]]'}
    assert {name: read_part(graph_file, name) for name in PARTS} == expected
    data = parts_path(graph_file).read_bytes()
    assert [data[o:o + n] for o, n in part_ranges(graph_file).values()] == [expected[p] for p in PARTS]
    parts_path(graph_file).write_bytes(b"not json\n" + data.split(b"\n", 1)[1])
    with pytest.raises(OutputError) as caught:
        read_part(graph_file, "ttl")
    assert caught.value.path == parts_path(graph_file) and caught.value.line == 1


def test_search_index_reads_its_groups_one_at_a_time(tmp_path):
    """A fresh index takes each graph's rows as it inserts them (a corpus's rows at once were
    more than a GB at 100,000 articles); a rebuild's index replaces the groups it is given."""
    from claimgraph.search import SearchIndex, write_search_index

    consumed: list[str] = []

    def rows_of(name: str, word: str):
        yield (f"https://d.example/{name}", "article", name, word, "", "")
        consumed.append(name)

    def groups(words: list[str]):
        for i, word in enumerate(words):
            assert consumed == [f"g{j}" for j in range(i)], "a group was read before the previous one went in"
            yield f"g{i}", rows_of(f"g{i}", word)

    path = tmp_path / "search.sqlite"
    write_search_index(path, groups(["word0", "word1", "word2"]))
    assert consumed == ["g0", "g1", "g2"]
    index = SearchIndex(path)
    assert [hit.iri for hit in index.search("word1")] == ["https://d.example/g1"]
    index.db.close()
    again = tmp_path / "again.sqlite"
    write_search_index(again, [("g1", [("https://d.example/g1", "article", "g1", "other1", "", "")])],
                       previous=path, dropped=["g2"])
    index = SearchIndex(again)
    assert [hit.iri for hit in index.search("other1")] == ["https://d.example/g1"]
    assert index.search("word1") == [] and index.search("word2") == []
    assert [hit.iri for hit in index.search("word0")] == ["https://d.example/g0"]
    index.db.close()


def test_dumps_written_as_the_graphs_are_made_are_those_written_at_the_end(two_article_build, tmp_path):
    """A build with no previous output streams its dumps while the graphs are made: the same
    bytes and layout as writing them at the end, and written whole should graphs come out of
    order."""
    from claimgraph.dumps import DUMP_FORMATS, LAYOUT, write_dumps
    from claimgraph.dumps_ahead import DumpStream

    graphs = sorted((iri, path) for iri, path in two_article_build.assembled.graph_files.items())
    articles = [item for item in graphs if "/graph/article/" in item[0]]
    assert len(articles) == 2 and len(graphs) > 3
    whole = tmp_path / "whole"
    whole.mkdir()
    write_dumps(graphs, whole)

    def layout(folder: Path) -> dict:
        return json.loads((folder / LAYOUT).read_text(encoding="utf-8"))["graphs"]

    for name, batches in (("streamed", [[articles[0]], [articles[1]]]), ("disordered", [[articles[1]], [articles[0]]]),
                          ("at-the-end", [])):
        folder = tmp_path / name
        folder.mkdir()
        stream = DumpStream(folder)
        for batch in batches:
            stream.add(batch)
        paths = stream.finish(graphs)
        for ext in DUMP_FORMATS:
            assert paths[ext].read_bytes() == (whole / f"dataset.{ext}").read_bytes(), (name, ext)
            assert paths[ext].read_bytes() == (two_article_build.out_dir / f"dataset.{ext}").read_bytes(), (name, ext)
        assert layout(folder) == layout(whole), name


def test_previous_dumps_copied_ahead_are_cut_where_the_first_changed_graph_begins(two_article_build, tmp_path,
                                                                                    monkeypatch):
    """A rebuild copies the previous dumps before it knows how far: cut at the end of the
    unchanged graphs' parts (however far it had gone by then), they are a start that writing
    the dumps goes on from, to the same bytes; stopped without a cut (a failed build), its
    threads end."""
    import time

    from claimgraph.dumps import DUMP_FORMATS, write_dumps
    from claimgraph.dumps_ahead import PreviousDumpsCopy

    previous = two_article_build.out_dir
    graphs = sorted((iri, path) for iri, path in two_article_build.assembled.graph_files.items())
    for unchanged in range(len(graphs) + 1):
        for chunk, wait in ((7, 0.0), (1 << 20, 0.2)):  # cut while copying, or after all of it
            folder = tmp_path / f"{unchanged}-{chunk}"
            folder.mkdir()
            copy = PreviousDumpsCopy(previous, folder, chunk_bytes=chunk)
            time.sleep(wait)
            start = copy.stop_at(graphs[:unchanged])
            assert start is not None and [g.iri for g in start.graphs] == [iri for iri, _ in graphs[:unchanged]]
            for ext in DUMP_FORMATS:
                assert (folder / f"dataset.{ext}").stat().st_size == start.sizes[ext]
            write_dumps(graphs, folder, previous, start)
            for ext in DUMP_FORMATS:
                assert (folder / f"dataset.{ext}").read_bytes() == (previous / f"dataset.{ext}").read_bytes()
    stopped = PreviousDumpsCopy(previous, tmp_path, chunk_bytes=7)
    stopped.close()
    assert not any(thread.is_alive() for thread in stopped._threads)
    # a graph file that cannot be read when the copy is cut: no start, and no thread left
    # writing into the dumps that are then written whole
    missing = PreviousDumpsCopy(previous, tmp_path, chunk_bytes=7)
    assert missing.stop_at([(graphs[0][0], tmp_path / "gone.nq")]) is None
    assert not any(thread.is_alive() for thread in missing._threads)
    # a copy that fails gives no start either (the dumps are then written whole)
    import claimgraph.dumps_ahead

    def failing(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(claimgraph.dumps_ahead, "_copy", failing)
    broken = tmp_path / "broken"
    broken.mkdir()
    assert PreviousDumpsCopy(previous, broken, chunk_bytes=7).stop_at(graphs[:1]) is None
