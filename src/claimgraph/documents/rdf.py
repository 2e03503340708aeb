"""Serializing a description in each RDF format, with the dataset's IRIs rewritten to the
URLs it is served at (so links resolve on whichever host serves it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import pyoxigraph as ox

from claimgraph.documents.formats import Format
from claimgraph.documents.jsonld_doc import resource_jsonld
from claimgraph.jsonld import jsonld_bytes
from claimgraph.namespaces import PREFIXES
from claimgraph.rdfterms import sort_quads

Rewrite = Callable[[str], str]


def _term(term: ox.NamedNode | ox.BlankNode | ox.Literal, rewrite: Rewrite):
    if isinstance(term, ox.NamedNode):
        return ox.NamedNode(rewrite(term.value))
    return term


def rewrite_quads(quads: Iterable[ox.Quad], rewrite: Rewrite | None) -> list[ox.Quad]:
    if rewrite is None:
        return list(quads)
    out = []
    for q in quads:
        graph = q.graph_name
        graph = ox.NamedNode(rewrite(graph.value)) if isinstance(graph, ox.NamedNode) else graph
        out.append(ox.Quad(_term(q.subject, rewrite), ox.NamedNode(rewrite(q.predicate.value)),
                           _term(q.object, rewrite), graph))
    return out


def dataset_prefixes(public_base: str) -> dict[str, str]:
    """Prefixes for documents: the common vocabularies and the dataset's own spaces."""
    prefixes = dict(PREFIXES)
    for name in ("article", "entity", "graph"):
        prefixes[name] = f"{public_base}{name}/"
    return prefixes


def serialize(quads: Iterable[ox.Quad], fmt: Format, public_base: str,
              rewrite: Rewrite | None = None) -> bytes:
    """``quads`` in ``fmt`` (an RDF format); triple formats merge the graphs."""
    # descriptions come sorted; only rewritten IRIs can change the order
    ordered = sort_quads(rewrite_quads(quads, rewrite)) if rewrite else list(quads)
    if fmt.extension == "jsonld":
        return jsonld_bytes(resource_jsonld(ordered))
    assert fmt.rdf_format is not None, f"{fmt.media_type} is not an RDF format"
    if fmt.quads:
        items: list = ordered
    else:
        seen: set[ox.Triple] = set()
        items = []
        for q in ordered:
            if q.triple not in seen:
                seen.add(q.triple)
                items.append(q.triple)
    with_prefixes = fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)
    return ox.serialize(items, format=fmt.rdf_format,
                        prefixes=dataset_prefixes(public_base) if with_prefixes else None)


def embedded_jsonld(document: dict) -> str:
    """JSON for a <script type="application/ld+json"> block: '<' escaped so no text can close
    the element."""
    return json.dumps(document, ensure_ascii=False, indent=1).replace("<", "\\u003c")
