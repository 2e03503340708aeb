"""Moving RDF between rdflib (mapping, SHACL) and pyoxigraph (store, dumps, queries)."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph) -> Node | None:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # a simple literal, as rdflib (and the mapping) writes it
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return None


def graph_quads(graph: Iterable[tuple[Node, Node, Node]], graph_iri: URIRef) -> list[ox.Quad]:
    """The statements of ``graph`` (an rdflib graph, or its triples) as quads in ``graph_iri``."""
    name = ox.NamedNode(str(graph_iri))
    named: dict[URIRef, ox.NamedNode] = {}  # a graph repeats its IRIs: each is checked and made once

    def convert(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if type(term) is URIRef:
            node = named.get(term)
            if node is None:
                node = named[term] = ox.NamedNode(str(term))
            return node
        return to_oxigraph(term)

    return [ox.Quad(convert(s), convert(p), convert(o), name) for s, p, o in graph]


def sort_quads(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """A total, stable order (graph, subject, predicate, object) that makes dumps byte-stable.

    Ordered by the graph's text, then the quad's N-Quads text (subject, predicate, object,
    graph): the same order as by each term's text in turn, since a term's text is never a
    prefix of another's followed by a character below the space that separates them."""
    return sorted(quads, key=lambda q: (str(q.graph_name), str(q)))
