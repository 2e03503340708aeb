"""The description of one resource, read from the store.

A resource's description is every quad whose subject is the resource or one of its hash
parts (``…/claim/x#anchor``, reached through the resource's own triples), plus its backlinks:
the quads that point at it from anywhere in the dataset (so an entity's description lists the
claims and quotations about it across articles). An article's description is its whole named
graph, since its claims and quotations are part of it; a graph's is its content.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from claimgraph.namespaces import CG, Iris

ONTOLOGY_IRI = str(CG).rstrip("#")
SHAPES_IRI = "https://claimgraph.example/shapes"


@dataclass(frozen=True)
class Description:
    iri: str
    quads: list[ox.Quad]
    kind: str  # article | entity | claim | quotation | graph | dataset | ontology | resource

    @property
    def found(self) -> bool:
        return bool(self.quads)


GraphReader = Callable[[str, str], list[ox.Quad] | None]  # (graph IRI, slug) → its quads, or None


class GraphFiles:
    """An article graph's quads read from the build's sorted N-Quads file of it
    (``cache/graphs/<slug>.nq``), which parses several times faster than the same quads are
    read back from the store. The folder is opened once: should a rebuild replace the output,
    its files are gone from this folder, and the store (opened at the same time) is asked instead."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def __call__(self, graph_iri: str, slug: str) -> list[ox.Quad] | None:
        if slug.startswith((".", "_")) or "/" in slug:  # never another file of the folder
            return None
        try:
            fd = os.open(f"{slug}.nq", os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        with open(fd, "rb") as handle:
            data = handle.read()
        try:
            quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS))
        except SyntaxError:
            return None
        graph = ox.NamedNode(graph_iri)
        return quads if quads and all(q.graph_name == graph for q in quads) else None

    def close(self) -> None:
        os.close(self._fd)


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


def _backlinks(store: ox.Store, iri: str, skip_graph: ox.NamedNode | None = None,
               batched: bool = False) -> list[ox.Quad]:
    """The quads pointing at ``iri`` from elsewhere than its hash parts and ``skip_graph``."""
    target = ox.NamedNode(iri)
    if batched and skip_graph is not None:
        # An article's own graph points at it from every claim, quotation and anchor: leaving
        # those out in the query spares decoding them only to drop them here.
        found = [ox.Quad(s, p, target, g) for s, p, g in store.query(  # type: ignore[misc]
            f"SELECT ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p {target} }} FILTER(?g != {skip_graph}) }}")]
    else:
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


# What the build mints for one article (``<base><kind>/<slug>/<key>``): only that article's
# graph ever describes them (tests/test_describe_speed.py checks it on every build it makes).
ARTICLE_LOCAL_KINDS = ("claim", "quotation", "event", "stance", "party")


def article_local_prefixes(base: str, slug: str) -> tuple[str, ...]:
    return tuple(f"{base}{kind}/{slug}/" for kind in ARTICLE_LOCAL_KINDS)


def _others(quads: list[ox.Quad], iri: str, seen: set[str], local: tuple[str, ...] = ()) -> list[str]:
    """The resources ``quads`` link (as subject or object), except ``iri``'s own, those
    starting with one of the ``local`` prefixes and those in ``seen`` (which gets the new ones)."""
    others: set[str] = set()
    for q in quads:
        for term in (q.subject, q.object):
            if isinstance(term, ox.NamedNode):
                others.add(term.value)
    others = {o for o in others if not o.startswith((iri, *local))} - seen
    seen |= others
    return sorted(others)


def _has_default_graph(store: ox.Store) -> bool:
    return next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None


def _neighbours(store: ox.Store, others: list[str], predicates: tuple[ox.NamedNode, ...],
                skip_graph: ox.NamedNode | None, batched: bool) -> list[ox.Quad]:
    """The ``predicates`` quads of the resources ``others``, except those in ``skip_graph``."""
    if not others:
        return []
    if batched:
        # One query for all of them: a store look-up per resource from Python costs ~50 µs
        # (a new RocksDB iterator, a Python call, every quad decoded before the predicate
        # filter); inside the query engine the filters run on encoded terms, and only the
        # matching quads are decoded. Every IRI here is a NamedNode's value, which cannot
        # contain '>' or spaces, so it is safe between angle brackets.
        query = ("SELECT ?s ?p ?o ?g WHERE { VALUES ?s { " + " ".join(f"<{o}>" for o in others)
                 + " } GRAPH ?g { ?s ?p ?o } FILTER(?p IN (" + ", ".join(str(p) for p in predicates) + "))"
                 + (f" FILTER(?g != {skip_graph})" if skip_graph is not None else "") + " }")
        return [ox.Quad(s, p, o, g) for s, p, o, g in store.query(query)]  # type: ignore[misc]
    wanted = set(predicates)
    found = []
    for other in others:  # one look-up per resource, filtered here: fewer store calls
        found.extend(q for q in store.quads_for_pattern(ox.NamedNode(other), None, None, None)
                     if q.predicate in wanted and q.graph_name != skip_graph)
    return found


def _labels(store: ox.Store, quads: list[ox.Quad], iri: str, own_graph: ox.NamedNode | None,
            batched: bool, local: tuple[str, ...] = ()) -> list[ox.Quad]:
    """What a reader needs to follow the description's links without another request: the
    names, types, Wikidata links and texts of the resources it points at (and from), and the
    names of the articles those appear in.

    ``own_graph`` is a graph whose every quad is in ``quads`` already (an article's): its
    quads are left out here, being neither new nor linking anything ``quads`` does not; so are
    the resources under the ``local`` prefixes, which only that graph describes (an article's
    claims, quotations, events and stances: two thirds of the look-ups its description made)."""
    seen: set[str] = set()
    first = _neighbours(store, _others(quads, iri, seen, local), _SUMMARY, own_graph, batched)
    # The second round skips what the first looked up: _SUMMARY includes _NAMES, so their
    # names are in ``first`` already (half the store look-ups of an article's description).
    return first + _neighbours(store, _others(first, iri, seen, local), _NAMES, own_graph, batched)


def _sort_key(q: ox.Quad) -> tuple[str, str]:
    # the order of (graph, subject, predicate, object) by their N-Quads text, in two str()
    # calls instead of four (see claimgraph.rdfterms.sort_quads)
    return (str(q.graph_name), str(q))


def describe(store: ox.Store, iri: str, iris: Iris, graphs: GraphReader | None = None) -> Description:
    """The quads that describe ``iri`` (empty when the dataset knows nothing of it).
    ``graphs`` may give an article graph's quads faster than the store (``GraphFiles``)."""
    kind = _kind(iri, iris)
    # Batched queries see only named graphs (GRAPH ?g); a store with a default graph (never
    # one claimgraph builds) or a remote one is looked up pattern by pattern instead.
    batched = isinstance(store, ox.Store) and not _has_default_graph(store)
    own_graph = None
    local: tuple[str, ...] = ()
    if kind == "article":
        slug = iri[len(iris.base + "article/"):]
        graph = ox.NamedNode(iris.base + "graph/article/" + slug)  # iris.article_graph, without rdflib
        quads = []
        if "/" not in slug:
            quads = (graphs(graph.value, slug) if graphs else None) or _graph(store, graph.value)
            own_graph = graph
            local = article_local_prefixes(iris.base, slug)
        quads += _backlinks(store, iri, graph, batched)
    elif kind == "graph":  # its content, and what the metadata says of it (size, provenance)
        quads = _graph(store, iri) + _with_hash_parts(store, iri) + _backlinks(store, iri)
    elif kind == "dataset":
        quads = _graph(store, str(iris.metadata_graph))
    elif kind == "ontology":
        quads = _graph(store, str(iris.ontology_graph))
    else:
        quads = _with_hash_parts(store, iri) + _backlinks(store, iri)
    if quads and kind not in ("graph", "dataset", "ontology"):
        quads += _labels(store, quads, iri, own_graph, batched, local)
    return Description(iri, sorted(set(quads), key=_sort_key), kind)
