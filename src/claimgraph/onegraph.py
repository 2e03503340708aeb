"""An rdflib store for one graph, without rdflib's per-triple context bookkeeping.

rdflib's default ``Memory`` store records, for every triple, the graphs it belongs to, and
checks that record again on every lookup. pyshacl needs a context-aware store, and spends
most of its time in those lookups: about 60 % of validating a batch of articles went to
``Memory.triples`` (and as much again to adding the batch to the graph). A graph that is the
only one in its store needs none of that: this store keeps plain indexes and says that
every triple is in its one graph.

The indexes are its own rather than ``SimpleMemory``'s: that store finds a missing key by
catching ``KeyError``, which most additions of a new article's statements do three times,
and makes a new generator of contexts for every triple it yields.

Use it through :func:`one_graph`; it is for scratch graphs (a batch being validated, an
article being mapped), not for datasets of several graphs.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from rdflib import Graph, URIRef
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

# dicts rather than sets at the leaves: iteration in insertion order, as rdflib's stores do
_Index = dict[Node, dict[Node, dict[Node, None]]]


def _insert(index: _Index, a: Node, b: Node, c: Node) -> None:
    inner = index.get(a)
    if inner is None:
        index[a] = {b: {c: None}}
        return
    leaves = inner.get(b)
    if leaves is None:
        inner[b] = {c: None}
    else:
        leaves[c] = None


def _discard(index: _Index, a: Node, b: Node, c: Node) -> None:
    inner = index[a]
    leaves = inner[b]
    leaves.pop(c, None)
    if not leaves:
        del inner[b]
        if not inner:
            del index[a]


class OneGraphStore(SimpleMemory):
    """A store that rdflib's ``Dataset`` (and so pyshacl) accepts: context- and graph-aware,
    with every triple in the one graph the store was made for. Namespace bindings are
    ``SimpleMemory``'s; statements are kept in this class's indexes."""

    context_aware = True
    graph_aware = True

    def __init__(self) -> None:
        super().__init__()
        # weak: a graph holds its store, and a cycle would keep each scratch graph (and its
        # indexes) alive until the cycle collector walks them
        self._graph_refs: tuple[weakref.ref[Graph], ...] = ()
        self._spo: _Index = {}
        self._pos: _Index = {}
        # made on the first look-up by object alone: pyshacl's look-ups (objects of a subject,
        # subjects of a predicate and object) never need it, and keeping it up to date was a
        # third of the cost of adding a batch's statements
        self._osp_index: _Index | None = None
        self._count = 0

    def add(self, triple: tuple[Node, Node, Node], context: Any, quoted: bool = False) -> None:
        self._add(*triple)

    def addN(self, quads: Iterable[tuple[Node, Node, Node, Any]]) -> None:
        add = self._add
        for s, p, o, _ in quads:
            add(s, p, o)

    def _add(self, s: Node, p: Node, o: Node) -> None:
        by_predicate = self._spo.get(s)
        if by_predicate is None:
            self._spo[s] = {p: {o: None}}
        else:
            objects = by_predicate.get(p)
            if objects is None:
                by_predicate[p] = {o: None}
            elif o in objects:
                return
            else:
                objects[o] = None
        _insert(self._pos, p, o, s)
        if self._osp_index is not None:
            _insert(self._osp_index, o, s, p)
        self._count += 1

    @property
    def _osp(self) -> _Index:
        if self._osp_index is None:
            osp: _Index = {}
            for s, by_predicate in self._spo.items():
                for p, objects in by_predicate.items():
                    for o in objects:
                        _insert(osp, o, s, p)
            self._osp_index = osp
        return self._osp_index

    def remove(self, triple_pattern: Any, context: Any = None) -> None:
        for (s, p, o), _ in list(self.triples(triple_pattern)):
            _discard(self._spo, s, p, o)
            _discard(self._pos, p, o, s)
            if self._osp_index is not None:
                _discard(self._osp_index, o, s, p)
            self._count -= 1

    def triples(self, triple_pattern: Any, context: Any = None
                ) -> Iterator[tuple[tuple[Node, Node, Node], tuple[Graph, ...]]]:
        # like rdflib's own stores: a caller that changes the graph must not be iterating it
        s, p, o = triple_pattern
        graphs = self._graphs()
        if s is not None:
            by_predicate = self._spo.get(s)
            if not by_predicate:
                return
            if p is not None:
                objects = by_predicate.get(p, ())
                if o is not None:
                    if o in objects:
                        yield (s, p, o), graphs
                else:
                    for obj in objects:
                        yield (s, p, obj), graphs
            else:
                for pred, objects in by_predicate.items():
                    if o is not None:
                        if o in objects:
                            yield (s, pred, o), graphs
                    else:
                        for obj in objects:
                            yield (s, pred, obj), graphs
        elif p is not None:
            by_object = self._pos.get(p)
            if not by_object:
                return
            if o is not None:
                for subj in by_object.get(o, ()):
                    yield (subj, p, o), graphs
            else:
                for obj, subjects in by_object.items():
                    for subj in subjects:
                        yield (subj, p, obj), graphs
        elif o is not None:
            for subj, predicates in self._osp.get(o, {}).items():
                for pred in predicates:
                    yield (subj, pred, o), graphs
        else:
            for subj, by_predicate in self._spo.items():
                for pred, objects in by_predicate.items():
                    for obj in objects:
                        yield (subj, pred, obj), graphs

    def _graphs(self) -> tuple[Graph, ...]:
        return tuple(g for g in (ref() for ref in self._graph_refs) if g is not None)

    def __len__(self, context: Any = None) -> int:
        return self._count

    def contexts(self, triple: Any = None) -> Iterator[Graph]:  # type: ignore[override]
        yield from self._graphs()

    def add_graph(self, graph: Graph) -> None:
        if not any(g.identifier == graph.identifier for g in self._graphs()):
            self._graph_refs = (*self._graph_refs, weakref.ref(graph))

    def remove_graph(self, graph: Graph) -> None:
        self.remove((None, None, None))


class OneGraph(Graph):
    """A ``Graph`` on a :class:`OneGraphStore` that answers the look-ups pyshacl makes most
    (objects of a subject and predicate, subjects of a predicate and object, a node's
    predicates and objects, membership) from the store's indexes. rdflib answers each through
    three nested generators; that was most of what validating a batch cost after the shapes
    themselves. Any other pattern (a property path, a wildcard) is rdflib's as usual."""

    store: OneGraphStore

    def __init__(self, identifier: Node | None = None) -> None:
        store = OneGraphStore()
        super().__init__(store=store, identifier=identifier)
        store.add_graph(self)
        self._spo, self._pos = store._spo, store._pos  # read on every look-up: skip two attributes

    def add_triples(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        """Add statements made of rdflib terms (as the mapping makes them), without the
        per-statement checks of ``Graph.addN``."""
        self.store.addN((s, p, o, self) for s, p, o in triples)

    def objects(self, subject: Any = None, predicate: Any = None, unique: bool = False) -> Iterator[Node]:
        if subject is None or type(predicate) is not URIRef:
            return super().objects(subject, predicate, unique)
        return iter(tuple(self._spo.get(subject, _NONE).get(predicate, _NONE)))

    def subjects(self, predicate: Any = None, object: Any = None, unique: bool = False) -> Iterator[Node]:
        if object is None or type(predicate) is not URIRef:
            return super().subjects(predicate, object, unique)
        return iter(tuple(self._pos.get(predicate, _NONE).get(object, _NONE)))

    def predicate_objects(self, subject: Any = None, unique: bool = False) -> Iterator[tuple[Node, Node]]:
        if subject is None:
            return super().predicate_objects(subject, unique)
        return iter([(p, o) for p, objects in self._spo.get(subject, _NONE).items() for o in objects])

    def __contains__(self, triple: Any) -> bool:
        s, p, o = triple
        if s is None or o is None or type(p) is not URIRef:
            return super().__contains__(triple)
        return o in self._spo.get(s, _NONE).get(p, _NONE)


_NONE: dict = {}  # an empty index level, never written to


def one_graph(identifier: Node | None = None) -> OneGraph:
    """A new, empty :class:`OneGraph`."""
    return OneGraph(identifier)
