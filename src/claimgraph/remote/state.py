"""What the remote store holds, as the last publish left it: one named graph of its own,
``{base}graph/publish-state``, giving each published graph's content hash and triple count::

    <{base}graph/article/x> cg:sha256 "ab12…" ; void:triples 1252 .

A graph whose hash there equals the local one is not sent again; a graph listed there but
gone from the build is deleted. Graphs in the store that the state does not list were not put
there by claimgraph and are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph.namespaces import CG, VOID, XSD

SHA256 = ox.NamedNode(str(CG.sha256))
TRIPLES = ox.NamedNode(str(VOID.triples))
INTEGER = ox.NamedNode(str(XSD.integer))


@dataclass(frozen=True)
class Published:
    sha256: str
    triples: int


def state_graph_iri(base_iri: str) -> str:
    return base_iri + "graph/publish-state"


def state_triples(state: Mapping[str, Published]) -> list[ox.Triple]:
    triples = []
    for iri, entry in sorted(state.items()):
        graph = ox.NamedNode(iri)
        triples.append(ox.Triple(graph, SHA256, ox.Literal(entry.sha256)))
        triples.append(ox.Triple(graph, TRIPLES, ox.Literal(str(entry.triples), datatype=INTEGER)))
    return triples


def parse_state(triples: Iterable[ox.Triple]) -> dict[str, Published]:
    """The state the triples describe; a graph with a missing or doubled value is left out, so
    that it counts as unknown and is sent again."""
    hashes: dict[str, set[str]] = {}
    sizes: dict[str, set[str]] = {}
    for t in triples:
        if not isinstance(t.subject, ox.NamedNode) or not isinstance(t.object, ox.Literal):
            continue
        if t.predicate == SHA256:
            hashes.setdefault(t.subject.value, set()).add(t.object.value)
        elif t.predicate == TRIPLES:
            sizes.setdefault(t.subject.value, set()).add(t.object.value)
    state = {}
    for iri, values in hashes.items():
        counts = sizes.get(iri, set())
        if len(values) == 1 and len(counts) == 1 and next(iter(counts)).isdigit():
            state[iri] = Published(next(iter(values)), int(next(iter(counts))))
    return state
