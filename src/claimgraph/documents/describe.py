"""The description of one resource, read from the store.

A resource's description is every quad whose subject is the resource or one of its hash
parts (``…/claim/x#anchor``, reached through the resource's own triples), plus its backlinks:
the quads that point at it from anywhere in the dataset (so an entity's description lists the
claims and quotations about it across articles). An article's description is its whole named
graph, since its claims and quotations are part of it; a graph's is its content.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _backlinks(store: ox.Store, iri: str) -> list[ox.Quad]:
    return [q for q in store.quads_for_pattern(None, None, ox.NamedNode(iri), None)
            if not q.subject.value.startswith(iri + "#")]


def _graph(store: ox.Store, graph: str) -> list[ox.Quad]:
    return list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


_NAMES = tuple(ox.NamedNode(p) for p in (
    "http://schema.org/name", "http://schema.org/headline",
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel"))
_SUMMARY = (*_NAMES, *(ox.NamedNode(p) for p in (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://schema.org/sameAs",
    "http://schema.org/text", "http://schema.org/appearance", "http://schema.org/isPartOf")))


def _neighbours(store: ox.Store, quads: list[ox.Quad], iri: str, predicates: tuple[ox.NamedNode, ...],
                seen: set[str]) -> list[ox.Quad]:
    """The ``predicates`` quads of the resources ``quads`` link, except those in ``seen`` (which
    gets the ones looked up now)."""
    others = {t.value for q in quads for t in (q.subject, q.object)
              if isinstance(t, ox.NamedNode) and not t.value.startswith(iri)} - seen
    seen |= others
    wanted = set(predicates)
    found = []
    for other in sorted(others):  # one look-up per resource, filtered here: fewer store calls
        found.extend(q for q in store.quads_for_pattern(ox.NamedNode(other), None, None, None)
                     if q.predicate in wanted)
    return found


def _labels(store: ox.Store, quads: list[ox.Quad], iri: str) -> list[ox.Quad]:
    """What a reader needs to follow the description's links without another request: the
    names, types, Wikidata links and texts of the resources it points at (and from), and the
    names of the articles those appear in."""
    seen: set[str] = set()
    first = _neighbours(store, quads, iri, _SUMMARY, seen)
    # The second round skips what the first looked up: _SUMMARY includes _NAMES, so their
    # names are in ``first`` already (half the store look-ups of an article's description).
    return first + _neighbours(store, first, iri, _NAMES, seen)


def describe(store: ox.Store, iri: str, iris: Iris) -> Description:
    """The quads that describe ``iri`` (empty when the dataset knows nothing of it)."""
    kind = _kind(iri, iris)
    if kind == "article":
        slug = iri[len(iris.base + "article/"):]
        quads = _graph(store, str(iris.article_graph(slug))) if "/" not in slug else []
        quads += [q for q in _backlinks(store, iri) if q.graph_name != ox.NamedNode(str(iris.article_graph(slug)))]
    elif kind == "graph":  # its content, and what the metadata says of it (size, provenance)
        quads = _graph(store, iri) + _with_hash_parts(store, iri) + _backlinks(store, iri)
    elif kind == "dataset":
        quads = _graph(store, str(iris.metadata_graph))
    elif kind == "ontology":
        quads = _graph(store, str(iris.ontology_graph))
    else:
        quads = _with_hash_parts(store, iri) + _backlinks(store, iri)
    if quads and kind not in ("graph", "dataset", "ontology"):
        quads += _labels(store, quads, iri)
    unique = sorted(set(quads), key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate),
                                               str(q.object)))
    return Description(iri, unique, kind)
