"""What one named graph contributes to each dump, written beside its N-Quads file.

A dump is the concatenation, in graph IRI order, of its graphs' parts, so the parts are made
where the graph is made (in the build's worker processes, in parallel) and an unchanged graph's
parts are reused by the next build: writing the dumps is then copying bytes, whatever the
corpus size. Each part holds only the graph's own statements: the prefixes of the Turtle and
TriG dumps and the JSON-LD document's frame are written once, by :mod:`claimgraph.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from claimgraph.documents.jsonld_doc import compact_node
from claimgraph.jsonld import expanded_jsonld
from claimgraph.namespaces import PREFIXES

# file suffix → the dump it belongs to
PARTS = ("trig", "ttl", "nt", "jsonld")


def sorted_nquads(quads: Iterable[ox.Quad]) -> tuple[list[ox.Quad], bytes]:
    """``quads`` in a total, stable order that makes every dump byte-stable, and as N-Quads.

    Each line is pyoxigraph's own N-Quads form of the quad (``str(quad)``), which is several
    times faster than ``pyoxigraph.serialize`` on the few hundred quads of a graph; ordering
    by it orders a graph's quads by subject, predicate and object as ordering by the terms would,
    because a term's text is never a prefix of another's followed by a character below the
    space that separates them."""
    lines = {quad: str(quad) for quad in quads}
    ordered = sorted(lines, key=lines.__getitem__)
    return ordered, "".join(f"{lines[quad]} .\n" for quad in ordered).encode()


def split_prefixes(data: bytes) -> tuple[bytes, bytes]:
    """(the @prefix lines, the rest) of a Turtle or TriG document from pyoxigraph."""
    lines = data.splitlines(keepends=True)
    head = [line for line in lines if line.startswith(b"@prefix")]
    return b"".join(head), b"".join(lines[len(head):])


def prefix_header(format: ox.RdfFormat) -> bytes:
    """The @prefix lines pyoxigraph writes for the project's prefixes."""
    probe = ox.Quad(ox.NamedNode("urn:x-claimgraph:probe"), ox.NamedNode("urn:x-claimgraph:probe"),
                    ox.Literal(""), ox.NamedNode("urn:x-claimgraph:probe"))
    data = ox.serialize([probe] if format == ox.RdfFormat.TRIG else [probe.triple], format=format,
                        prefixes=PREFIXES)
    return split_prefixes(data)[0]


def jsonld_nodes(quads: Sequence[ox.Quad]) -> str:
    """The graph's nodes compacted with the schema.org context, as members of the dump's
    "@graph" array: one node per line (json's C encoder, several times faster than the
    indenting one on a corpus's worth of nodes), comma-separated; empty for an empty graph."""
    return ",\n".join("  " + json.dumps(compact_node(node), ensure_ascii=False, sort_keys=True,
                                         separators=(",", ":"))
                       for node in expanded_jsonld(quads))


def graph_parts(quads: Sequence[ox.Quad], merged: Sequence[ox.Triple] | None = None) -> dict[str, bytes]:
    """Each dump's part for one graph's ``quads`` (sorted). ``merged`` are the triples the
    merged formats (Turtle, N-Triples) take from it, when not all of them (a triple that
    several shared graphs hold is written once)."""
    triples = [q.triple for q in quads] if merged is None else list(merged)
    return {
        "trig": split_prefixes(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=PREFIXES))[1],
        "ttl": split_prefixes(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES))[1]
        if triples else b"",
        "nt": ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) if triples else b"",
        "jsonld": jsonld_nodes(quads).encode(),
    }


def write_parts(stem: Path, quads: Sequence[ox.Quad], merged: Sequence[ox.Triple] | None = None) -> None:
    """Write ``stem``.trig, .ttl, .nt and .jsonld for one graph."""
    for suffix, data in graph_parts(quads, merged).items():
        stem.with_name(f"{stem.name}.{suffix}").write_bytes(data)


def part_path(graph_file: Path, suffix: str) -> Path:
    """The part of a graph's N-Quads file (``<stem>.nq``) for one dump."""
    return graph_file.with_name(f"{graph_file.name.removesuffix('.nq')}.{suffix}")
