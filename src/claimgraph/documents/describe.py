"""The description of one resource, read from the store.

A resource's description is every quad whose subject is the resource or one of its hash
parts (``…/claim/x#anchor``, reached through the resource's own triples), plus its backlinks:
the quads that point at it from anywhere in the dataset (so an entity's description lists the
claims and quotations about it across articles). An article's description is its whole named
graph, since its claims and quotations are part of it; a graph's is its content.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import OutputError
from claimgraph.graphparts import PARTS_SUFFIX, section_range
from claimgraph.namespaces import CG, Iris
from claimgraph.queries import internal_query

_HERE = Path(__file__).resolve().parent  # the .rq files this module runs

ONTOLOGY_IRI = str(CG).rstrip("#")
SHAPES_IRI = "https://claimgraph.example/shapes"


@dataclass(frozen=True)
class GraphPart:
    """A graph that a description holds whole, with a way to read its part of the JSON-LD dump
    (one line: its node, holding the graph's nodes, compacted by the build) so that a document
    need not compact it again; ``nquads`` is the graph's file (``size`` quads, one a line)."""

    graph: ox.NamedNode
    read: Callable[[], bytes | None]
    nquads: bytes
    size: int

    def rebasable(self, base: str) -> bool:
        """Whether the part's IRIs can be rebased by replacing '"<base>' in its text: no
        literal holds '"' and the base IRI (in N-Quads, an IRI is never after a '"'), and every
        subject is under the base IRI, so that rebasing keeps the nodes' order. Checked on
        the file's bytes when needed (two scans of it: a few tens of microseconds)."""
        under = b"<" + base.encode()
        if b'"' + base.encode() in self.nquads:
            return False
        return self.nquads.startswith(under) + self.nquads.count(b"\n" + under) == self.size


@dataclass(frozen=True)
class Description:
    iri: str
    quads: list[ox.Quad]
    kind: str  # article | entity | claim | quotation | graph | dataset | ontology | resource
    part: GraphPart | None = None  # an article's graph, when read from its build file

    @property
    def found(self) -> bool:
        return bool(self.quads)


GraphReader = Callable[[str, str], list[ox.Quad] | None]  # (graph IRI, slug) → its quads, or None


class GraphFiles:
    """An article graph's quads read from the build's sorted N-Quads file of it
    (``cache/graphs/<slug>.nq``), which parses several times faster than the same quads are
    read back from the store. The folder is opened once: should a rebuild replace the output,
    its files are gone from this folder, and the store (opened at the same time) is asked instead."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def __call__(self, graph_iri: str, slug: str) -> list[ox.Quad] | None:
        read = self.read(graph_iri, slug)
        return read[0] if read else None

    def read(self, graph_iri: str, slug: str) -> tuple[list[ox.Quad], bytes] | None:
        """The graph's quads, and its file's bytes."""
        if slug.startswith((".", "_")) or "/" in slug:  # never another file of the folder
            return None
        data = self._read(f"{slug}.nq")
        if data is None:
            return None
        try:
            # lenient: the file is the build's own pyoxigraph output, and checking its IRIs
            # again cost more than half the parse
            quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS, lenient=True))
        except SyntaxError:
            return None
        graph = ox.NamedNode(graph_iri)
        # one graph's sorted file: a file of another graph (or of several) shows it at an end
        return (quads, data) if quads and quads[0].graph_name == graph == quads[-1].graph_name else None

    def _read(self, name: str) -> bytes | None:
        try:
            fd = os.open(name, os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        with open(fd, "rb") as handle:
            return handle.read()

    def jsonld_part(self, slug: str) -> bytes | None:
        """The graph's part of the JSON-LD dump, from its ``.parts`` file (None if unreadable)."""
        try:
            fd = os.open(f"{slug}{PARTS_SUFFIX}", os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        try:
            with open(fd, "rb") as handle:
                offset, length = section_range(handle, Path(f"{slug}{PARTS_SUFFIX}"), "jsonld")
                handle.seek(offset)
                data = handle.read(length)
        except (OSError, OutputError):
            return None
        return data if len(data) == length else None

    def close(self) -> None:
        os.close(self._fd)


def _kind(iri: str, iris: Iris) -> str:
    if iri == str(iris.dataset):
        return "dataset"
    if iri == ONTOLOGY_IRI:
        return "ontology"
    rest = iri[len(iris.base):] if iri.startswith(iris.base) else ""
    first = rest.split("/", 1)[0]
    return {"article": "article", "entity": "entity", "claim": "claim", "quotation": "quotation",
            "graph": "graph", "event": "event", "stance": "stance", "party": "party",
            "source": "source"}.get(first, "resource")


def _with_hash_parts(store: ox.Store, iri: str) -> list[ox.Quad]:
    quads: list[ox.Quad] = []
    seen: set[str] = set()
    todo = [iri]
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for quad in store.quads_for_pattern(ox.NamedNode(subject), None, None, None):
            quads.append(quad)
            obj = quad.object
            if isinstance(obj, ox.NamedNode) and obj.value.startswith(iri + "#"):
                todo.append(obj.value)
    return quads


def _backlinks(store: ox.Store, iri: str, skip_graph: ox.NamedNode | None = None) -> list[ox.Quad]:
    """The quads pointing at ``iri`` from elsewhere than its hash parts and ``skip_graph``."""
    target = ox.NamedNode(iri)
    if skip_graph is not None and isinstance(store, ox.Store):
        found = [ox.Quad(s, p, target, g) for s, p, g, _, _ in store.query(  # type: ignore[misc]
            internal_query(_HERE, "backlinks"), substitutions={_TARGET: target, _SKIP: skip_graph})]
    else:  # a remote store: one pattern, filtered here
        found = [q for q in store.quads_for_pattern(None, None, target, None) if q.graph_name != skip_graph]
    return [q for q in found if not q.subject.value.startswith(iri + "#")]


def _graph(store: ox.Store, graph: str) -> list[ox.Quad]:
    return list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


_NAMES = tuple(ox.NamedNode(p) for p in (
    "http://schema.org/name", "http://schema.org/headline",
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel"))
_SUMMARY = (*_NAMES, *(ox.NamedNode(p) for p in (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://schema.org/sameAs",
    "http://schema.org/text", "http://schema.org/appearance", "http://schema.org/isPartOf")))
_NAMES_SET = frozenset(_NAMES)
_SUMMARY_SET = frozenset(_SUMMARY)
_TARGET, _SKIP = ox.Variable("target"), ox.Variable("skip")
# linked resources whose summaries a long-lived Describer keeps (the server's, the static
# site's): an entity's or an outlet's is a few quads, under 1 kB; a claim's carries its text
SUMMARIES_KEPT = 100_000
_MANY_BACKLINKS = 200  # past this many quads, what points at a resource is summarised in one query


# What the build mints for one article (``<base><kind>/<slug>/<key>``), and the article's
# source files (``<base>source/articles/<slug>.txt`` and ``.annotations.yaml``; a slug has no
# dot): only that article's graph ever describes them (tests/test_describe_speed.py checks it
# on every build it makes).
ARTICLE_LOCAL_KINDS = ("claim", "quotation", "event", "stance", "party")
ARTICLE_SOURCES = "source/articles/"


def article_local_prefixes(base: str, slug: str) -> tuple[str, ...]:
    return (*(f"{base}{kind}/{slug}/" for kind in ARTICLE_LOCAL_KINDS), f"{base}{ARTICLE_SOURCES}{slug}.")


def _others(quads: list[ox.Quad], iri: str, seen: set[str], local: tuple[str, ...] = ()) -> list[str]:
    """The resources ``quads`` link (as subject or object), except ``iri``'s own, those
    starting with one of the ``local`` prefixes and those in ``seen`` (which gets the new ones)."""
    # distinct terms first (they hash in Rust), then the IRIs among them: a term's text is
    # made once, not at each of its positions
    terms = {q.subject for q in quads}
    terms.update(q.object for q in quads)
    others = {t.value for t in terms if isinstance(t, ox.NamedNode)}
    others = {o for o in others if not o.startswith((iri, *local))} - seen
    seen |= others
    return sorted(others)


def _sort_key(q: ox.Quad) -> tuple[str, str]:
    # the order of (graph, subject, predicate, object) by their N-Quads text, in two str()
    # calls instead of four (see claimgraph.rdfterms.sort_quads)
    return (str(q.graph_name), str(q))


class Describer:
    """Describes the resources of one store.

    ``keep`` > 0 is for a store that cannot change while this object lives (the server's
    read-only store, the static site's): the summaries of the resources descriptions link to
    (names, types, Wikidata links) are then kept for up to ``keep`` resources. Articles link
    to the same few thousand entities, classes and outlets, and looking each up again cost
    about a quarter of describing an article."""

    def __init__(self, store: ox.Store, iris: Iris, graphs: GraphReader | None = None, keep: int = 0) -> None:
        self.store = store
        self.iris = iris
        self.graphs = graphs
        self._summary = lru_cache(maxsize=keep)(self._look_up_summary) if keep > 0 else self._look_up_summary

    def _look_up_summary(self, iri: str) -> tuple[ox.Quad, ...]:
        # one look-up per resource, every predicate, filtered here: fewer store calls than
        # one per predicate, and one entry serves both rounds of _labels
        return tuple(q for q in self.store.quads_for_pattern(ox.NamedNode(iri), None, None, None)
                     if q.predicate in _SUMMARY_SET)

    def _neighbours(self, others: list[str], predicates: frozenset[ox.NamedNode],
                    skip_graph: ox.NamedNode | None, known: dict[str, list[ox.Quad]]) -> list[ox.Quad]:
        """The ``predicates`` quads of the resources ``others``, except those in ``skip_graph``
        (``known`` holds the summaries of some of them, read already)."""
        return [q for other in others for q in (known[other] if other in known else self._summary(other))
                if q.predicate in predicates and q.graph_name != skip_graph]

    def _pointing_summaries(self, iri: str) -> dict[str, list[ox.Quad]]:
        """The summaries of every resource pointing at ``iri``, in one query: an entity's
        thousands of claims and quotations, looked up one by one, took longer than all the
        rest of its description."""
        found: dict[str, list[ox.Quad]] = {}
        for s, p, o, g, _ in self.store.query(internal_query(_HERE, "pointing-summaries"),  # type: ignore[misc]
                                               substitutions={_TARGET: ox.NamedNode(iri)}):
            found.setdefault(s.value, []).append(ox.Quad(s, p, o, g))
        return found

    def _labels(self, quads: list[ox.Quad], iri: str, own_graph: ox.NamedNode | None,
                local: tuple[str, ...] = (), known: dict[str, list[ox.Quad]] | None = None) -> list[ox.Quad]:
        """What a reader needs to follow the description's links without another request: the
        names, types, Wikidata links and texts of the resources it points at (and from), and
        the names of the articles those appear in.

        ``own_graph`` is a graph whose every quad is in ``quads`` already (an article's): its
        quads are left out here, being neither new nor linking anything ``quads`` does not; so
        are the resources under the ``local`` prefixes, which only that graph describes (an
        article's claims, quotations, events and stances, two thirds of the look-ups its
        description made; and its source files, two in every three look-ups after those)."""
        seen: set[str] = set()
        known = known or {}
        first = self._neighbours(_others(quads, iri, seen, local), _SUMMARY_SET, own_graph, known)
        # The second round skips what the first looked up: _SUMMARY includes _NAMES, so their
        # names are in ``first`` already.
        return first + self._neighbours(_others(first, iri, seen, local), _NAMES_SET, own_graph, known)

    def __call__(self, iri: str) -> Description:
        """The quads that describe ``iri`` (empty when the dataset knows nothing of it), in the
        order of ``claimgraph.rdfterms.sort_quads``."""
        store, iris = self.store, self.iris
        kind = _kind(iri, iris)
        if kind == "article":
            slug = iri[len(iris.base + "article/"):]
            graph = ox.NamedNode(iris.base + "graph/article/" + slug)  # iris.article_graph, without rdflib
            own: list[ox.Quad] = []
            own_graph, local, part = None, (), None
            if "/" not in slug:
                # The graph's quads come sorted from its file, and are sorted here only when
                # read from the store. Being one graph's, they sort as one block between the
                # other graphs' quads.
                if isinstance(self.graphs, GraphFiles):
                    read = self.graphs.read(graph.value, slug)
                    if read:
                        own, data = read
                        files = self.graphs
                        part = GraphPart(graph, lambda: files.jsonld_part(slug), data, len(own))
                elif self.graphs:
                    own = self.graphs(graph.value, slug) or []
                own = own or sorted(_graph(store, graph.value), key=_sort_key)
                own_graph, local = graph, article_local_prefixes(iris.base, slug)
            extra = _backlinks(store, iri, graph)
            extra += self._labels(own + extra, iri, own_graph, local)
            if not own and not extra:
                return Description(iri, [], kind)
            extra = _sorted(extra)
            cut = str(graph)
            before = [q for q in extra if str(q.graph_name) < cut]
            return Description(iri, before + own + extra[len(before):], kind, part)
        if kind == "graph":  # its content, and what the metadata says of it (size, provenance)
            quads = _graph(store, iri) + _with_hash_parts(store, iri) + _backlinks(store, iri)
        elif kind == "dataset":
            quads = _graph(store, str(iris.metadata_graph))
        elif kind == "ontology":
            quads = _graph(store, str(iris.ontology_graph))
        else:
            quads = _with_hash_parts(store, iri) + _backlinks(store, iri)
        if quads and kind not in ("graph", "dataset", "ontology"):
            many = len(quads) > _MANY_BACKLINKS and isinstance(store, ox.Store)
            quads += self._labels(quads, iri, None, known=self._pointing_summaries(iri) if many else None)
        return Description(iri, _sorted(quads), kind)


def _sorted(quads: list[ox.Quad]) -> list[ox.Quad]:
    return sorted(set(quads), key=_sort_key)


def describe(store: ox.Store, iri: str, iris: Iris, graphs: GraphReader | None = None) -> Description:
    """The quads that describe ``iri``, looked up afresh (see ``Describer``).
    ``graphs`` may give an article graph's quads faster than the store (``GraphFiles``)."""
    return Describer(store, iris, graphs)(iri)
