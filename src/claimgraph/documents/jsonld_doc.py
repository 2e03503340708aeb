"""JSON-LD documents of single resources, fast enough to make on every request.

pyld's general compaction costs tens of milliseconds per document; a resource document only
needs the simple case: properties written as schema.org terms (or prefixed names), nodes as
``{"id": …}``, literals as plain strings where the schema.org context would read them back
unchanged, value objects otherwise. The result uses the same context as the dataset dump
(``["https://schema.org", {cg, oa, wd}]``) and the test suite checks, with pyld, that every
document expands to exactly its quads.

A document served at another address than the dataset's base IRI has its IRIs rebased there.
Its vocabulary terms are compacted as the dataset's are (``cg:statementKind``), and its
context names the rebased namespaces (``cg`` → ``<served at>/ontology#``): the same keys on
every host, so a graph's JSON-LD written once by the build is served anywhere by rebasing the
IRIs in its text (:mod:`claimgraph.documents.rdf`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

import pyoxigraph as ox

from claimgraph.jsonld import EXTRA_CONTEXT, JSONLD_CONTEXT, expanded_jsonld, schemaorg_context

SCHEMA = "http://schema.org/"


@cache
def _prefixes() -> list[tuple[str, str]]:
    context = schemaorg_context()["@context"]
    found = [(name, value) for name, value in context.items()
             if isinstance(value, str) and value.endswith(("/", "#")) and not name.startswith("@")]
    found += list(EXTRA_CONTEXT.items())
    return sorted(found, key=lambda item: -len(item[1]))  # longest namespace first


@cache
def _coerced_terms() -> frozenset[str]:
    """schema.org context terms with a declared value type, where a bare string would change
    meaning (e.g. read as an IRI or a schema:Date)."""
    context = schemaorg_context()["@context"]
    return frozenset(name for name, value in context.items()
                     if isinstance(value, dict) and ("@type" in value or "@container" in value))


@lru_cache(maxsize=1 << 16)
def _compact_iri(iri: str, vocab: bool) -> str:
    if vocab and iri.startswith(SCHEMA) and "/" not in iri[len(SCHEMA):] and ":" not in iri[len(SCHEMA):]:
        return iri[len(SCHEMA):]
    for name, namespace in _prefixes():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            local = iri[len(namespace):]
            if "/" not in local and "#" not in local and name != "schema":
                return f"{name}:{local}"
    return iri


def _compact_value(key: str, value: dict[str, Any]) -> Any:
    if "@id" in value:
        return {"id": value["@id"]}
    if "@type" in value:
        return {"@value": value["@value"], "@type": _compact_iri(value["@type"], vocab=False)}
    if "@language" in value:
        return {"@value": value["@value"], "@language": value["@language"]}
    if key in _coerced_terms() or (":" in key and not key.startswith(("cg:", "oa:", "wd:"))):
        return {"@value": value["@value"]}
    return value["@value"]


def compact_node(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node["@id"]}
    for key, values in node.items():
        if key == "@id":
            continue
        if key == "@type":
            types = [_compact_iri(t, vocab=True) for t in values]
            out["type"] = types[0] if len(types) == 1 else types
        elif key == "@graph":
            out["@graph"] = [compact_node(n) for n in values]
        else:
            term = _compact_iri(key, vocab=True)
            compacted = [_compact_value(term, v) for v in values]
            out[term] = compacted[0] if len(compacted) == 1 else compacted
    return out


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@lru_cache(maxsize=1 << 12)
def _property(iri: str) -> tuple[str, bool]:
    """The term a predicate compacts to, and whether its plain literals need ``{"@value": …}``
    (as :func:`_compact_value` decides)."""
    term = _compact_iri(iri, vocab=True)
    return term, term in _coerced_terms() or (":" in term and not term.startswith(("cg:", "oa:", "wd:")))


def _compact_object(term: ox.NamedNode | ox.BlankNode | ox.Literal, coerced: bool) -> Any:
    """``compact_node``'s value for ``term``: what :func:`_compact_value` makes of its expanded
    form, without making that form first."""
    if isinstance(term, ox.NamedNode):
        return {"id": term.value}
    if isinstance(term, ox.BlankNode):
        return {"id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    datatype = term.datatype.value
    if datatype != _XSD_STRING:
        return {"@value": term.value, "@type": _compact_iri(datatype, vocab=False)}
    return {"@value": term.value} if coerced else term.value


class _Clash(Exception):
    """Two sources (predicates, or a predicate and ``@type``/``@id``) compact to one key."""


Row = tuple[Any, ox.NamedNode, Any, Any]  # subject, predicate, object, graph name: a Quad's terms


def _same(iri: str) -> str:
    return iri


class _Terms(dict[str, Any]):
    """IRI → as written (rebased, or compacted): each distinct IRI is mapped once per
    document, then found by a plain look-up."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, iri: str) -> Any:
        made = self[iri] = self.make(iri)
        return made


def _class(iri: str) -> str:
    return _compact_iri(iri, vocab=True)


def _vocabulary_term(iri: str, rebase: Callable[[str], str], compact: Callable[[str], Any]) -> Any:
    """A class or property IRI as written: compacted as the dataset writes it (the context
    names the rebased namespaces), or, with no term or prefix for it, rebased in full."""
    term = compact(iri)
    written = term[0] if isinstance(term, tuple) else term
    if written != iri:
        return term
    rebased = rebase(iri)
    return term if rebased == iri else compact(rebased)


def document_context(rebase: Callable[[str], str] | None = None) -> list[Any]:
    """The context of a document whose IRIs ``rebase`` maps: the dataset's, with its own
    prefixes (cg:) naming the rebased namespaces."""
    if rebase is None:
        return JSONLD_CONTEXT
    return [JSONLD_CONTEXT[0], {name: rebase(namespace) for name, namespace in EXTRA_CONTEXT.items()}]


def _one_pass(rows: Iterable[Row], rebase: Callable[[str], str] = _same) -> list[dict[str, Any]]:
    # graph → subject → (compacted node, key → the predicate it holds, values seen)
    graphs: dict[str, dict[str, tuple[dict[str, Any], dict[str, str], set[tuple[str, Any]]]]] = {}
    public = _Terms(rebase)
    classes = _Terms(lambda iri: _vocabulary_term(iri, rebase, _class))
    properties = _Terms(lambda iri: _vocabulary_term(iri, rebase, _property))
    for subject, predicate, obj, graph_name in rows:
        graph = public[graph_name.value] if isinstance(graph_name, ox.NamedNode) else "@default"
        sid = public[subject.value] if isinstance(subject, ox.NamedNode) else f"_:{subject.value}"
        nodes = graphs.get(graph)
        if nodes is None:
            nodes = graphs[graph] = {}
        entry = nodes.get(sid)
        if entry is None:
            entry = nodes[sid] = ({"id": sid}, {"id": "@id"}, set())
        node, owners, held = entry
        iri = predicate.value
        value: Any
        if iri == _RDF_TYPE and not isinstance(obj, ox.Literal):
            value = classes[obj.value] if isinstance(obj, ox.NamedNode) else f"_:{obj.value}"
            key, source, seen = "type", "@type", ("@type", value)
        else:
            key, coerced = properties[iri]
            source, seen = iri, (iri, obj)  # equal terms give equal expanded values, and only they
            value = {"id": public[obj.value]} if isinstance(obj, ox.NamedNode) else _compact_object(obj, coerced)
        if seen in held:
            continue
        held.add(seen)
        if owners.setdefault(key, source) != source:
            raise _Clash(key)  # compact_node keeps the last; leave such rare data to it
        current = node.get(key)
        if current is None:  # one value is written bare, more as a list (compact_node's rule)
            node[key] = value
        elif isinstance(current, list):  # values themselves are never lists
            current.append(value)
        else:
            node[key] = [current, value]
    default = graphs.pop("@default", {})
    for name in sorted(graphs):
        holder = default.get(name)
        if holder is None:
            holder = default[name] = ({"id": name}, {"id": "@id"}, set())
        nodes = graphs[name]
        holder[0]["@graph"] = [nodes[s][0] for s in sorted(nodes)]
    return [default[s][0] for s in sorted(default)]


def compacted_nodes(rows: Iterable[Row], rebase: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """The nodes of quads given as term tuples (named graphs kept), compacted with the
    dataset's context: the members of a document's "@graph". ``rebase`` maps each IRI (but
    literals' datatypes) to the one written, as rewriting the terms first would. ``rows`` is
    read once, or twice when the rare fallback below is taken: a one-shot iterator is listed first.

    The same nodes as compacting :func:`expanded_jsonld` with :func:`compact_node`, made in
    one pass: the intermediate expanded form doubled the work (thousands of small dicts made,
    compared and thrown away per article)."""
    if iter(rows) is rows:
        rows = list(rows)
    try:
        return _one_pass(rows, rebase or _same)
    except _Clash:
        nodes = [compact_node(n) for n in expanded_jsonld([ox.Quad(*row) for row in rows])]
        return [_rebased_node(n, rebase) for n in nodes] if rebase else nodes


def _rebased_node(node: dict[str, Any], rebase: Callable[[str], str]) -> dict[str, Any]:
    """A compacted node with its IRIs rebased, as :func:`_one_pass` writes them: ids, and the
    keys and types no term or prefix compacts (rebase leaves any other string as it is)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "id":
            out[key] = rebase(value)
        elif key == "@graph":
            out[key] = [_rebased_node(n, rebase) for n in value]
        elif key == "type":
            out[key] = [rebase(t) for t in value] if isinstance(value, list) else rebase(value)
        else:
            values = [{"id": rebase(v["id"])} if isinstance(v, dict) and "id" in v else v
                      for v in (value if isinstance(value, list) else [value])]
            out[rebase(key)] = values if isinstance(value, list) else values[0]
    return out


def rows_jsonld(rows: Sequence[Row], rebase: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A JSON-LD document of quads given as term tuples (named graphs kept) with the dataset's
    context, its IRIs mapped by ``rebase``."""
    return {"@context": document_context(rebase), "@graph": compacted_nodes(rows, rebase)}


def resource_jsonld(quads: Sequence[ox.Quad]) -> dict[str, Any]:
    """A JSON-LD document of ``quads`` (named graphs kept) with the dataset's context."""
    return rows_jsonld([(q.subject, q.predicate, q.object, q.graph_name) for q in quads])
