"""The named graphs of a build, read back from its N-Quads dump, each with a content hash.

The hash is SHA-256 over the graph's triples as N-Triples lines, sorted: it depends only on the
set of triples, never on their order or on how a file spelled them. A graph holding blank nodes
is first canonicalized (pyoxigraph's RDFC-style labelling), so relabelled blank nodes give the
same hash; that labelling may change across pyoxigraph versions, which costs at worst one
needless re-send. claimgraph's own graphs have no blank nodes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import OutputError


@dataclass(frozen=True)
class LocalGraph:
    """One named graph of a build: its size and content hash, and how to read its triples
    again. Only the hash and size stay in memory: a corpus of 100,000 articles has tens of
    millions of triples, and a publish sends only the graphs that changed."""

    iri: str
    size: int
    sha256: str
    read: Callable[[], list[ox.Triple]] = field(repr=False, compare=False)

    @classmethod
    def of(cls, iri: str, triples: Iterable[ox.Triple]) -> LocalGraph:
        kept = list(triples)
        lines = canonical_lines(kept)
        return cls(iri, len(lines), hash_lines(lines), lambda: kept)

    def triples(self) -> list[ox.Triple]:
        return self.read()

    def ntriples(self) -> bytes:
        """The graph as an N-Triples document (UTF-8), the body of a Graph Store PUT."""
        return "".join(line + " .\n" for line in canonical_lines(self.read())).encode("utf-8")


@dataclass(frozen=True)
class LocalBuild:
    out_dir: Path
    base_iri: str
    graphs: Mapping[str, LocalGraph]  # by graph IRI, in publishing order

    @property
    def triples(self) -> int:
        return sum(g.size for g in self.graphs.values())


def canonical_lines(triples: Iterable[ox.Triple]) -> tuple[str, ...]:
    triples = list(triples)
    if any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples):
        dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
        triples = [q.triple for q in dataset]
    return tuple(sorted({str(t) for t in triples}))


def hash_lines(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def graph_hash(triples: Iterable[ox.Triple]) -> str:
    return hash_lines(canonical_lines(triples))


def _graph_of(line: bytes) -> bytes | None:
    """The last term of an N-Quads line (its graph name when it has one), or None for a
    blank or comment line. Only a hint for grouping: each graph's lines are parsed after."""
    text = line.strip()
    if not text or text.startswith(b"#"):
        return None
    return text.removesuffix(b".").rstrip().rsplit(b" ", 1)[-1]


def _graph_ranges(dump: Path) -> dict[bytes, list[tuple[int, int]]]:
    """The byte ranges of each run of lines that end with the same term, in file order.
    claimgraph's dump holds each graph's lines together, so a graph is usually one range."""
    ranges: dict[bytes, list[tuple[int, int]]] = {}
    current: bytes | None = None
    start = offset = 0
    with dump.open("rb") as stream:
        for line in stream:
            graph = _graph_of(line)
            if graph is not None and graph != current:
                if current is not None:
                    ranges.setdefault(current, []).append((start, offset))
                current, start = graph, offset
            offset += len(line)
    if current is not None:
        ranges.setdefault(current, []).append((start, offset))
    return ranges


def _read_ranges(dump: Path, ranges: list[tuple[int, int]]) -> bytes:
    with dump.open("rb") as stream:
        parts = []
        for start, end in ranges:
            stream.seek(start)
            parts.append(stream.read(end - start))
    return b"".join(parts)


def _graph_triples(dump: Path, ranges: list[tuple[int, int]]) -> tuple[str, list[ox.Triple]]:
    """The named graph the lines in ``ranges`` belong to, and its triples; an OutputError
    when they are not all in one named graph."""
    names: set[str] = set()
    triples = []
    try:
        for quad in ox.parse(_read_ranges(dump, ranges), format=ox.RdfFormat.N_QUADS):
            if not isinstance(quad.graph_name, ox.NamedNode):
                raise OutputError("the dump has a triple outside any named graph; rebuild", dump)
            names.add(quad.graph_name.value)
            triples.append(quad.triple)
    except (OSError, SyntaxError) as exc:
        raise OutputError(f"cannot read the build's N-Quads dump: {exc}", dump) from exc
    if len(names) != 1:
        raise OutputError("the dump's lines are not grouped by named graph; rebuild", dump)
    return names.pop(), triples


def read_build(out_dir: Path) -> LocalBuild:
    """The named graphs of the build in ``out_dir`` (its ``dataset.nq``) and its base IRI.

    The dump is read one graph at a time (each graph's hash and size are kept, its triples
    dropped) and a graph's triples are read again only when it is sent, so memory stays at
    one graph's worth whatever the corpus size."""
    manifest_path, dump = out_dir / "build.json", out_dir / "dataset.nq"
    try:
        base_iri = str(json.loads(manifest_path.read_text(encoding="utf-8"))["base_iri"])
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError("no readable build manifest here: run 'claimgraph build' first",
                          manifest_path) from exc
    try:
        runs = _graph_ranges(dump)
    except OSError as exc:
        raise OutputError(f"cannot read the build's N-Quads dump: {exc}", dump) from exc
    graphs: dict[str, LocalGraph] = {}
    for ranges in runs.values():
        iri, triples = _graph_triples(dump, ranges)
        lines = canonical_lines(triples)
        graphs[iri] = LocalGraph(iri, len(lines), hash_lines(lines),
                                 lambda ranges=ranges: _graph_triples(dump, ranges)[1])
    metadata = base_iri + "graph/metadata"
    # The metadata graph goes last: it describes every other graph, so until it is replaced a
    # reader sees the description of the previous publish, never one of graphs not yet sent.
    order = sorted(graphs, key=lambda iri: (iri == metadata, iri))
    return LocalBuild(out_dir, base_iri, {iri: graphs[iri] for iri in order})
