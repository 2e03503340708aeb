"""JSON-LD documents of single resources, fast enough to make on every request.

pyld's general compaction costs tens of milliseconds per document; a resource document only
needs the simple case: properties written as schema.org terms (or prefixed names), nodes as
``{"id": …}``, literals as plain strings where the schema.org context would read them back
unchanged, value objects otherwise. The result uses the same context as the dataset dump
(``["https://schema.org", {cg, oa, wd}]``) and the test suite checks, with pyld, that every
document expands to exactly its quads.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def resource_jsonld(quads: Sequence[ox.Quad]) -> dict[str, Any]:
    """A JSON-LD document of ``quads`` (named graphs kept) with the dataset's context."""
    nodes = [compact_node(n) for n in expanded_jsonld(quads)]
    return {"@context": JSONLD_CONTEXT, "@graph": nodes}
