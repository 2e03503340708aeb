"""The catalog (home page figures, browse lists) read with a few queries inside the store
gives what looking every article up quad by quad gives."""

from __future__ import annotations

import pyoxigraph as ox

from claimgraph.documents.catalog import load_catalog
from claimgraph.namespaces import Iris

S = "http://schema.org/"


def objects(store: ox.Store, subject: str, predicate: str) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None, None)}


def pointing(store: ox.Store, predicate: str, target: str) -> int:
    return len(list(store.quads_for_pattern(None, ox.NamedNode(predicate), ox.NamedNode(target), None)))


def test_the_catalog_says_what_each_article_says(two_article_build, two_article_store):
    iris = Iris(two_article_build.assembled.iris.base)
    catalog = load_catalog(two_article_store, iris, "v")
    corpus = {iris.base + "article/" + a.slug: a for a in two_article_build.assembled.corpus.articles}
    assert {a.iri for a in catalog.articles} == set(corpus) and len(corpus) == 2
    store = two_article_store
    for article in catalog.articles:
        assert article.claims == pointing(store, S + "appearance", article.iri) == len(corpus[article.iri].claims)
        assert article.quotations == pointing(store, S + "isPartOf", article.iri) \
            == len(corpus[article.iri].quotations)
        assert article.entities == objects(store, article.iri, S + "mentions") and article.entities
        assert {article.headline} == objects(store, article.iri, S + "headline")
        assert {article.date} == objects(store, article.iri, S + "datePublished")
        assert {article.author[0]} == objects(store, article.iri, S + "author")
        assert {article.author[1]} == objects(store, article.author[0], S + "name")
        assert {article.publisher[1]} == objects(store, article.publisher[0], S + "name")
    assert [a.date for a in catalog.articles] == sorted((a.date for a in catalog.articles), reverse=True)
    a = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    claims = {q.subject for q in store.quads_for_pattern(None, a, ox.NamedNode(S + "Claim"), None)}
    quotations = {q.subject for q in store.quads_for_pattern(None, a, ox.NamedNode(S + "Quotation"), None)}
    assert catalog.figures["claims"] == len(claims) == sum(a.claims for a in catalog.articles)
    assert catalog.figures["quotations"] == len(quotations) > 0
    mentioned = [e for e in catalog.entities if e.articles]
    assert mentioned and all(e.articles == sum(e.iri in a.entities for a in catalog.articles) for e in catalog.entities)
