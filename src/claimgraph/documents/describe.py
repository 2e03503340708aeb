"""The description of one resource, read from the store.

A resource's description is every quad whose subject is the resource or one of its hash
parts (``…/claim/x#anchor``, reached through the resource's own triples), plus its backlinks:
the quads that point at it from anywhere in the dataset (so an entity's description lists the
claims and quotations about it across articles). An article's description is its whole named
graph, since its claims and quotations are part of it; a graph's is its content.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from claimgraph.documents.graphfiles import GraphFiles, GraphPart, parse_graph_file
from claimgraph.namespaces import CG, Iris
from claimgraph.queries import internal_query

_HERE = Path(__file__).resolve().parent  # the .rq files this module runs

ONTOLOGY_IRI = str(CG).rstrip("#")
SHAPES_IRI = "https://claimgraph.example/shapes"


class Description:
    """What the dataset says of ``iri``: ``quads``, in the order of
    ``claimgraph.rdfterms.sort_quads``. An article's may hold its graph as the build wrote it
    (``part``), with the other graphs' quads in ``extra``; ``quads`` (the graph's and the
    others', in order) are then made only when asked for."""

    def __init__(self, iri: str, quads: list[ox.Quad] | None, kind: str, part: GraphPart | None = None,
                 extra: list[ox.Quad] | None = None) -> None:
        assert quads is not None or part is not None, "a description without quads holds its graph's part"
        self.iri = iri
        self.kind = kind  # article | entity | claim | quotation | graph | dataset | ontology | resource
        self.part = part
        self.extra = extra if extra is not None else []
        self._quads = quads

    @property
    def quads(self) -> list[ox.Quad]:
        if self._quads is None:
            assert self.part is not None
            # one graph's quads sort as one block between the other graphs'
            cut = str(self.part.graph)
            before = [q for q in self.extra if str(q.graph_name) < cut]
            self._quads = before + self.part.load() + self.extra[len(before):]
        return self._quads

    @property
    def found(self) -> bool:
        return self._quads is None or bool(self._quads)


GraphReader = Callable[[str, str], list[ox.Quad] | None]  # (graph IRI, slug) → its quads, or None


def _kind(iri: str, iris: Iris) -> str:
    if iri == str(iris.dataset):
        return "dataset"
    if iri == ONTOLOGY_IRI:
        return "ontology"
    rest = iri[len(iris.base):] if iri.startswith(iris.base) else ""
    first = rest.split("/", 1)[0]
    return {"article": "article", "entity": "entity", "claim": "claim", "quotation": "quotation",
            "graph": "graph", "event": "event", "stance": "stance", "party": "party",
            "source": "source"}.get(first, "resource")


def _with_hash_parts(store: ox.Store, iri: str) -> list[ox.Quad]:
    quads: list[ox.Quad] = []
    seen: set[str] = set()
    todo = [iri]
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for quad in store.quads_for_pattern(ox.NamedNode(subject), None, None, None):
            quads.append(quad)
            obj = quad.object
            if isinstance(obj, ox.NamedNode) and obj.value.startswith(iri + "#"):
                todo.append(obj.value)
    return quads


def _backlinks(store: ox.Store, iri: str, skip_graph: ox.NamedNode | None = None) -> list[ox.Quad]:
    """The quads pointing at ``iri`` from elsewhere than its hash parts and ``skip_graph``."""
    target = ox.NamedNode(iri)
    if skip_graph is not None and isinstance(store, ox.Store):
        found = [ox.Quad(s, p, target, g) for s, p, g, _, _ in store.query(  # type: ignore[misc]
            internal_query(_HERE, "backlinks"), substitutions={_TARGET: target, _SKIP: skip_graph})]
    else:  # a remote store: one pattern, filtered here
        found = [q for q in store.quads_for_pattern(None, None, target, None) if q.graph_name != skip_graph]
    return [q for q in found if not q.subject.value.startswith(iri + "#")]


def _graph(store: ox.Store, graph: str) -> list[ox.Quad]:
    return list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


_NAMES = tuple(ox.NamedNode(p) for p in (
    "http://schema.org/name", "http://schema.org/headline",
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel"))
_SUMMARY = (*_NAMES, *(ox.NamedNode(p) for p in (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://schema.org/sameAs",
    "http://schema.org/text", "http://schema.org/appearance", "http://schema.org/isPartOf")))
_NAMES_SET = frozenset(_NAMES)
_SUMMARY_SET = frozenset(_SUMMARY)
_TARGET, _SKIP = ox.Variable("target"), ox.Variable("skip")
# linked resources whose summaries a long-lived Describer keeps (the server's, the static
# site's): an entity's or an outlet's is a few quads, under 1 kB; a claim's carries its text
SUMMARIES_KEPT = 100_000
_MANY_BACKLINKS = 200  # past this many quads, what points at a resource is summarised in one query
# An article whose graph file is up to this size is described in a few milliseconds: on a
# 2-core machine, a generated article's (about 60 kB) in 2-3 ms, the seed's (300 kB, with its
# whole text) in 6-11 ms with none of the 100-odd entities it links looked up before
QUICK_GRAPH_BYTES = 1024 * 1024


# What the build mints for one article (``<base><kind>/<slug>/<key>``), and the article's
# source files (``<base>source/articles/<slug>.txt`` and ``.annotations.yaml``; a slug has no
# dot): only that article's graph ever describes them (tests/test_describe_speed.py checks it
# on every build it makes).
ARTICLE_LOCAL_KINDS = ("claim", "quotation", "event", "stance", "party")
ARTICLE_SOURCES = "source/articles/"


def article_local_prefixes(base: str, slug: str) -> tuple[str, ...]:
    return (*(f"{base}{kind}/{slug}/" for kind in ARTICLE_LOCAL_KINDS), f"{base}{ARTICLE_SOURCES}{slug}.")


def _others(quads: list[ox.Quad], iri: str, seen: set[str], local: tuple[str, ...] = (),
            linked: set[str] | None = None) -> list[str]:
    """The resources ``quads`` link (as subject or object), and those in ``linked``, except
    ``iri``'s own, those starting with one of the ``local`` prefixes and those in ``seen``
    (which gets the new ones)."""
    # distinct terms first (they hash in Rust), then the IRIs among them: a term's text is
    # made once, not at each of its positions
    terms = {q.subject for q in quads}
    terms.update(q.object for q in quads)
    others = {t.value for t in terms if isinstance(t, ox.NamedNode)} | (linked or set())
    others = {o for o in others if not o.startswith((iri, *local))} - seen
    seen |= others
    return sorted(others)


def _sort_key(q: ox.Quad) -> tuple[str, str]:
    # the order of (graph, subject, predicate, object) by their N-Quads text, in two str()
    # calls instead of four (see claimgraph.rdfterms.sort_quads)
    return (str(q.graph_name), str(q))


class Describer:
    """Describes the resources of one store.

    ``keep`` > 0 is for a store that cannot change while this object lives (the server's
    read-only store, the static site's): the summaries of the resources descriptions link to
    (names, types, Wikidata links) are then kept for up to ``keep`` resources. Articles link
    to the same few thousand entities, classes and outlets, and looking each up again cost
    about a quarter of describing an article."""

    def __init__(self, store: ox.Store, iris: Iris, graphs: GraphReader | None = None, keep: int = 0) -> None:
        self.store = store
        self.iris = iris
        self.graphs = graphs
        self._summary = lru_cache(maxsize=keep)(self._look_up_summary) if keep > 0 else self._look_up_summary

    def quick(self, iri: str) -> bool:
        """Whether describing ``iri`` takes a few milliseconds at most: an article whose graph
        the build wrote to a file of at most QUICK_GRAPH_BYTES (its description is that file,
        the few quads pointing at the article, and its neighbours' labels, most of them kept)."""
        prefix = self.iris.base + "article/"
        if not isinstance(self.graphs, GraphFiles) or not iri.startswith(prefix):
            return False
        size = self.graphs.size(iri[len(prefix):])
        return size is not None and size <= QUICK_GRAPH_BYTES

    def _look_up_summary(self, iri: str) -> tuple[ox.Quad, ...]:
        # one look-up per resource, every predicate, filtered here: fewer store calls than
        # one per predicate, and one entry serves both rounds of _labels
        return tuple(q for q in self.store.quads_for_pattern(ox.NamedNode(iri), None, None, None)
                     if q.predicate in _SUMMARY_SET)

    def _neighbours(self, others: list[str], predicates: frozenset[ox.NamedNode],
                    skip_graph: ox.NamedNode | None, known: dict[str, list[ox.Quad]]) -> list[ox.Quad]:
        """The ``predicates`` quads of the resources ``others``, except those in ``skip_graph``
        (``known`` holds the summaries of some of them, read already)."""
        return [q for other in others for q in (known[other] if other in known else self._summary(other))
                if q.predicate in predicates and q.graph_name != skip_graph]

    def _pointing_summaries(self, iri: str) -> dict[str, list[ox.Quad]]:
        """The summaries of every resource pointing at ``iri``, in one query: an entity's
        thousands of claims and quotations, looked up one by one, took longer than all the
        rest of its description."""
        found: dict[str, list[ox.Quad]] = {}
        for s, p, o, g, _ in self.store.query(internal_query(_HERE, "pointing-summaries"),  # type: ignore[misc]
                                               substitutions={_TARGET: ox.NamedNode(iri)}):
            found.setdefault(s.value, []).append(ox.Quad(s, p, o, g))
        return found

    def _labels(self, quads: list[ox.Quad], iri: str, own_graph: ox.NamedNode | None,
                local: tuple[str, ...] = (), known: dict[str, list[ox.Quad]] | None = None,
                linked: set[str] | None = None) -> list[ox.Quad]:
        """What a reader needs to follow the description's links without another request: the
        names, types, Wikidata links and texts of the resources it points at (and from), and
        the names of the articles those appear in.

        ``own_graph`` is a graph whose every quad is in ``quads`` already (an article's), or
        whose links are in ``linked`` (the IRIs of its subjects and IRI objects): its quads are
        left out here, being neither new nor linking anything ``quads`` does not; so
        are the resources under the ``local`` prefixes, which only that graph describes (an
        article's claims, quotations, events and stances, two thirds of the look-ups its
        description made; and its source files, two in every three look-ups after those)."""
        seen: set[str] = set()
        known = known or {}
        first = self._neighbours(_others(quads, iri, seen, local, linked), _SUMMARY_SET, own_graph, known)
        # The second round skips what the first looked up: _SUMMARY includes _NAMES, so their
        # names are in ``first`` already.
        return first + self._neighbours(_others(first, iri, seen, local), _NAMES_SET, own_graph, known)

    def __call__(self, iri: str) -> Description:
        """The quads that describe ``iri`` (empty when the dataset knows nothing of it), in the
        order of ``claimgraph.rdfterms.sort_quads``."""
        store, iris = self.store, self.iris
        kind = _kind(iri, iris)
        if kind == "article":
            return self._article(iri, kind)
        if kind == "graph":  # its content, and what the metadata says of it (size, provenance)
            quads = _graph(store, iri) + _with_hash_parts(store, iri) + _backlinks(store, iri)
        elif kind == "dataset":
            quads = _graph(store, str(iris.metadata_graph))
        elif kind == "ontology":
            quads = _graph(store, str(iris.ontology_graph))
        else:
            quads = _with_hash_parts(store, iri) + _backlinks(store, iri)
        if quads and kind not in ("graph", "dataset", "ontology"):
            many = len(quads) > _MANY_BACKLINKS and isinstance(store, ox.Store)
            quads += self._labels(quads, iri, None, known=self._pointing_summaries(iri) if many else None)
        return Description(iri, _sorted(quads), kind)

    def _article(self, iri: str, kind: str) -> Description:
        """An article's description: its whole graph, its backlinks and its neighbours' labels."""
        store, iris = self.store, self.iris
        slug = iri[len(iris.base + "article/"):]
        graph = ox.NamedNode(iris.base + "graph/article/" + slug)  # iris.article_graph, without rdflib
        extra = _backlinks(store, iri, graph)
        if "/" in slug:  # no article's IRI: what points at it, if anything
            extra += self._labels(extra, iri, None)
            return Description(iri, _sorted(extra), kind)
        local = article_local_prefixes(iris.base, slug)
        data = self.graphs.data(graph.value, slug) if isinstance(self.graphs, GraphFiles) else None
        if data is not None:
            # The graph as the build wrote it: its links are read off its text, and its quads
            # are parsed only if a document needs them (Turtle and JSON-LD take its written part).
            files = self.graphs
            assert isinstance(files, GraphFiles)
            part = GraphPart(graph, lambda name: files.section(slug, name), data, data.count(b"\n"),
                             lambda: parse_graph_file(data, graph.value) or self._stored_graph(graph))
            extra += self._labels(extra, iri, graph, local, linked=part.linked_iris())
            return Description(iri, None, kind, part, _sorted(extra))
        own = (self.graphs(graph.value, slug) if self.graphs else None) or self._stored_graph(graph)
        extra += self._labels(own + extra, iri, graph, local)
        if not own and not extra:
            return Description(iri, [], kind)
        # The graph's quads come sorted (from its file, or sorted here when read from the
        # store). Being one graph's, they sort as one block between the other graphs' quads.
        extra = _sorted(extra)
        cut = str(graph)
        before = [q for q in extra if str(q.graph_name) < cut]
        return Description(iri, before + own + extra[len(before):], kind)

    def _stored_graph(self, graph: ox.NamedNode) -> list[ox.Quad]:
        return sorted(_graph(self.store, graph.value), key=_sort_key)


def _sorted(quads: list[ox.Quad]) -> list[ox.Quad]:
    return sorted(set(quads), key=_sort_key)


def describe(store: ox.Store, iri: str, iris: Iris, graphs: GraphReader | None = None) -> Description:
    """The quads that describe ``iri``, looked up afresh (see ``Describer``).
    ``graphs`` may give an article graph's quads faster than the store (``GraphFiles``)."""
    return Describer(store, iris, graphs)(iri)
