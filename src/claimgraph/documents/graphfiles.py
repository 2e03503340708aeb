"""An article graph as the build wrote it: its sorted N-Quads file and its ``.parts`` file
(``cache/graphs/<slug>.nq`` and ``.parts``), read by the server and the static site to describe
the article faster than from the store, and to write its documents from the build's parts of
the dumps instead of from its quads."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import OutputError
from claimgraph.graphparts import PARTS_SUFFIX, section_range

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



class GraphFiles:
    """An article graph's quads read from the build's sorted N-Quads file of it
    (``cache/graphs/<slug>.nq``), which parses several times faster than the same quads are
    read back from the store. The folder is opened once: should a rebuild replace the output,
    its files are gone from this folder, and the store (opened at the same time) is asked instead."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def __call__(self, graph_iri: str, slug: str) -> list[ox.Quad] | None:
        """The graph's quads, None if its file is missing or not that graph's."""
        data = self.data(graph_iri, slug)
        return parse_graph_file(data, graph_iri) if data is not None else None

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
