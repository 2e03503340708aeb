"""An rdflib store for one graph, without rdflib's per-triple context bookkeeping.

rdflib's default ``Memory`` store records, for every triple, the graphs it belongs to, and
checks that record again on every lookup. pyshacl needs a context-aware store, and spends
most of its time in those lookups: about 60 % of validating a batch of articles went to
``Memory.triples`` (and as much again to adding the batch to the graph). A graph that is the
only one in its store needs none of that: this store keeps rdflib's three plain indexes
(``SimpleMemory``) and says that every triple is in its one graph.

Use it through :func:`one_graph`; it is for scratch graphs (a batch being validated, an
article being mapped), not for datasets of several graphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node


class OneGraphStore(SimpleMemory):
    """``SimpleMemory`` that rdflib's ``Dataset`` (and so pyshacl) accepts: context- and
    graph-aware, with every triple in the one graph the store was made for."""

    context_aware = True
    graph_aware = True

    def __init__(self) -> None:
        super().__init__()
        self._graphs: list[Graph] = []
        self._count = 0

    def add(self, triple: tuple[Node, Node, Node], context: Any, quoted: bool = False) -> None:
        if not self._has(triple):
            super().add(triple, context, quoted)
            self._count += 1

    def addN(self, quads: Iterable[tuple[Node, Node, Node, Any]]) -> None:
        add = super().add
        for s, p, o, context in quads:
            if not self._has((s, p, o)):
                add((s, p, o), context)
                self._count += 1

    def _has(self, triple: tuple[Node, Node, Node]) -> bool:
        s, p, o = triple
        objects = self._SimpleMemory__spo.get(s, {}).get(p)  # type: ignore[attr-defined]
        return objects is not None and o in objects

    def remove(self, triple_pattern: Any, context: Any = None) -> None:
        doomed = [triple for triple, _ in super().triples(triple_pattern)]
        for triple in doomed:
            super().remove(triple)
        self._count -= len(doomed)

    def __len__(self, context: Any = None) -> int:
        return self._count

    def contexts(self, triple: Any = None) -> Iterator[Graph]:  # type: ignore[override]
        yield from self._graphs

    def add_graph(self, graph: Graph) -> None:
        if not any(g.identifier == graph.identifier for g in self._graphs):
            self._graphs.append(graph)

    def remove_graph(self, graph: Graph) -> None:
        self.remove((None, None, None))


def one_graph(identifier: Node | None = None) -> Graph:
    """A new, empty graph on its own :class:`OneGraphStore`."""
    store = OneGraphStore()
    graph = Graph(store=store, identifier=identifier)
    store.add_graph(graph)
    return graph
