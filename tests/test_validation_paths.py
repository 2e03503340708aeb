"""A build validates batches through faster paths (a one-graph rdflib store for pyshacl, the
schema.org check over pyoxigraph quads); they must find exactly what the plain path finds."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, XSD

from claimgraph.namespaces import OA, SCHEMA, SH, intern_iri
from claimgraph.onegraph import one_graph
from claimgraph.rdfterms import graph_quads
from claimgraph.validation import load_shapes, validate_graph


def _broken_seed(seed_build, content: tuple[Graph, dict]) -> tuple[Graph, dict]:
    """The seed's article and entities graphs with one break of each kind of rule."""
    g, locations = content
    base = seed_build.assembled.iris.base
    claim = URIRef(base + "claim/section-907-opinion/historical-injustice")
    g.remove((claim, SCHEMA.text, None))  # SHACL: a claim needs its text
    g.add((claim, SCHEMA.spokesperson, URIRef(base + "entity/joe-biden")))  # unknown schema.org term
    g.add((claim, SCHEMA.birthDate, Literal("1961-12-24", datatype=XSD.date)))  # domain misfit
    g.add((URIRef(base + "entity/baku"), RDF.type, URIRef("https://schema.org/City")))  # https namespace
    for selector, _, _ in list(g.triples((None, OA.start, None)))[:2]:  # datatype
        g.remove((selector, OA.start, None))
        g.add((selector, OA.start, Literal("early")))
    return g, locations


def test_batch_path_finds_what_the_plain_path_finds(seed_build, content):
    g, locations = _broken_seed(seed_build, content)
    plain = validate_graph(g, locations=locations).findings
    scratch = one_graph()
    scratch.addN((s, p, o, scratch) for s, p, o in g)
    fast = validate_graph(scratch, (), locations, in_place=True,
                          quads=graph_quads(g, URIRef("urn:x-claimgraph:batch"))).findings
    rules = {f.rule for f in plain}
    assert {"Claim-text", "schemaorg-term-exists", "schemaorg-domain", "schemaorg-http-namespace",
            "PositionSelector-start"} <= rules, rules
    assert fast == plain
    assert isomorphic(scratch, g)  # validating in place leaves the content as it was


def test_one_graph_store_behaves_as_a_graph():
    g = one_graph()
    a, b = URIRef("urn:a"), URIRef("urn:b")
    g.add((a, RDF.type, b))
    g.add((a, RDF.type, b))  # a set: the second add changes nothing
    g.addN([(a, SCHEMA.name, Literal("A"), g), (b, SCHEMA.name, Literal("B"), g), (a, SCHEMA.name, Literal("A"), g)])
    assert len(g) == 3
    assert set(g.objects(a, SCHEMA.name)) == {Literal("A")}
    assert set(g.subjects(SCHEMA.name, None)) == {a, b}
    g.remove((None, SCHEMA.name, None))
    assert len(g) == 1 and list(g) == [(a, RDF.type, b)]
    reference = Graph()
    reference.add((a, RDF.type, b))
    assert isomorphic(g, reference)
    assert [c.identifier for c in g.store.contexts()] == [g.identifier]


def test_one_graph_store_answers_every_pattern_as_rdflib_does():
    a, b, c = URIRef("urn:a"), URIRef("urn:b"), URIRef("urn:c")
    triples = [(a, RDF.type, b), (a, SCHEMA.name, Literal("A")), (b, SCHEMA.name, Literal("A")),
               (b, SCHEMA.about, a), (c, SCHEMA.about, a), (a, SCHEMA.about, c)]
    g, reference = one_graph(), Graph()
    for t in triples:
        g.add(t)
        reference.add(t)
    for s in (None, a, b):
        for p in (None, SCHEMA.name, SCHEMA.about, RDF.type):
            for o in (None, a, b, Literal("A")):
                assert sorted(g.triples((s, p, o))) == sorted(reference.triples((s, p, o))), (s, p, o)
    g.remove((a, None, None))
    reference.remove((a, None, None))
    assert sorted(g) == sorted(reference) and len(g) == len(reference) == 3
    assert set(g.subjects(SCHEMA.about, a)) == {b, c}


def test_one_graph_store_finds_by_object_however_it_was_changed():
    """The look-up by object alone has an index made on first use: statements added and
    removed before it and after it are found (or not) all the same."""
    a, b, c = URIRef("urn:a"), URIRef("urn:b"), URIRef("urn:c")
    g, reference = one_graph(), Graph()
    for t in [(a, SCHEMA.about, c), (b, SCHEMA.about, c), (a, SCHEMA.name, Literal("A"))]:
        g.add(t)
        reference.add(t)
    g.remove((b, None, None))  # before the index exists
    reference.remove((b, None, None))
    assert sorted(g.triples((None, None, c))) == sorted(reference.triples((None, None, c)))
    for t in [(c, SCHEMA.about, c), (b, SCHEMA.name, Literal("A"))]:  # after it
        g.add(t)
        reference.add(t)
    g.remove((a, SCHEMA.name, None))
    reference.remove((a, SCHEMA.name, None))
    for o in (a, c, Literal("A")):
        assert sorted(g.triples((None, None, o))) == sorted(reference.triples((None, None, o))), o


def test_shapes_and_mapping_share_vocabulary_terms():
    """pyshacl compares the shapes' terms with the data's on every look-up; interned, the
    comparison is an identity check. The same IRI from a namespace and from the shapes must be
    one object."""
    paths = {str(p): p for p in load_shapes().objects(None, SH.path)}
    assert paths[str(SCHEMA.headline)] is SCHEMA.headline
    assert paths[str(OA.exact)] is OA.exact
    assert intern_iri(URIRef(str(RDF.type))) is intern_iri(str(RDF.type))
