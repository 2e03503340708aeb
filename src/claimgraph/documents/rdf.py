"""Serializing a description in each RDF format, with the dataset's IRIs rewritten to the
URLs it is served at (so links resolve on whichever host serves it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from operator import itemgetter

import pyoxigraph as ox

from claimgraph.documents.formats import Format
from claimgraph.documents.jsonld_doc import rows_jsonld
from claimgraph.jsonld import jsonld_bytes
from claimgraph.namespaces import PREFIXES

Rewrite = Callable[[str], str]


Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = tuple[Term, Term, Term, ox.NamedNode | ox.BlankNode | ox.DefaultGraph]  # subject, predicate, object, graph
SortKey = tuple[str, str, str, str]


def _rewritten(quads: Iterable[ox.Quad], rewrite: Rewrite) -> list[tuple[SortKey, Row]]:
    """Each quad's terms with its IRIs rewritten, and its sort key (that of ``sort_quads``).

    A description repeats a few hundred IRIs over a few thousand positions, so each is
    rewritten (and its key made) once; terms go on as they are, without a new Quad each
    (the formats make the Triples or Quads they need)."""
    named: dict[str, tuple[ox.NamedNode | None, str]] = {}  # IRI → (new node, None if unchanged; key)

    def term(node: Term) -> tuple[Term, str]:
        if not isinstance(node, ox.NamedNode):
            return node, str(node)
        value = node.value
        done = named.get(value)
        if done is None:
            public = rewrite(value)
            done = named[value] = (None if public == value else ox.NamedNode(public), f"<{public}>")
        return (node if done[0] is None else done[0]), done[1]

    out = []
    for quad in quads:
        graph = quad.graph_name
        subject, subject_key = term(quad.subject)
        predicate, predicate_key = term(quad.predicate)
        obj, object_key = term(quad.object)
        new_graph, graph_key = term(graph) if isinstance(graph, ox.NamedNode) else (graph, str(graph))
        out.append(((graph_key, subject_key, predicate_key, object_key), (subject, predicate, obj, new_graph)))
    return out


def rewrite_quads(quads: Iterable[ox.Quad], rewrite: Rewrite | None) -> list[ox.Quad]:
    if rewrite is None:
        return list(quads)
    return [ox.Quad(*row) for _, row in _rewritten(quads, rewrite)]  # type: ignore[arg-type]


def dataset_prefixes(public_base: str) -> dict[str, str]:
    """Prefixes for documents: the common vocabularies and the dataset's own spaces."""
    prefixes = dict(PREFIXES)
    for name in ("article", "entity", "graph"):
        prefixes[name] = f"{public_base}{name}/"
    return prefixes


def serialize(quads: Iterable[ox.Quad], fmt: Format, public_base: str,
              rewrite: Rewrite | None = None) -> bytes:
    """``quads`` in ``fmt`` (an RDF format); triple formats merge the graphs."""
    rows: list[Row]
    if rewrite:  # rewritten IRIs can change the order: sort again, as sort_quads would
        keyed = _rewritten(quads, rewrite)
        keyed.sort(key=itemgetter(0))
        rows = [row for _, row in keyed]
    else:  # descriptions come sorted
        rows = [(q.subject, q.predicate, q.object, q.graph_name) for q in quads]
    if fmt.extension == "jsonld":
        return jsonld_bytes(rows_jsonld(rows))
    assert fmt.rdf_format is not None, f"{fmt.media_type} is not an RDF format"
    items: list[ox.Quad] | list[ox.Triple]
    if fmt.quads:
        items = [ox.Quad(*row) for row in rows]  # type: ignore[arg-type]
    else:
        # the first of each triple, in order (a tuple of terms hashes as the Triple would)
        seen: set[tuple[Term, Term, Term]] = set()
        items = []
        for subject, predicate, obj, _ in rows:
            spo = (subject, predicate, obj)
            if spo not in seen:
                seen.add(spo)
                items.append(ox.Triple(*spo))  # type: ignore[arg-type]
    with_prefixes = fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)
    return ox.serialize(items, format=fmt.rdf_format,
                        prefixes=dataset_prefixes(public_base) if with_prefixes else None)


def embedded_jsonld(document: dict) -> str:
    """JSON for a <script type="application/ld+json"> block: '<' escaped so no text can close
    the element."""
    return json.dumps(document, ensure_ascii=False, indent=1).replace("<", "\\u003c")
