"""JSON-LD with the schema.org context, entirely offline.

The vendored schema.org context is served to pyld by a document loader that refuses every
other URL, so nothing is ever fetched. Compaction uses only the part of the context that the
data's IRIs can select, which gives the same document as the whole 3,000-term context, much
faster (the tests check the equality).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache, lru_cache
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

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


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


def _used_iris(quads: Sequence[ox.Quad]) -> set[str]:
    used: set[str] = set()
    for quad in quads:
        used.add(quad.predicate.value)
        if isinstance(quad.object, ox.NamedNode):
            used.add(quad.object.value)
        elif isinstance(quad.object, ox.Literal):
            used.add(quad.object.datatype.value)
    return used


@cache
def _context_index() -> tuple[dict[str, int], dict[str, list[str]]]:
    """The schema.org context's terms that always matter (keywords, prefixes), and the others
    by the IRI they expand to; values are positions, to keep the context's own order."""
    context = schemaorg_context()["@context"]

    def expand(value: str) -> str:
        prefix, _, local = value.partition(":")
        namespace = context.get(prefix)
        return namespace + local if local and isinstance(namespace, str) else value

    always: dict[str, int] = {}
    by_iri: dict[str, list[str]] = {}
    for position, (term, definition) in enumerate(context.items()):
        if term.startswith("@"):
            always[term] = position
        elif isinstance(definition, str):
            if definition.startswith("@") or definition.endswith(("/", "#")):
                always[term] = position
            else:
                by_iri.setdefault(expand(definition), []).append(term)
        elif definition.get("@prefix"):
            always[term] = position
        else:
            by_iri.setdefault(expand(definition.get("@id", term)), []).append(term)
    return always, by_iri


def schemaorg_context_subset(used: set[str]) -> dict[str, Any]:
    """The part of the schema.org context that can affect compacting data using ``used`` IRIs.

    Compaction only ever picks a term whose IRI occurs in the data, a prefix, or a keyword
    alias, so keeping just those gives the same document as the whole 3,000-term context,
    an order of magnitude faster (the test suite checks the equality on the seed).
    """
    context = schemaorg_context()["@context"]
    always, by_iri = _context_index()
    terms = set(always)
    for iri in used:
        terms.update(by_iri.get(iri, ()))
    return {term: context[term] for term in context if term in terms}


def _json_value(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> dict[str, str]:
    kind = type(term)
    if kind is ox.NamedNode:
        return {"@id": term.value}
    if kind is ox.BlankNode:
        return {"@id": f"_:{term.value}"}
    language = term.language
    if language:
        return {"@value": term.value, "@language": language}
    datatype = term.datatype.value
    if datatype == _XSD_STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": datatype}


def expanded_jsonld(quads: Sequence[ox.Quad]) -> list[dict[str, Any]]:
    """Expanded JSON-LD of ``quads``, as the JSON-LD 1.1 "serialize RDF as JSON-LD" algorithm
    gives it for data without lists (claimgraph makes none), in a fraction of pyld's time."""
    graphs: dict[str, dict[str, dict[str, Any]]] = {}
    # Each distinct quad gives a distinct value, so dropping repeated quads here is all the
    # de-duplication needed (a membership test per value was quadratic: 13 s for the metadata
    # graph's thousands of values of one property at 10,000 articles).
    # (each attribute of a pyoxigraph quad or term is a new Python object: read it once)
    for quad in dict.fromkeys(quads):
        graph_name, subject_term, predicate, value = quad.graph_name, quad.subject, quad.predicate.value, quad.object
        graph = graph_name.value if type(graph_name) is ox.NamedNode else "@default"
        subject = subject_term.value if type(subject_term) is ox.NamedNode else f"_:{subject_term.value}"
        node = graphs.setdefault(graph, {}).setdefault(subject, {"@id": subject})
        if predicate == _RDF_TYPE and type(value) is not ox.Literal:
            node.setdefault("@type", []).append(_json_value(value)["@id"])
            continue
        node.setdefault(predicate, []).append(_json_value(value))
    default = graphs.pop("@default", {})
    for name in sorted(graphs):
        holder = default.setdefault(name, {"@id": name})
        holder["@graph"] = [graphs[name][s] for s in sorted(graphs[name])]
    return [default[s] for s in sorted(default)]


def to_jsonld(quads: Sequence[ox.Quad], full_context: bool = False) -> dict[str, Any]:
    """The quads as JSON-LD compacted with the schema.org context (plus cg:, oa:, wd:)."""
    ordered = sort_quads(quads)
    expanded = expanded_jsonld(ordered)
    context = JSONLD_CONTEXT if full_context else [schemaorg_context_subset(_used_iris(ordered)),
                                                   EXTRA_CONTEXT]
    document = jsonld.compact(expanded, context, {"documentLoader": offline_document_loader})
    document["@context"] = JSONLD_CONTEXT  # what a reader resolves: the official context
    return document


def jsonld_node_line(node: dict[str, Any]) -> str:
    """One node of a JSON-LD "@graph" on a line of its own, keys sorted: json's C encoder,
    several times faster than its indenting one (pure Python), which had been the largest
    single cost of writing a resource's JSON-LD."""
    return "  " + json.dumps(node, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=16)
def _head(context_json: str) -> str:
    context = json.dumps(json.loads(context_json), ensure_ascii=False, indent=1).replace("\n", "\n ")
    return '{\n "@context": ' + context + ',\n "@graph": [\n'


def jsonld_head(context: list[Any] | None = None) -> str:
    """What a JSON-LD document of the dataset starts with: its context (the dataset's, unless
    given), then "@graph": [."""
    return _head(json.dumps(JSONLD_CONTEXT if context is None else context))


JSONLD_TAIL = "\n ]\n}\n"


def jsonld_bytes(nodes: Sequence[dict[str, Any]], context: list[Any] | None = None) -> bytes:
    """A JSON-LD document of compacted ``nodes``, laid out as the dataset dump is: the context
    indented, then one node per line."""
    return (jsonld_head(context) + ",\n".join(map(jsonld_node_line, nodes)) + JSONLD_TAIL).encode("utf-8")
