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
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import OutputError


@dataclass(frozen=True)
class LocalGraph:
    iri: str
    triples: tuple[ox.Triple, ...]

    @property
    def size(self) -> int:
        return len(self.lines)

    @cached_property
    def lines(self) -> tuple[str, ...]:
        return canonical_lines(self.triples)

    @cached_property
    def sha256(self) -> str:
        return hash_lines(self.lines)

    def ntriples(self) -> bytes:
        """The graph as an N-Triples document (UTF-8), the body of a Graph Store PUT."""
        return "".join(line + " .\n" for line in self.lines).encode("utf-8")


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


def read_build(out_dir: Path) -> LocalBuild:
    """The named graphs of the build in ``out_dir`` (its ``dataset.nq``) and its base IRI."""
    manifest_path, dump = out_dir / "build.json", out_dir / "dataset.nq"
    try:
        base_iri = str(json.loads(manifest_path.read_text(encoding="utf-8"))["base_iri"])
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError("no readable build manifest here: run 'claimgraph build' first",
                          manifest_path) from exc
    by_graph: dict[str, list[ox.Triple]] = defaultdict(list)
    try:
        for quad in ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS):
            if not isinstance(quad.graph_name, ox.NamedNode):
                raise OutputError("the dump has a triple outside any named graph; rebuild", dump)
            by_graph[quad.graph_name.value].append(quad.triple)
    except (OSError, SyntaxError) as exc:
        raise OutputError(f"cannot read the build's N-Quads dump: {exc}", dump) from exc
    metadata = base_iri + "graph/metadata"
    # The metadata graph goes last: it describes every other graph, so until it is replaced a
    # reader sees the description of the previous publish, never one of graphs not yet sent.
    order = sorted(by_graph, key=lambda iri: (iri == metadata, iri))
    return LocalBuild(out_dir, base_iri, {iri: LocalGraph(iri, tuple(by_graph[iri])) for iri in order})
