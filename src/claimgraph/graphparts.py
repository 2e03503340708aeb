"""What one named graph contributes to each dump, written beside its N-Quads file.

A dump is the concatenation, in graph IRI order, of its graphs' parts, so the parts are made
where the graph is made (in the build's worker processes, in parallel) and an unchanged graph's
parts are reused by the next build: writing the dumps is then copying bytes, whatever the
corpus size. Each part holds only the graph's own statements: the prefixes of the Turtle and
TriG dumps and the JSON-LD document's frame are written once, by :mod:`claimgraph.dumps`.

A graph's parts (and its search rows) share one file, ``<stem>.parts``: a first line giving
each part's length as JSON, then the parts in that order. One file rather than five keeps a
rebuild's file work (linking the unchanged graphs' files, deleting the previous output's) to
two files per graph: at 10,000 articles, 60,000 files took seconds just to unlink.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from claimgraph.documents.jsonld_doc import compacted_nodes
from claimgraph.errors import OutputError
from claimgraph.jsonld import jsonld_node_line
from claimgraph.namespaces import PREFIXES

# the sections of a ``.parts`` file: a part of each dump but N-Quads (the graph's own file),
# then the graph's search rows (JSON)
PARTS = ("trig", "ttl", "nt", "jsonld", "search")
PARTS_SUFFIX = ".parts"


def sorted_nquads(quads: Iterable[ox.Quad]) -> tuple[list[ox.Quad], bytes]:
    """``quads`` in a total, stable order that makes every dump byte-stable, and as N-Quads.

    Each line is pyoxigraph's own N-Quads form of the quad (``str(quad)``), which is several
    times faster than ``pyoxigraph.serialize`` on the few hundred quads of a graph; ordering
    by it orders a graph's quads by subject, predicate and object as ordering by the terms would,
    because a term's text is never a prefix of another's followed by a character below the
    space that separates them."""
    # keyed by the line, which also drops a repeated quad: hashing a pyoxigraph quad costs
    # more than hashing its text
    by_line = {str(quad): quad for quad in quads}
    lines = sorted(by_line)
    return [by_line[line] for line in lines], "".join([line + " .\n" for line in lines]).encode()


def split_prefixes(data: bytes) -> tuple[bytes, bytes]:
    """(the @prefix lines, the rest) of a Turtle or TriG document from pyoxigraph, which
    writes its prefixes first. Found by scanning those lines only: splitting a shared graph's
    document into all of its lines held it twice over (a part is hundreds of MB at 100,000
    articles)."""
    end = 0
    while data.startswith(b"@prefix", end):
        newline = data.find(b"\n", end)
        end = len(data) if newline < 0 else newline + 1
    return data[:end], data[end:]


@cache
def prefix_header(format: ox.RdfFormat) -> bytes:
    """The @prefix lines pyoxigraph writes for the project's prefixes."""
    probe = ox.Quad(ox.NamedNode("urn:x-claimgraph:probe"), ox.NamedNode("urn:x-claimgraph:probe"),
                    ox.Literal(""), ox.NamedNode("urn:x-claimgraph:probe"))
    data = ox.serialize([probe] if format == ox.RdfFormat.TRIG else [probe.triple], format=format,
                        prefixes=PREFIXES)
    return split_prefixes(data)[0]


class _QuadRows:
    """Quads as compaction's (subject, predicate, object, graph) rows, made as they are read:
    a list of them held every term a second time (tens of MB for the metadata graph per
    10,000 articles)."""

    def __init__(self, quads: Sequence[ox.Quad]) -> None:
        self._quads = quads

    def __iter__(self) -> Iterator[tuple[Any, ox.NamedNode, Any, Any]]:
        return ((q.subject, q.predicate, q.object, q.graph_name) for q in self._quads)


def jsonld_nodes(quads: Sequence[ox.Quad]) -> str:
    """The graph's nodes compacted with the schema.org context, as members of the dump's
    "@graph" array: one node per line (json's C encoder, several times faster than the
    indenting one on a corpus's worth of nodes), comma-separated; empty for an empty graph."""
    return ",\n".join(map(jsonld_node_line, compacted_nodes(_QuadRows(quads))))


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


def parts_path(graph_file: Path) -> Path:
    """The ``.parts`` file beside a graph's N-Quads file (``<stem>.nq``)."""
    return graph_file.with_name(graph_file.name.removesuffix(".nq") + PARTS_SUFFIX)


def write_parts(graph_file: Path, quads: Sequence[ox.Quad], merged: Sequence[ox.Triple] | None = None,
                search: bytes = b"[]") -> None:
    """Write the ``.parts`` file of the graph whose N-Quads file is ``graph_file``: its dump
    parts and its ``search`` rows (JSON)."""
    sections = graph_parts(quads, merged)
    sections["search"] = search
    header = json.dumps({name: len(sections[name]) for name in PARTS}, separators=(",", ":")).encode()
    with parts_path(graph_file).open("wb") as out:  # section by section: no joined copy of them all
        out.write(header + b"\n")
        for name in PARTS:
            out.write(sections[name])


def _ranges(handle: BinaryIO, path: Path) -> dict[str, tuple[int, int]]:
    line = handle.readline(4096)
    try:
        lengths = json.loads(line)
        offset, ranges = len(line), {}
        for name in PARTS:
            ranges[name] = (offset, int(lengths[name]))
            offset += ranges[name][1]
    except (ValueError, TypeError, KeyError) as error:
        raise OutputError(f"not a claimgraph parts file ({error}); delete the output folder's cache/ "
                          "and build again", path, 1) from error
    return ranges


def section_range(handle: BinaryIO, path: Path, name: str) -> tuple[int, int]:
    """Where section ``name`` is in ``path``, a ``.parts`` file open as ``handle``: (offset, length)."""
    return _ranges(handle, path)[name]


def part_ranges(graph_file: Path) -> dict[str, tuple[int, int]]:
    """Where each section of a graph's ``.parts`` file is: (offset, length) by name."""
    path = parts_path(graph_file)
    with path.open("rb") as handle:
        return _ranges(handle, path)


def read_part(graph_file: Path, name: str) -> bytes:
    """One section of a graph's ``.parts`` file."""
    path = parts_path(graph_file)
    with path.open("rb") as handle:
        offset, length = _ranges(handle, path)[name]
        handle.seek(offset)
        return handle.read(length)
