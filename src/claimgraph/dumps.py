"""Writing the dataset dumps: TriG, N-Quads, Turtle, N-Triples and JSON-LD.

pyoxigraph writes the RDF formats (it streams and stays fast on large corpora, where rdflib's
Turtle serializer is slow); pyld compacts the JSON-LD with the vendored schema.org context, so
no context is ever fetched. Input quads are sorted first, so the bytes depend only on the data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from pyld import jsonld

from claimgraph.namespaces import PREFIXES
from claimgraph.rdfterms import sort_quads
from claimgraph.resources import SCHEMAORG_CONTEXT, project_file

SCHEMAORG_CONTEXT_URLS = ("https://schema.org", "https://schema.org/", "http://schema.org",
                          "http://schema.org/")
# Prefixes the schema.org context lacks, for the terms of claimgraph and Web Annotation.
EXTRA_CONTEXT = {"cg": PREFIXES["cg"], "oa": PREFIXES["oa"], "wd": PREFIXES["wd"]}
JSONLD_CONTEXT: list[Any] = ["https://schema.org", EXTRA_CONTEXT]


@cache
def schemaorg_context() -> dict[str, Any]:
    return json.loads(project_file(SCHEMAORG_CONTEXT).read_text(encoding="utf-8"))


def offline_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that knows the schema.org context and refuses everything else."""
    if url in SCHEMAORG_CONTEXT_URLS:
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": schemaorg_context()}
    raise jsonld.JsonLdError(f"refusing to fetch {url}: claimgraph never loads remote documents",
                             "jsonld.LoadDocumentError", code="loading document failed")


def _triples(quads: Sequence[ox.Quad]) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    triples = []
    for quad in sort_quads(ox.Quad(q.subject, q.predicate, q.object) for q in quads):
        if quad.triple not in seen:
            seen.add(quad.triple)
            triples.append(quad.triple)
    return triples


def _used_iris(quads: Sequence[ox.Quad]) -> set[str]:
    used: set[str] = set()
    for quad in quads:
        used.add(quad.predicate.value)
        if isinstance(quad.object, ox.NamedNode):
            used.add(quad.object.value)
        elif isinstance(quad.object, ox.Literal):
            used.add(quad.object.datatype.value)
    return used


def schemaorg_context_subset(used: set[str]) -> dict[str, Any]:
    """The part of the schema.org context that can affect compacting data using ``used`` IRIs.

    Compaction only ever picks a term whose IRI occurs in the data, a prefix, or a keyword
    alias, so keeping just those gives the same document as the whole 3,000-term context,
    an order of magnitude faster (the test suite checks the equality on the seed).
    """
    context = schemaorg_context()["@context"]

    def expand(value: str) -> str:
        prefix, _, local = value.partition(":")
        namespace = context.get(prefix)
        return namespace + local if local and isinstance(namespace, str) else value

    subset: dict[str, Any] = {}
    for term, definition in context.items():
        if term.startswith("@"):
            subset[term] = definition
        elif isinstance(definition, str):
            if definition.startswith("@") or definition.endswith(("/", "#")) or expand(definition) in used:
                subset[term] = definition
        elif definition.get("@prefix") or expand(definition.get("@id", term)) in used:
            subset[term] = definition
    return subset


def to_jsonld(quads: Sequence[ox.Quad], full_context: bool = False) -> dict[str, Any]:
    """The quads as JSON-LD compacted with the schema.org context (plus cg:, oa:, wd:)."""
    ordered = sort_quads(quads)
    nquads = ox.serialize(ordered, format=ox.RdfFormat.N_QUADS).decode("utf-8")
    expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
    context = JSONLD_CONTEXT if full_context else [schemaorg_context_subset(_used_iris(ordered)),
                                                   EXTRA_CONTEXT]
    document = jsonld.compact(expanded, context, {"documentLoader": offline_document_loader})
    document["@context"] = JSONLD_CONTEXT  # what a reader resolves: the official context
    return document


def jsonld_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def write_dumps(quads: Sequence[ox.Quad], out_dir: Path) -> dict[str, Path]:
    """Write every dump of ``quads`` into ``out_dir``; returns the files by extension."""
    ordered = sort_quads(quads)
    triples = _triples(ordered)
    files = {
        "trig": (ordered, ox.RdfFormat.TRIG, True),
        "nq": (ordered, ox.RdfFormat.N_QUADS, False),
        "ttl": (triples, ox.RdfFormat.TURTLE, True),
        "nt": (triples, ox.RdfFormat.N_TRIPLES, False),
    }
    written = {}
    for ext, (items, fmt, with_prefixes) in files.items():
        path = out_dir / f"dataset.{ext}"
        ox.serialize(items, str(path), format=fmt, prefixes=PREFIXES if with_prefixes else None)
        written[ext] = path
    path = out_dir / "dataset.jsonld"
    path.write_bytes(jsonld_bytes(to_jsonld(ordered)))
    written["jsonld"] = path
    return written
