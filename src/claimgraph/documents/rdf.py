"""Serializing a description in each RDF format, with the dataset's IRIs rewritten to the
URLs it is served at (so links resolve on whichever host serves it)."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph.documents.describe import Description
from claimgraph.documents.formats import Format
from claimgraph.documents.graphfiles import GraphPart
from claimgraph.documents.jsonld_doc import compacted_nodes, document_context
from claimgraph.graphparts import prefix_header, split_prefixes
from claimgraph.jsonld import JSONLD_TAIL, jsonld_bytes, jsonld_head, jsonld_node_line
from claimgraph.namespaces import PREFIXES

Rewrite = Callable[[str], str]


Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = tuple[Term, Term, Term, ox.NamedNode | ox.BlankNode | ox.DefaultGraph]  # subject, predicate, object, graph


def _rewritten(quads: Iterable[ox.Quad], rewrite: Rewrite) -> list[Row]:
    """Each quad's terms, with its IRIs rewritten, in the same order.

    A description repeats a few hundred terms over a few thousand positions: each distinct
    term is looked at once and then found by itself (pyoxigraph terms hash in Rust), and terms
    go on as they are, without a new Quad each (the formats make the Triples or Quads they need)."""
    public: dict[object, Term] = {}

    def known(node: Term) -> Term:
        new = public.get(node)
        if new is None:
            if isinstance(node, ox.NamedNode):
                value = node.value
                rebased = rewrite(value)
                new = node if rebased == value else ox.NamedNode(rebased)
            else:
                new = node
            public[node] = new
        return new

    get = public.get
    out = []
    for quad in quads:
        s, p, o, g = quad.subject, quad.predicate, quad.object, quad.graph_name
        # most terms were seen before: a dict look-up, and a call only for the new ones (every
        # pyoxigraph term is truthy, so "or" only ever calls for a missing one)
        out.append((get(s) or known(s), get(p) or known(p), get(o) or known(o), get(g) or known(g)))
    return out  # type: ignore[return-value]


def rewrite_quads(quads: Iterable[ox.Quad], rewrite: Rewrite | None) -> list[ox.Quad]:
    if rewrite is None:
        return list(quads)
    return [ox.Quad(*row) for row in _rewritten(quads, rewrite)]  # type: ignore[arg-type]


def dataset_prefixes(public_base: str) -> dict[str, str]:
    """Prefixes for documents: the common vocabularies and the dataset's own spaces."""
    prefixes = dict(PREFIXES)
    for name in ("article", "entity", "graph"):
        prefixes[name] = f"{public_base}{name}/"
    return prefixes


@dataclass(frozen=True)
class Rebase:
    """The dataset's IRIs under ``source`` (its base IRI), served under ``target`` (the URL
    the server is reached at)."""

    source: str
    target: str

    def __call__(self, iri: str) -> str:
        return self.target + iri[len(self.source):] if iri.startswith(self.source) else iri


# Formats where an IRI is always written "<IRI>" (or as a prefixed name whose prefix is
# declared that way) and nothing else can hold "<" but a literal: rebased in the written text.
_TEXT_REBASED = (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS, ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG)


def serialize_description(description: Description, fmt: Format, public_base: str,
                          rebase: Rebase | None = None) -> bytes:
    """``description`` in ``fmt`` (an RDF format), as :func:`serialize` writes its quads. An
    article's graph as the build wrote it (``description.part``) is taken as written, in
    Turtle and JSON-LD, and only the other graphs' quads are written here: most of an
    article's description is its own graph, and this is most of the work."""
    part = description.part
    if part is not None:
        spliced = None
        if fmt.extension == "ttl":
            spliced = _turtle_with_written_part(description.extra, part, rebase)
        elif fmt.extension == "jsonld":
            spliced = _with_written_part(description.extra, part, rebase)
        if spliced is not None:
            return spliced
    return serialize(description.quads, fmt, public_base, rebase)


def serialize(quads: list[ox.Quad], fmt: Format, public_base: str, rebase: Rebase | None = None) -> bytes:
    """``quads`` in ``fmt`` (an RDF format), in their order; triple formats merge the graphs.
    ``rebase`` maps the dataset's IRIs to the URLs they are served at; the order stays that of
    the dataset's IRIs, so a document's layout is the same on every host."""
    if fmt.rdf_format in _TEXT_REBASED and (rebase is None or _rebased_in_text(quads, rebase)):
        # The terms go to pyoxigraph as they are, and the IRIs are rebased in the text it
        # writes: rewriting a few hundred terms one by one in Python cost more than the rest.
        prefixes = dataset_prefixes(rebase.source if rebase else public_base)
        items: list[ox.Quad] | list[ox.Triple] = quads if fmt.quads else list(dict.fromkeys(q.triple for q in quads))
        written = ox.serialize(items, format=fmt.rdf_format,
                               prefixes=prefixes if fmt.rdf_format in _WITH_PREFIXES else None)
        return written.replace(b"<" + rebase.source.encode(), b"<" + rebase.target.encode()) if rebase else written
    if fmt.extension == "jsonld":  # rebased as it is written
        return jsonld_bytes(compacted_nodes(_rows(quads), rebase), document_context(rebase))
    rows: list[Row] = _rewritten(quads, rebase) if rebase else [
        (q.subject, q.predicate, q.object, q.graph_name) for q in quads]
    assert fmt.rdf_format is not None, f"{fmt.media_type} is not an RDF format"
    if fmt.quads:
        items = [ox.Quad(*row) for row in rows]  # type: ignore[arg-type]
    else:
        # the first of each triple, in order (a tuple of terms hashes as the Triple would)
        items = [ox.Triple(*spo) for spo in dict.fromkeys(row[:3] for row in rows)]  # type: ignore[arg-type]
    return ox.serialize(items, format=fmt.rdf_format,
                        prefixes=dataset_prefixes(public_base) if fmt.rdf_format in _WITH_PREFIXES else None)


_WITH_PREFIXES = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)


def _rows(quads: Iterable[ox.Quad]) -> list[Row]:
    return [(q.subject, q.predicate, q.object, q.graph_name) for q in quads]


def _turtle_with_written_part(others: list[ox.Quad], part: GraphPart, rebase: Rebase | None) -> bytes | None:
    """The Turtle document of ``part``'s graph and the quads of ``others`` (of other graphs):
    the graph's triples as the build wrote them for the Turtle dump, then the others'. The
    same statements as :func:`serialize` writes (tests/test_describe_speed.py checks it), with
    the dumps' prefixes; a triple that another graph holds too may be written twice, which
    says it once. None where rebasing the text could not be assured exact, or the part is
    unreadable."""
    if rebase is not None and not (part.rebasable_in_text(rebase.source) and _rebased_in_text(others, rebase)):
        return None
    own = part.section("ttl")
    if not own:
        return None
    triples = list(dict.fromkeys(q.triple for q in others))
    rest = split_prefixes(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES))[1] if triples else b""
    written = prefix_header(ox.RdfFormat.TURTLE) + own + rest
    return written.replace(b"<" + rebase.source.encode(), b"<" + rebase.target.encode()) if rebase else written


def _with_written_part(others: list[ox.Quad], part: GraphPart, rebase: Rebase | None) -> bytes | None:
    """The JSON-LD document of ``part``'s graph and the quads of ``others`` (of other graphs),
    with the graph taken from the line the build wrote for the dump and only the others
    compacted here. The same bytes as compacting everything (tests/test_describe_speed.py
    checks it); None where that could not be assured.

    The build's line has the dataset's IRIs. Rebased, every IRI in it is a JSON string that
    starts with the base IRI ('"<base>…'); nothing else there does (``part.rebasable``), so
    the text is rebased by replacing '"<base>'. A key or a datatype written as a full IRI under
    the base would be rebased too, unlike compaction's, so such a line is left to compaction."""
    if rebase is not None and not (_json_plain(rebase.source) and _json_plain(rebase.target)
                                   and part.rebasable(rebase.source)):
        return None
    line = part.section("jsonld")
    if line is None or b"\n" in line:
        return None
    if rebase is not None:
        source = rebase.source.encode()
        if re.search(rb'"' + re.escape(source) + rb'[^"]*":|"@type":"' + re.escape(source), line):
            return None
        line = line.replace(b'"' + source, b'"' + rebase.target.encode())
    if any(isinstance(q.graph_name, ox.DefaultGraph) for q in others):
        return None  # a default-graph node named as the graph would merge with it
    nodes = compacted_nodes(_rows(others), rebase)
    name = rebase(part.graph.value) if rebase else part.graph.value
    at = bisect.bisect_left([node["id"] for node in nodes], name)  # the nodes are in id order
    lines = [jsonld_node_line(node).encode() for node in nodes]
    lines.insert(at, line)
    context = document_context(rebase)
    return jsonld_head(context).encode() + b",\n".join(lines) + JSONLD_TAIL.encode()


def _json_plain(text: str) -> bool:
    """Whether ``text`` is written in JSON as it is (no escapes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1] == text


def _rebased_in_text(quads: list[ox.Quad], rebase: Rebase) -> bool:
    """Whether rebasing the written text is exact: no literal holds "<" and the base IRI (as
    text, or as a datatype the term-by-term path would leave alone)."""
    marker = "<" + rebase.source
    return not any(marker in str(o) for o in (q.object for q in quads) if isinstance(o, ox.Literal))


def embedded_jsonld(document: dict) -> str:
    """JSON for a <script type="application/ld+json"> block: '<' escaped so no text can close
    the element."""
    return json.dumps(document, ensure_ascii=False, indent=1).replace("<", "\\u003c")
