"""The description of one resource, read from the store.

A resource's description is every quad whose subject is the resource or one of its hash
parts (``…/claim/x#anchor``, reached through the resource's own triples), plus its backlinks:
the quads that point at it from anywhere in the dataset (so an entity's description lists the
claims and quotations about it across articles). An article's description is its whole named
graph, since its claims and quotations are part of it; a graph's is its content.
"""

from __future__ import annotations

import os
import re
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


# An N-Quads line's subject, and its object when that is an IRI; the IRI object of a line
# whose subject is a blank node. (In the build's files an IRI never holds '>', and a literal
# object starts with '"'. Each pattern starts with a newline, which the regular expression
# engine finds fast: "^" in multi-line mode was tried at every byte, and took 2.5 times as long.)
_LINKED = re.compile(rb"\n<([^>]*)> <[^>]*> (?:<([^>]*)>)?")
_LINKED_FROM_BLANK = re.compile(rb"\n_:\S+ <[^>]*> <([^>]*)>")


@dataclass(frozen=True)
class GraphPart:
    """A graph that a description holds whole, as the build wrote it: ``nquads`` is its sorted
    N-Quads file (``size`` quads, one a line) and ``section`` reads a section of its ``.parts``
    file (its part of each dump: the Turtle triples, the JSON-LD node), so that a document
    need not write the graph again. Its quads are parsed only when asked for (``load``): an
    article's Turtle and JSON-LD documents are written without them."""

    graph: ox.NamedNode
    section: Callable[[str], bytes | None]
    nquads: bytes
    size: int
    load: Callable[[], list[ox.Quad]]

    def rebasable(self, base: str) -> bool:
        """Whether the part's IRIs can be rebased by replacing '"<base>' in its text: no
        literal holds '"' and the base IRI (in N-Quads, an IRI is never after a '"'), and every
        subject is under the base IRI, so that rebasing keeps the nodes' order. Checked on
        the file's bytes when needed (two scans of it: a few tens of microseconds)."""
        under = b"<" + base.encode()
        if b'"' + base.encode() in self.nquads:
            return False
        return self.nquads.startswith(under) + self.nquads.count(b"\n" + under) == self.size

    def rebasable_in_text(self, base: str) -> bool:
        """Whether every '<base' in the graph's Turtle text is an IRI, so that replacing it
        rebases exactly those: no literal holds it and no datatype is under it. On a line of
        the N-Quads file a literal runs from its first '"' to its last (nothing else there
        may hold a '"'), and a datatype follows it as '^^<'. (A line at a time: a regular
        expression for the same took four times as long.)"""
        marker = b"<" + base.encode()
        if b"^^" + marker in self.nquads:
            return False
        for line in self.nquads.split(b"\n"):
            opening = line.find(b'"')
            if opening >= 0 and line.find(marker, opening, line.rfind(b'"')) >= 0:
                return False
        return True

    def linked_iris(self) -> set[str]:
        """The IRIs of the graph's subjects and IRI objects, read off its N-Quads text."""
        text = b"\n" + self.nquads
        found: set[bytes] = set()
        for subject, obj in _LINKED.findall(text):
            found.add(subject)
            found.add(obj)
        found.update(_LINKED_FROM_BLANK.findall(text))
        found.discard(b"")
        return {iri.decode("utf-8") for iri in found}


class Description:
    """What the dataset says of ``iri``: ``quads``, in the order of
    ``claimgraph.rdfterms.sort_quads``. An article's may hold its graph as the build wrote it
    (``part``), with the other graphs' quads in ``extra``; ``quads`` (the graph's and the
    others', in order) are then made only when asked for."""

    def __init__(self, iri: str, quads: list[ox.Quad] | None, kind: str, part: GraphPart | None = None,
                 extra: list[ox.Quad] | None = None) -> None:
        assert quads is not None or part is not None, "a description without quads holds its graph's part"
        self.iri = iri
        self.kind = kind  # article | entity | claim | quotation | graph | dataset | ontology | resource
        self.part = part
        self.extra = extra if extra is not None else []
        self._quads = quads

    @property
    def quads(self) -> list[ox.Quad]:
        if self._quads is None:
            assert self.part is not None
            # one graph's quads sort as one block between the other graphs'
            cut = str(self.part.graph)
            before = [q for q in self.extra if str(q.graph_name) < cut]
            self._quads = before + self.part.load() + self.extra[len(before):]
        return self._quads

    @property
    def found(self) -> bool:
        return self._quads is None or bool(self._quads)


def parse_graph_file(data: bytes, graph_iri: str) -> list[ox.Quad] | None:
    """The quads of one graph's N-Quads file from the build, or None if it is not that."""
    try:
        # lenient: the file is the build's own pyoxigraph output, and checking its IRIs
        # again cost more than half the parse
        quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS, lenient=True))
    except SyntaxError:
        return None
    graph = ox.NamedNode(graph_iri)
    return quads if quads and quads[0].graph_name == graph == quads[-1].graph_name else None


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
        data = self.data(graph_iri, slug)
        quads = parse_graph_file(data, graph_iri) if data is not None else None
        return (quads, data) if quads else None

    def data(self, graph_iri: str, slug: str) -> bytes | None:
        """The bytes of the graph's file, if it is one: it names the graph at both ends (a
        file of another graph, or of several, shows it at an end)."""
        if slug.startswith((".", "_")) or "/" in slug:  # never another file of the folder
            return None
        data = self._read(f"{slug}.nq")
        if not data:
            return None
        end = f" <{graph_iri}> .\n".encode()
        return data if data.endswith(end) and data.find(end) == data.find(b"\n") - len(end) + 1 else None

    def _read(self, name: str) -> bytes | None:
        try:
            fd = os.open(name, os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        with open(fd, "rb") as handle:
            return handle.read()

    def size(self, slug: str) -> int | None:
        """The size in bytes of the graph's file, None if there is none."""
        if slug.startswith((".", "_")) or "/" in slug:
            return None
        try:
            return os.stat(f"{slug}.nq", dir_fd=self._fd).st_size
        except OSError:
            return None

    def section(self, slug: str, name: str) -> bytes | None:
        """One section of the graph's ``.parts`` file (its part of a dump), None if unreadable."""
        try:
            fd = os.open(f"{slug}{PARTS_SUFFIX}", os.O_RDONLY, dir_fd=self._fd)
        except OSError:
            return None
        try:
            with open(fd, "rb") as handle:
                offset, length = section_range(handle, Path(f"{slug}{PARTS_SUFFIX}"), name)
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
# An article whose graph file is up to this size is described in a few milliseconds: on a
# 2-core machine, a generated article's (about 60 kB) in 2-3 ms, the seed's (300 kB, with its
# whole text) in 6-11 ms with none of the 100-odd entities it links looked up before
QUICK_GRAPH_BYTES = 1024 * 1024


# What the build mints for one article (``<base><kind>/<slug>/<key>``), and the article's
# source files (``<base>source/articles/<slug>.txt`` and ``.annotations.yaml``; a slug has no
# dot): only that article's graph ever describes them (tests/test_describe_speed.py checks it
# on every build it makes).
ARTICLE_LOCAL_KINDS = ("claim", "quotation", "event", "stance", "party")
ARTICLE_SOURCES = "source/articles/"


def article_local_prefixes(base: str, slug: str) -> tuple[str, ...]:
    return (*(f"{base}{kind}/{slug}/" for kind in ARTICLE_LOCAL_KINDS), f"{base}{ARTICLE_SOURCES}{slug}.")


def _others(quads: list[ox.Quad], iri: str, seen: set[str], local: tuple[str, ...] = (),
            linked: set[str] | None = None) -> list[str]:
    """The resources ``quads`` link (as subject or object), and those in ``linked``, except
    ``iri``'s own, those starting with one of the ``local`` prefixes and those in ``seen``
    (which gets the new ones)."""
    # distinct terms first (they hash in Rust), then the IRIs among them: a term's text is
    # made once, not at each of its positions
    terms = {q.subject for q in quads}
    terms.update(q.object for q in quads)
    others = {t.value for t in terms if isinstance(t, ox.NamedNode)} | (linked or set())
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

    def quick(self, iri: str) -> bool:
        """Whether describing ``iri`` takes a few milliseconds at most: an article whose graph
        the build wrote to a file of at most QUICK_GRAPH_BYTES (its description is that file,
        the few quads pointing at the article, and its neighbours' labels, most of them kept)."""
        prefix = self.iris.base + "article/"
        if not isinstance(self.graphs, GraphFiles) or not iri.startswith(prefix):
            return False
        size = self.graphs.size(iri[len(prefix):])
        return size is not None and size <= QUICK_GRAPH_BYTES

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
                local: tuple[str, ...] = (), known: dict[str, list[ox.Quad]] | None = None,
                linked: set[str] | None = None) -> list[ox.Quad]:
        """What a reader needs to follow the description's links without another request: the
        names, types, Wikidata links and texts of the resources it points at (and from), and
        the names of the articles those appear in.

        ``own_graph`` is a graph whose every quad is in ``quads`` already (an article's), or
        whose links are in ``linked`` (the IRIs of its subjects and IRI objects): its quads are
        left out here, being neither new nor linking anything ``quads`` does not; so
        are the resources under the ``local`` prefixes, which only that graph describes (an
        article's claims, quotations, events and stances, two thirds of the look-ups its
        description made; and its source files, two in every three look-ups after those)."""
        seen: set[str] = set()
        known = known or {}
        first = self._neighbours(_others(quads, iri, seen, local, linked), _SUMMARY_SET, own_graph, known)
        # The second round skips what the first looked up: _SUMMARY includes _NAMES, so their
        # names are in ``first`` already.
        return first + self._neighbours(_others(first, iri, seen, local), _NAMES_SET, own_graph, known)

    def __call__(self, iri: str) -> Description:
        """The quads that describe ``iri`` (empty when the dataset knows nothing of it), in the
        order of ``claimgraph.rdfterms.sort_quads``."""
        store, iris = self.store, self.iris
        kind = _kind(iri, iris)
        if kind == "article":
            return self._article(iri, kind)
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

    def _article(self, iri: str, kind: str) -> Description:
        """An article's description: its whole graph, its backlinks and its neighbours' labels."""
        store, iris = self.store, self.iris
        slug = iri[len(iris.base + "article/"):]
        graph = ox.NamedNode(iris.base + "graph/article/" + slug)  # iris.article_graph, without rdflib
        extra = _backlinks(store, iri, graph)
        if "/" in slug:  # no article's IRI: what points at it, if anything
            extra += self._labels(extra, iri, None)
            return Description(iri, _sorted(extra), kind)
        local = article_local_prefixes(iris.base, slug)
        data = self.graphs.data(graph.value, slug) if isinstance(self.graphs, GraphFiles) else None
        if data is not None:
            # The graph as the build wrote it: its links are read off its text, and its quads
            # are parsed only if a document needs them (Turtle and JSON-LD take its written part).
            files = self.graphs
            assert isinstance(files, GraphFiles)
            part = GraphPart(graph, lambda name: files.section(slug, name), data, data.count(b"\n"),
                             lambda: parse_graph_file(data, graph.value) or self._stored_graph(graph))
            extra += self._labels(extra, iri, graph, local, linked=part.linked_iris())
            return Description(iri, None, kind, part, _sorted(extra))
        own = (self.graphs(graph.value, slug) if self.graphs else None) or self._stored_graph(graph)
        extra += self._labels(own + extra, iri, graph, local)
        if not own and not extra:
            return Description(iri, [], kind)
        # The graph's quads come sorted (from its file, or sorted here when read from the
        # store). Being one graph's, they sort as one block between the other graphs' quads.
        extra = _sorted(extra)
        cut = str(graph)
        before = [q for q in extra if str(q.graph_name) < cut]
        return Description(iri, before + own + extra[len(before):], kind)

    def _stored_graph(self, graph: ox.NamedNode) -> list[ox.Quad]:
        return sorted(_graph(self.store, graph.value), key=_sort_key)


def _sorted(quads: list[ox.Quad]) -> list[ox.Quad]:
    return sorted(set(quads), key=_sort_key)


def describe(store: ox.Store, iri: str, iris: Iris, graphs: GraphReader | None = None) -> Description:
    """The quads that describe ``iri``, looked up afresh (see ``Describer``).
    ``graphs`` may give an article graph's quads faster than the store (``GraphFiles``)."""
    return Describer(store, iris, graphs)(iri)
