"""The schema.org JSON-LD an article page embeds for search engines.

It follows Google's Article structured-data recommendations (headline, datePublished, author
with name and url/sameAs, publisher), and is made by framing the article's own quads with
pyld, so what the page tells search engines is exactly what the graph says.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from pyld import jsonld

from claimgraph.documents.view import QuadView, S
from claimgraph.jsonld import offline_document_loader, schemaorg_context_subset
from claimgraph.rdfterms import sort_quads

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
ARTICLE_FIELDS = ("headline", "datePublished", "dateModified", "author", "publisher", "url",
                  "inLanguage", "articleSection", "image", "copyrightHolder")
PARTY_FIELDS = ("name", "url", "sameAs")


def article_structured_data(view: QuadView, article: str) -> dict[str, Any]:
    keep: list[ox.Quad] = []
    parties: set[str] = set()
    for quad in view.quads:
        subject, predicate = quad.subject.value, quad.predicate.value
        if subject == article and (predicate == _RDF_TYPE or predicate.removeprefix(S) in ARTICLE_FIELDS):
            keep.append(quad)
            if predicate in (S + "author", S + "publisher"):
                parties.add(quad.object.value)
    for quad in view.quads:
        if quad.subject.value in parties and (quad.predicate.value == _RDF_TYPE
                                              or quad.predicate.value.removeprefix(S) in PARTY_FIELDS):
            keep.append(quad)
    triples = [ox.Quad(q.subject, q.predicate, q.object) for q in sort_quads(set(keep))]
    nquads = ox.serialize(triples, format=ox.RdfFormat.N_QUADS).decode("utf-8")
    expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
    context = schemaorg_context_subset({q.predicate.value for q in triples}
                                       | {q.object.value for q in triples if isinstance(q.object, ox.NamedNode)})
    frame = {"@context": context, "@id": article, "@embed": "@always"}
    framed = jsonld.frame(expanded, frame, {"documentLoader": offline_document_loader,
                                            "omitGraph": True})
    framed["@context"] = "https://schema.org"
    document = _plain_values(framed)
    for role in ("author", "publisher"):
        for party in document.get(role, []) if isinstance(document.get(role), list) else [document.get(role)]:
            if isinstance(party, dict) and "url" not in party and "id" in party:
                party["url"] = party["id"]  # the party's page in this dataset identifies it
    return document


def _plain_values(node: Any) -> Any:
    """Tagged and typed strings become plain strings, as search engines expect them; with the
    schema.org context a plain date is read as a schema:Date, which is what it is."""
    if isinstance(node, dict):
        if "@value" in node and set(node) <= {"@language", "@value", "type", "@type"}:
            return node["@value"]
        return {k.removeprefix("schema:"): _plain_values(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_values(v) for v in node]
    return node
