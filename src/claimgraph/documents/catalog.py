"""The dataset at a glance, read once from the store: figures for the home page, and the
lists of articles and entities that the browse pages filter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyoxigraph as ox

from claimgraph.documents.view import S
from claimgraph.namespaces import CG, Iris

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCT = "http://purl.org/dc/terms/"
VOID_TRIPLES = ox.NamedNode("http://rdfs.org/ns/void#triples")


def _one(store: ox.Store, subject: str, predicate: str, language: str | None = None) -> str | None:
    found = list(store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None, None))
    if language:
        preferred = [q for q in found if isinstance(q.object, ox.Literal) and q.object.language == language]
        found = preferred or found
    return found[0].object.value if found else None


def _all(store: ox.Store, subject: str, predicate: str) -> list[str]:
    return sorted({q.object.value for q in store.quads_for_pattern(ox.NamedNode(subject),
                                                                    ox.NamedNode(predicate), None, None)})


def _count_type(store: ox.Store, type_iri: str) -> int:
    return len({q.subject for q in store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(type_iri), None)})


@dataclass(frozen=True)
class ArticleSummary:
    iri: str
    slug: str
    headline: str
    date: str
    author: tuple[str, str]  # (iri, name)
    publisher: tuple[str, str]
    entities: frozenset[str]
    claims: int
    quotations: int


@dataclass(frozen=True)
class EntitySummary:
    iri: str
    key: str
    name: str
    types: tuple[str, ...]
    wikidata: str | None
    status: str
    articles: int


@dataclass
class Catalog:
    title: str
    description: str
    license: str
    built_at: str
    version: str
    triples: int
    articles: list[ArticleSummary] = field(default_factory=list)
    entities: list[EntitySummary] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    def filter_articles(self, outlet: str | None = None, author: str | None = None,
                        entity: str | None = None, date_from: str | None = None,
                        date_to: str | None = None) -> list[ArticleSummary]:
        out = []
        for a in self.articles:
            if outlet and outlet not in (a.publisher[0], a.publisher[1]):
                continue
            if author and author not in (a.author[0], a.author[1]):
                continue
            if entity and entity not in a.entities:
                continue
            if date_from and a.date[:10] < date_from:
                continue
            if date_to and a.date[:10] > date_to:
                continue
            out.append(a)
        return out


def load_catalog(store: ox.Store, iris: Iris, version: str) -> Catalog:
    ds = str(iris.dataset)
    name = S + "name"
    catalog = Catalog(
        title=_one(store, ds, DCT + "title") or "claimgraph",
        description=_one(store, ds, DCT + "description") or "",
        license=_one(store, ds, DCT + "license") or "",
        built_at=_one(store, ds, DCT + "modified") or "",
        version=version,
        triples=int(_one(store, ds, "http://rdfs.org/ns/void#triples") or 0),
    )
    mention_counts: Counter[str] = Counter()
    article_iris = {q.subject.value for q in
                    store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(S + "OpinionNewsArticle"), None)}
    for iri in sorted(article_iris):
        author = _one(store, iri, S + "author") or ""
        publisher = _one(store, iri, S + "publisher") or ""
        entities = frozenset(_all(store, iri, S + "mentions"))
        mention_counts.update(entities)
        claims = len(list(store.quads_for_pattern(None, ox.NamedNode(S + "appearance"), ox.NamedNode(iri), None)))
        quotations = len(list(store.quads_for_pattern(None, ox.NamedNode(S + "isPartOf"), ox.NamedNode(iri), None)))
        catalog.articles.append(ArticleSummary(
            iri, _one(store, iri, S + "identifier") or iri.rsplit("/", 1)[-1],
            _one(store, iri, S + "headline") or iri, _one(store, iri, S + "datePublished") or "",
            (author, _one(store, author, name) or author), (publisher, _one(store, publisher, name) or publisher),
            entities, claims, quotations))
    catalog.articles.sort(key=lambda a: (a.date, a.slug), reverse=True)
    status = ox.NamedNode(str(CG.wikidataStatus))
    for quad in store.quads_for_pattern(None, status, None, ox.NamedNode(str(iris.entities_graph))):
        iri = quad.subject.value
        wikidata = [v for v in _all(store, iri, S + "sameAs") if "wikidata.org/entity/" in v]
        catalog.entities.append(EntitySummary(
            iri, _one(store, iri, S + "identifier") or iri.rsplit("/", 1)[-1],
            _one(store, iri, name, "en") or iri,
            tuple(t.rsplit("/", 1)[-1] for t in _all(store, iri, RDF_TYPE.value)),
            wikidata[0] if wikidata else None, quad.object.value.rsplit("#", 1)[-1], mention_counts[iri]))
    catalog.entities.sort(key=lambda e: e.name.lower())
    catalog.figures = {
        "articles": len(catalog.articles),
        "claims": _count_type(store, S + "Claim"),
        "quotations": _count_type(store, S + "Quotation"),
        "entities": len(catalog.entities),
        "linked to Wikidata": sum(1 for e in catalog.entities if e.wikidata),
        "outlets": len({a.publisher[0] for a in catalog.articles}),
        "triples": catalog.triples,
    }
    return catalog
