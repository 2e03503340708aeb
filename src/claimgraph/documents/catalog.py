"""The dataset at a glance, read once from the store: figures for the home page, and the
lists of articles and entities that the browse pages filter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from claimgraph.documents.view import S
from claimgraph.namespaces import CG, Iris
from claimgraph.queries import internal_query

_HERE = Path(__file__).resolve().parent  # the .rq files this module runs

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


def _value(term: object) -> str | None:
    return term.value if isinstance(term, (ox.NamedNode, ox.Literal)) else None


def _articles(store: ox.Store) -> list[ArticleSummary]:
    """The articles, from a few queries answered inside the store: looking each article's
    properties up one by one read every quad back (a dozen look-ups an article, seconds at
    10,000 articles before the server could start)."""
    mentions: dict[str, set[str]] = {}
    for article, entity in store.query(internal_query(_HERE, "catalog-mentions")):  # type: ignore[misc]
        mentions.setdefault(article.value, set()).add(entity.value)
    counts: dict[tuple[str, str], int] = {}
    for article, link, n in store.query(internal_query(_HERE, "catalog-statements")):  # type: ignore[misc]
        counts[(article.value, link.value)] = int(n.value)
    rows: dict[str, tuple[str | None, ...]] = {}
    for row in store.query(internal_query(_HERE, "catalog-articles")):  # type: ignore[attr-defined]
        iri = row[0].value
        if iri not in rows:  # several values of a property: the first row's
            rows[iri] = tuple(_value(term) for term in row)
    articles = []
    for iri in sorted(rows):
        _, identifier, headline, date, author, author_name, publisher, publisher_name = rows[iri]
        author, publisher = author or "", publisher or ""
        articles.append(ArticleSummary(
            iri, identifier or iri.rsplit("/", 1)[-1], headline or iri, date or "",
            (author, author_name or author), (publisher, publisher_name or publisher),
            frozenset(mentions.get(iri, ())), counts.get((iri, S + "appearance"), 0),
            counts.get((iri, S + "isPartOf"), 0)))
    articles.sort(key=lambda a: (a.date, a.slug), reverse=True)
    return articles


def load_catalog(store: ox.Store, iris: Iris, version: str) -> Catalog:
    """The catalog of the dataset in ``store`` (a pyoxigraph Store, or anything with its
    ``query`` and ``quads_for_pattern``, such as a remote store)."""
    ds = str(iris.dataset)
    name = S + "name"
    catalog = Catalog(
        title=_one(store, ds, DCT + "title") or "claimgraph",
        description=_one(store, ds, DCT + "description") or "",
        license=_one(store, ds, DCT + "license") or "",
        built_at=_one(store, ds, DCT + "modified") or "",
        version=version,
        triples=int(_one(store, ds, "http://rdfs.org/ns/void#triples") or 0),
        articles=_articles(store),
    )
    mention_counts = Counter(entity for article in catalog.articles for entity in article.entities)
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
    types = {row[0].value: int(row[1].value) for row in store.query(internal_query(_HERE, "catalog-types"))}  # type: ignore[attr-defined]
    catalog.figures = {
        "articles": len(catalog.articles),
        "claims": types.get(S + "Claim", 0),
        "quotations": types.get(S + "Quotation", 0),
        "entities": len(catalog.entities),
        "linked to Wikidata": sum(1 for e in catalog.entities if e.wikidata),
        "outlets": len({a.publisher[0] for a in catalog.articles}),
        "triples": catalog.triples,
    }
    return catalog
