"""Writing the dataset dumps — TriG, N-Quads, Turtle, N-Triples, JSON-LD — from the named
graphs' files, one graph at a time, so memory stays bounded by the largest graph.

Each graph file holds its quads sorted, and graphs are written in IRI order, so the dumps'
bytes depend only on the data. pyoxigraph writes the RDF formats (fast, strict, and free of
rdflib's slow Turtle serializer); JSON-LD is compacted with the schema.org context by the same
direct compaction as the resource documents, which the tests check against pyld.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox

from claimgraph.documents.jsonld_doc import compact_node
from claimgraph.jsonld import JSONLD_CONTEXT, expanded_jsonld
from claimgraph.namespaces import PREFIXES


def _quads(path: Path) -> list[ox.Quad]:
    return list(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))


def _split_prefixes(data: bytes) -> tuple[bytes, bytes]:
    """(the @prefix lines, the rest) of a Turtle or TriG document from pyoxigraph."""
    lines = data.splitlines(keepends=True)
    head = [line for line in lines if line.startswith(b"@prefix")]
    return b"".join(head), b"".join(lines[len(head):])


class _Document:
    """A Turtle/TriG file written graph by graph, with the prefixes declared once on top."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.started = False

    def write(self, data: bytes) -> None:
        head, body = _split_prefixes(data)
        if not self.started:
            self.handle.write(head)
            self.started = True
        self.handle.write(body)


def _graphs(files: Sequence[tuple[str, Path]]) -> Iterator[tuple[str, Path]]:
    return iter(sorted(files, key=lambda item: item[0]))


def write_dumps(files: Sequence[tuple[str, Path]], shared: set[str], out_dir: Path) -> dict[str, Path]:
    """Write every dump of the named graphs in ``files`` ((graph IRI, N-Quads file) pairs) into
    ``out_dir``. ``shared`` names the graphs whose triples may also occur in other graphs (the
    merged formats write a triple once); an article graph's triples are its own."""
    paths = {ext: out_dir / f"dataset.{ext}" for ext in ("nq", "trig", "ttl", "nt", "jsonld")}
    shared_triples = {q.triple for graph, path in files if graph in shared for q in _quads(path)}
    written: set[ox.Triple] = set()
    with (paths["nq"].open("wb") as nq, paths["trig"].open("wb") as trig, paths["ttl"].open("wb") as ttl,
          paths["nt"].open("wb") as nt, paths["jsonld"].open("w", encoding="utf-8") as jsonld_file):
        trig_doc, ttl_doc = _Document(trig), _Document(ttl)
        head = json.dumps(JSONLD_CONTEXT, ensure_ascii=False, indent=1).replace("\n", "\n ")
        jsonld_file.write('{\n "@context": ' + head + ',\n "@graph": [\n')
        first = True
        for graph, path in _graphs(files):
            with path.open("rb") as source:
                shutil.copyfileobj(source, nq)
            quads = _quads(path)
            trig_doc.write(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=PREFIXES))
            triples = []
            for quad in quads:
                triple = quad.triple
                if graph not in shared:
                    if triple not in shared_triples:  # else it is written with its shared graph
                        triples.append(triple)
                elif triple not in written:
                    written.add(triple)
                    triples.append(triple)
            if triples:
                ttl_doc.write(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES))
            nt.write(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
            for node in expanded_jsonld(quads):
                text = json.dumps(compact_node(node), ensure_ascii=False, indent=1, sort_keys=True)
                jsonld_file.write(("" if first else ",\n") + "  " + text.replace("\n", "\n  "))
                first = False
        jsonld_file.write("\n ]\n}\n")
    return paths
