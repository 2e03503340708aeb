"""The fast paths of describing and serializing a resource give exactly what the plain ones do.

``describe`` asks a pyoxigraph store for an article's backlinks in one query and anything else
(a remote store) pattern by pattern; the server's ``Describer`` keeps what it looked up of linked
resources; an article's graph is read from the build's file of it; JSON-LD is compacted in one
pass instead of by pyld-style expansion, and written one node per line by json's C encoder.
Each pair must agree quad for quad and byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from pyld import jsonld

from claimgraph.documents.describe import ONTOLOGY_IRI, describe
from claimgraph.documents.formats import FORMATS
from claimgraph.documents.jsonld_doc import compact_node, compacted_nodes, resource_jsonld
from claimgraph.documents.rdf import Rebase, rewrite_quads, serialize, serialize_description
from claimgraph.graphparts import jsonld_nodes
from claimgraph.jsonld import JSONLD_CONTEXT, expanded_jsonld, jsonld_bytes, jsonld_node_line, offline_document_loader
from claimgraph.namespaces import Iris
from claimgraph.rdfterms import sort_quads
from conftest import EXTRA_SLUG, SEED_SLUG

PUBLIC = "http://127.0.0.1:8765/"


class PatternOnly:
    """A store offering only quads_for_pattern, as a remote one does: describe's plain path."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def quads_for_pattern(self, *pattern: Any) -> Iterator[ox.Quad]:
        return iter(self.store.quads_for_pattern(*pattern))


def sample_iris(store: ox.Store, base: str) -> list[str]:
    subjects = {q.subject.value for q in store.quads_for_pattern(None, None, None, None)
                if isinstance(q.subject, ox.NamedNode)}
    objects = {q.object.value for q in store.quads_for_pattern(None, None, None, None)
               if isinstance(q.object, ox.NamedNode)}
    extra = [base + "dataset", ONTOLOGY_IRI, base + "article/nothing", base + "article/a/b", base + "nothing"]
    return sorted(subjects | {o for o in objects if o.startswith(base)}) + extra


@pytest.fixture(scope="module")
def described(two_article_build, two_article_store) -> list[tuple[str, list[ox.Quad]]]:
    iris = Iris(two_article_build.assembled.iris.base)
    return [(iri, describe(two_article_store, iri, iris).quads)
            for iri in sample_iris(two_article_store, iris.base)]


def test_batched_describe_gives_the_quads_of_one_lookup_per_resource(two_article_build, two_article_store,
                                                                     described):
    iris = Iris(two_article_build.assembled.iris.base)
    plain = PatternOnly(two_article_store)
    for iri, quads in described:
        assert quads == describe(plain, iri, iris).quads, iri  # type: ignore[arg-type]
    found = {iri for iri, quads in described if quads}
    assert {iris.base + f"article/{slug}" for slug in (SEED_SLUG, EXTRA_SLUG)} <= found


def test_summaries_of_what_points_at_a_resource_read_in_one_query_describe_the_same(
        two_article_build, two_article_store, described, monkeypatch):
    """Past _MANY_BACKLINKS quads (an entity thousands of claims are about), the summaries of
    what points at the resource come from one query: the same description."""
    from claimgraph.documents import describe as module

    monkeypatch.setattr(module, "_MANY_BACKLINKS", 0)
    iris = Iris(two_article_build.assembled.iris.base)
    describer = module.Describer(two_article_store, iris)
    entities = [(iri, quads) for iri, quads in described if "/entity/" in iri and quads]
    assert len(entities) > 5
    for iri, quads in entities:
        assert describer(iri).quads == quads, iri


class CountingStore:
    """A pyoxigraph store that counts its pattern look-ups."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.lookups = 0

    def quads_for_pattern(self, *pattern: Any) -> Iterator[ox.Quad]:
        self.lookups += 1
        return iter(self.store.quads_for_pattern(*pattern))


def test_a_describer_keeping_summaries_describes_as_a_fresh_one_with_fewer_lookups(two_article_build,
                                                                                   two_article_store, described):
    from claimgraph.documents.describe import Describer

    iris = Iris(two_article_build.assembled.iris.base)
    fresh, kept = CountingStore(two_article_store), CountingStore(two_article_store)
    keeping = Describer(kept, iris, keep=10_000)  # type: ignore[arg-type]
    for _ in range(2):  # the second time round, from what was kept
        for iri, quads in described:
            assert keeping(iri).quads == quads, iri
            assert describe(fresh, iri, iris).quads == quads, iri  # type: ignore[arg-type]
    assert kept.lookups < fresh.lookups * 0.6, (kept.lookups, fresh.lookups)
    tiny = Describer(two_article_store, iris, keep=2)  # dropping what does not fit changes nothing
    assert [tiny(iri).quads for iri, _ in described] == [quads for _, quads in described]


def test_articles_are_described_with_their_neighbours_labels(two_article_build, described):
    base = two_article_build.assembled.iris.base
    quads = dict(described)[base + f"article/{SEED_SLUG}"]
    graphs = {q.graph_name.value for q in quads}
    assert {base + f"graph/article/{SEED_SLUG}", base + "graph/entities"} <= graphs
    assert quads == sort_quads(set(quads))


def reference_serialize(quads: list[ox.Quad], fmt, public_base: str, rewrite) -> bytes:
    """serialize as it was written before the fast paths: Quads rewritten one by one (in their
    order), expanded then compacted, json.dumps, every term handed to pyoxigraph as written."""
    def term(t):
        return ox.NamedNode(rewrite(t.value)) if rewrite and isinstance(t, ox.NamedNode) else t

    if rewrite:
        quads = [ox.Quad(term(q.subject), term(q.predicate), term(q.object), term(q.graph_name)) for q in quads]
    if fmt.extension == "jsonld":
        return jsonld_bytes([compact_node(n) for n in expanded_jsonld(quads)])
    items: list = quads if fmt.quads else list(dict.fromkeys(q.triple for q in quads))
    with_prefixes = fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)
    from claimgraph.documents.rdf import dataset_prefixes

    return ox.serialize(items, format=fmt.rdf_format,
                        prefixes=dataset_prefixes(public_base) if with_prefixes else None)


def parsed(body: bytes, fmt) -> set:
    return {str(t) for t in ox.parse(body, format=fmt.rdf_format)}


def expanded_by_pyld(body: bytes) -> set[str]:
    """A JSON-LD document's statements as pyld reads it (the schema.org context served offline)."""
    nquads = jsonld.to_rdf(json.loads(body), {"format": "application/n-quads",
                                               "documentLoader": offline_document_loader})
    return {str(q) for q in ox.parse(nquads.encode(), format=ox.RdfFormat.N_QUADS)}


def test_every_format_says_what_the_plain_serializer_does(two_article_build, described):
    """Byte for byte as served at the base IRI; as served elsewhere, the same statements (the
    text formats are rebased in the written text, so their prefixed names may differ; JSON-LD
    keeps the dataset's terms, with a context naming the rebased namespaces), and RDF/XML byte
    for byte."""
    base = two_article_build.assembled.iris.base
    rebase = Rebase(base, PUBLIC)
    rebased_text = 0
    for iri, quads in described:
        if not quads:
            continue
        for fmt in FORMATS:
            if fmt.rdf_format is None:
                continue
            assert serialize(quads, fmt, base) == reference_serialize(quads, fmt, base, None), (iri, fmt)
            served = serialize(quads, fmt, PUBLIC, rebase)
            expected = reference_serialize(quads, fmt, PUBLIC, rebase)
            if fmt.extension == "jsonld":
                assert expanded_by_pyld(served) == {str(q) for q in rewrite_quads(quads, rebase)}, iri
            elif fmt.extension == "rdf":
                assert served == expected, (iri, fmt)
            else:
                assert parsed(served, fmt) == parsed(expected, fmt), (iri, fmt)
                assert b"<" + base.encode() not in served, (iri, fmt)  # every IRI rebased
                rebased_text += 1
    assert rebased_text > 100


def test_a_literal_holding_the_base_iri_in_brackets_is_left_as_it_is():
    base = "https://d.example/"
    s, p = ox.NamedNode(base + "entity/s"), ox.NamedNode("http://schema.org/name")
    g = ox.NamedNode(base + "graph/entities")
    quads = [ox.Quad(s, p, ox.Literal(f"see <{base}entity/s> and <{base}x>"), g),
             ox.Quad(s, p, ox.Literal("plain"), g)]
    rebase = Rebase(base, PUBLIC)
    for fmt in FORMATS:
        if fmt.rdf_format is None or fmt.extension == "jsonld":
            continue
        assert parsed(serialize(quads, fmt, PUBLIC, rebase), fmt) == parsed(
            reference_serialize(quads, fmt, PUBLIC, rebase), fmt), fmt
        statements = list(ox.parse(serialize(quads, fmt, PUBLIC, rebase), format=fmt.rdf_format))
        assert {t.object.value for t in statements} == {f"see <{base}entity/s> and <{base}x>", "plain"}, fmt
        assert {t.subject.value for t in statements} == {PUBLIC + "entity/s"}, fmt


def test_rewrite_quads_rewrites_every_iri_position():
    g, s, p = (ox.NamedNode(f"https://d.example/{x}") for x in "gsp")
    quad = ox.Quad(s, p, ox.Literal("https://d.example/s"), g)
    [out] = rewrite_quads([quad], lambda iri: iri.replace("https://d.example/", "http://h/"))
    assert out == ox.Quad(ox.NamedNode("http://h/s"), ox.NamedNode("http://h/p"),
                          ox.Literal("https://d.example/s"), ox.NamedNode("http://h/g"))


def test_one_pass_jsonld_matches_expansion_and_compaction_on_awkward_data():
    s, other = ox.NamedNode("https://d.example/s"), ox.NamedNode("https://d.example/o")
    g = ox.NamedNode("https://d.example/g")
    schema = "http://schema.org/"
    quads = [
        ox.Quad(s, ox.NamedNode(schema + "name"), ox.Literal("plain"), g),
        ox.Quad(s, ox.NamedNode(schema + "name"), ox.Literal("plain", language="en"), g),
        ox.Quad(s, ox.NamedNode(schema + "name"), ox.Literal("plain"), g),  # a repeat
        ox.Quad(s, ox.NamedNode(schema + "dateCreated"), ox.Literal("2026-01-01"), g),  # coerced term
        ox.Quad(s, ox.NamedNode(schema + "url"), ox.Literal("x", datatype=ox.NamedNode(schema + "URL")), g),
        ox.Quad(s, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode(schema + "Claim"), g),
        ox.Quad(s, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.Literal("odd"), g),
        ox.Quad(s, ox.NamedNode("https://other.example/p"), ox.Literal("not a schema term")),
        ox.Quad(s, ox.NamedNode(schema + "about"), other, g),
        ox.Quad(s, ox.NamedNode(schema + "about"), ox.BlankNode("b0"), g),
        ox.Quad(ox.BlankNode("b0"), ox.NamedNode(schema + "name"), ox.Literal("blank"), g),
        ox.Quad(g, ox.NamedNode(schema + "name"), ox.Literal("the graph itself")),
        # two predicates compacting to the same key: the plain path's answer is kept
        ox.Quad(s, ox.NamedNode(schema + "id"), ox.Literal("clash"), g),
    ]
    for n in range(1, len(quads) + 1):
        part = quads[:n]
        expected = {"@context": JSONLD_CONTEXT, "@graph": [compact_node(x) for x in expanded_jsonld(part)]}
        assert resource_jsonld(part) == expected, n
        assert json.loads(jsonld_bytes(resource_jsonld(part)["@graph"])) == json.loads(json.dumps(expected))
        # the dumps' parts read the quads as rows lazily, and the fallback reads them again
        assert jsonld_nodes(part) == ",\n".join(map(jsonld_node_line, expected["@graph"])), n
        rows = [(q.subject, q.predicate, q.object, q.graph_name) for q in part]
        assert compacted_nodes(iter(rows)) == compacted_nodes(rows) == expected["@graph"], n


@pytest.mark.parametrize("nodes", [
    [], [{"id": "https://d.example/a"}], [{"b": {}, "a": ["x", {"z": "y", "k": [[], {}]}]}, {"id": "x"}],
    [{"text": "quote \" backslash \\ newline \n tab \t nul \x00 line sep \u2028 é 🙂 </script>"}],
])
def test_jsonld_bytes_is_the_context_then_one_node_per_line(nodes):
    written = jsonld_bytes(nodes)
    assert json.loads(written) == {"@context": JSONLD_CONTEXT, "@graph": nodes}
    lines = written.decode("utf-8").split("\n")
    graph_at = lines.index(' "@graph": [')
    assert [json.loads(line.rstrip(",")) for line in lines[graph_at + 1:-3] if line] == nodes
    assert lines[-3:] == [" ]", "}", ""]


def test_a_served_jsonld_document_starts_as_the_dump_does(two_article_build):
    dump = (two_article_build.out_dir / "dataset.jsonld").read_bytes()
    head = jsonld_bytes([]).split(b"\n\n")[0] + b"\n"
    assert dump.startswith(head)
    assert dump.endswith(jsonld_bytes([])[len(head):].lstrip(b"\n"))


def test_what_an_article_mints_is_described_only_in_its_graph(two_article_build, two_article_store):
    """describe skips looking up an article's own claims, quotations, events, stances,
    parties and source files elsewhere: this holds only while the build describes them
    nowhere else."""
    from claimgraph.documents.describe import ARTICLE_LOCAL_KINDS, ARTICLE_SOURCES

    base = two_article_build.assembled.iris.base
    checked, sources = 0, set()
    for quad in two_article_store.quads_for_pattern(None, None, None, None):
        subject = quad.subject.value if isinstance(quad.subject, ox.NamedNode) else ""
        kind, _, rest = subject[len(base):].partition("/") if subject.startswith(base) else ("", "", "")
        if kind in ARTICLE_LOCAL_KINDS:
            slug = rest.split("/", 1)[0]
        elif subject.startswith(base + ARTICLE_SOURCES):
            slug = subject[len(base + ARTICLE_SOURCES):].split(".", 1)[0]
            sources.add(subject)
        else:
            continue
        assert quad.graph_name == ox.NamedNode(f"{base}graph/article/{slug}"), quad
        checked += 1
    assert checked > 50
    assert len(sources) == 4  # each article's text and annotations


def test_skipping_an_articles_own_resources_leaves_its_description_as_it_was(two_article_build,
                                                                               two_article_store, described):
    from claimgraph.documents import describe as module

    iris = Iris(two_article_build.assembled.iris.base)
    for slug in (SEED_SLUG, EXTRA_SLUG):
        iri = iris.base + f"article/{slug}"
        graph = ox.NamedNode(iris.base + f"graph/article/{slug}")
        own = module._graph(two_article_store, graph.value) + module._backlinks(two_article_store, iri, graph)
        every_lookup = module.Describer(two_article_store, iris)._labels(own, iri, graph)  # no local prefixes
        assert dict(described)[iri] == sort_quads(set(own + every_lookup)), slug


@pytest.fixture
def graph_files(two_article_build, tmp_path):
    """A copy of the two-article build's article graph files (tests damage them), opened."""
    import shutil

    from claimgraph.documents.graphfiles import GraphFiles
    from claimgraph.publishing import GRAPHS_DIR

    folder = tmp_path / "graphs"
    shutil.copytree(two_article_build.out_dir / GRAPHS_DIR, folder)
    files = GraphFiles(folder)
    yield folder, files
    files.close()


def test_article_graphs_read_from_the_build_files_describe_as_the_store_does(two_article_build,
                                                                             two_article_store, graph_files):
    iris = Iris(two_article_build.assembled.iris.base)
    folder, files = graph_files
    read: list[str] = []

    def counted(graph_iri: str, slug: str):
        quads = files(graph_iri, slug)
        if quads:
            read.append(slug)
        return quads

    for slug in (SEED_SLUG, EXTRA_SLUG):
        iri = iris.base + f"article/{slug}"
        assert describe(two_article_store, iri, iris, counted).quads == describe(two_article_store, iri, iris).quads
    assert read == [SEED_SLUG, EXTRA_SLUG]
    # a file that is not the graph asked for, or none at all: the store answers
    graph = iris.base + f"graph/article/{SEED_SLUG}"
    (folder / f"{SEED_SLUG}.nq").write_bytes((folder / f"{EXTRA_SLUG}.nq").read_bytes())
    assert files(graph, SEED_SLUG) is None
    (folder / f"{SEED_SLUG}.nq").write_bytes(b"not n-quads\n")
    assert files(graph, SEED_SLUG) is None
    (folder / f"{SEED_SLUG}.nq").unlink()
    assert files(graph, SEED_SLUG) is None
    assert files(graph, "_registry") is None and files(graph, "../x") is None
    iri = iris.base + f"article/{SEED_SLUG}"
    assert describe(two_article_store, iri, iris, files).quads == describe(two_article_store, iri, iris).quads


def test_an_articles_jsonld_from_its_written_part_is_what_compacting_it_all_gives(two_article_build,
                                                                                two_article_store, graph_files):
    """An article's JSON-LD document takes its graph's node from the line the build wrote for
    the dump (rebased in its text when served elsewhere): byte for byte what compacting every
    quad gives, on the base IRI and elsewhere; a part it cannot vouch for is not used."""
    from claimgraph.documents import rdf
    from claimgraph.documents.describe import Describer

    iris = Iris(two_article_build.assembled.iris.base)
    folder, files = graph_files
    jsonld_format = next(f for f in FORMATS if f.extension == "jsonld")
    describer = Describer(two_article_store, iris, files)
    for slug in (SEED_SLUG, EXTRA_SLUG):
        description = describer(iris.base + f"article/{slug}")
        assert description.part is not None, slug
        for public, rebase in ((iris.base, None), (PUBLIC, Rebase(iris.base, PUBLIC))):
            spliced = rdf._with_written_part(description.extra, description.part, rebase)
            assert spliced is not None, (slug, public)
            assert spliced == serialize(description.quads, jsonld_format, public, rebase), (slug, public)
            assert serialize_description(description, jsonld_format, public, rebase) == spliced
    # a literal that opens with the base IRI would be rebased with the IRIs, and a subject
    # elsewhere than under the base IRI could change places: the part is not used then
    path = folder / f"{SEED_SLUG}.nq"
    graph, original = f"<{iris.base}graph/article/{SEED_SLUG}>", path.read_bytes()
    rebase = Rebase(iris.base, PUBLIC)
    for extra in (f'<{iris.base}article/{SEED_SLUG}> <http://schema.org/comment> "{iris.base}x" {graph} .',
                  f'<http://other.example/x> <http://schema.org/name> "x" {graph} .'):
        path.write_bytes(original + extra.encode() + b"\n")
        description = describer(iris.base + f"article/{SEED_SLUG}")
        assert description.part is not None and not description.part.rebasable(iris.base), extra
        assert rdf._with_written_part(description.extra, description.part, rebase) is None
    # a graph whose parts file is gone is compacted as any other
    path.write_bytes(original)
    assert describer(iris.base + f"article/{SEED_SLUG}").part.rebasable(iris.base)  # type: ignore[union-attr]
    (folder / f"{SEED_SLUG}.parts").unlink()
    description = describer(iris.base + f"article/{SEED_SLUG}")
    assert description.part is not None and description.part.section("jsonld") is None
    assert rdf._with_written_part(description.extra, description.part, None) is None


def test_an_articles_turtle_from_its_written_part_says_what_writing_it_all_says(two_article_build,
                                                                              two_article_store, graph_files):
    """An article's Turtle document takes its graph's triples from the build's part of the
    Turtle dump, its quads unparsed: the same statements as writing every quad, on the base
    IRI and elsewhere (every IRI rebased); the graph's links, read off its text, are those of
    its quads; a part whose text could not be rebased exactly is not used."""
    from claimgraph.documents import rdf
    from claimgraph.documents.describe import Describer

    iris = Iris(two_article_build.assembled.iris.base)
    folder, files = graph_files
    turtle = next(f for f in FORMATS if f.extension == "ttl")
    describer = Describer(two_article_store, iris, files)
    for slug in (SEED_SLUG, EXTRA_SLUG):
        iri = iris.base + f"article/{slug}"
        description = describer(iri)
        assert description.part is not None and description.extra, slug
        assert description._quads is None  # nothing parsed yet
        graph = description.part.graph
        own = [q for q in describe(two_article_store, iri, iris).quads if q.graph_name == graph]
        assert description.part.linked_iris() == {t.value for q in own for t in (q.subject, q.object)
                                                  if isinstance(t, ox.NamedNode)}
        hosts = ((iris.base, None), (PUBLIC, Rebase(iris.base, PUBLIC)))
        documents = [serialize_description(description, turtle, public, rebase) for public, rebase in hosts]
        assert description._quads is None, "the graph's quads were parsed"
        for (public, rebase), spliced in zip(hosts, documents, strict=True):
            assert spliced.startswith(b"@prefix ") and description.part.section("ttl") in spliced.replace(
                b"<" + PUBLIC.encode(), b"<" + iris.base.encode())
            assert parsed(spliced, turtle) == parsed(serialize(description.quads, turtle, public, rebase), turtle)
            if rebase:
                assert b"<" + iris.base.encode() not in spliced
        assert describer(iri).quads == describe(two_article_store, iri, iris).quads, slug
    # a literal holding the base IRI in brackets, or a datatype under it: not rebased in text
    path = folder / f"{SEED_SLUG}.nq"
    graph_term, original = f"<{iris.base}graph/article/{SEED_SLUG}>", path.read_bytes()
    subject = f"<{iris.base}article/{SEED_SLUG}>"
    for extra in (f'{subject} <http://schema.org/comment> "see <{iris.base}x>" {graph_term} .',
                  f'{subject} <http://schema.org/comment> "x"^^<{iris.base}type> {graph_term} .'):
        path.write_bytes(original + extra.encode() + b"\n")
        description = describer(iris.base + f"article/{SEED_SLUG}")
        assert description.part is not None and not description.part.rebasable_in_text(iris.base), extra
        assert rdf._turtle_with_written_part(description.extra, description.part, Rebase(iris.base, PUBLIC)) \
            is None
        assert description.part.rebasable_in_text("https://elsewhere.example/")
    # no parts file: written from the quads
    path.write_bytes(original)
    (folder / f"{SEED_SLUG}.parts").unlink()
    description = describer(iris.base + f"article/{SEED_SLUG}")
    assert description.part is not None and description.part.section("ttl") is None
    assert serialize_description(description, turtle, iris.base) == serialize(description.quads, turtle, iris.base)


def test_a_graph_files_links_and_rebasing_are_read_off_its_text_as_its_quads_say():
    """GraphPart reads the IRIs a graph links (subjects and IRI objects, those of lines with a
    blank subject included) and whether its text can be rebased, without parsing it."""
    from claimgraph.documents.graphfiles import GraphPart
    from claimgraph.graphparts import sorted_nquads

    base = "https://d.example/"
    g = ox.NamedNode(base + "graph/article/a")
    s, p, o = ox.NamedNode(base + "article/a"), ox.NamedNode("http://schema.org/about"), ox.NamedNode(base + "e/1")
    blank = ox.BlankNode("b1")
    quads = [ox.Quad(s, p, o, g), ox.Quad(s, p, blank, g), ox.Quad(blank, p, ox.NamedNode("http://x.example/y"), g),
             ox.Quad(blank, p, ox.Literal("b"), g),
             ox.Quad(s, ox.NamedNode("http://schema.org/name"), ox.Literal("a <http://not.a/link> \" > q"), g),
             ox.Quad(s, ox.NamedNode("http://schema.org/name"), ox.Literal("x", language="en"), g)]

    def part(extra: list[ox.Quad]) -> GraphPart:
        _, data = sorted_nquads(quads + extra)
        return GraphPart(g, lambda name: None, data, data.count(b"\n"), lambda: [])

    assert part([]).linked_iris() == {s.value, o.value, "http://x.example/y"}
    assert part([]).rebasable_in_text(base)
    name = ox.NamedNode("http://schema.org/name")
    for unsafe in (ox.Literal(f"see <{base}x>"), ox.Literal(f'"quoted" <{base}x> "again"'),
                   ox.Literal("x", datatype=ox.NamedNode(base + "type"))):
        assert not part([ox.Quad(s, name, unsafe, g)]).rebasable_in_text(base), unsafe
    for safe in (ox.Literal(f"{base}x"), ox.Literal(f"<{base.upper()}x>"), ox.NamedNode(base + "x")):
        assert part([ox.Quad(s, name, safe, g)]).rebasable_in_text(base), safe


def test_sort_quads_orders_as_each_term_in_turn_would(two_article_store):
    quads = list(two_article_store.quads_for_pattern(None, None, None, None))
    s, p = ox.NamedNode("https://d.example/s"), ox.NamedNode("https://d.example/p")
    quads += [ox.Quad(s, p, ox.Literal(text, **kw)) for text, kw in (
        ("a", {}), ("a", {"language": "en"}), ("a b", {}), ("a\nb", {}), ("a", {"datatype": p}), ("", {}))]
    quads += [ox.Quad(ox.BlankNode(b), p, s) for b in ("b1", "b10", "b1x")]
    assert sort_quads(quads) == sorted(quads, key=lambda q: (str(q.graph_name), str(q.subject),
                                                           str(q.predicate), str(q.object)))
