"""The named SPARQL queries in queries/*.rq, run on real builds of the seed (and of the seed plus
the fictional second article).

Expected answers are computed from the loaded source records (``assembled.corpus``) or by
counting with rdflib over the published ``dataset.trig``, not copied from what the queries print.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef

from claimgraph.build import BuildResult
from claimgraph.cli import main
from claimgraph.errors import QueryError
from claimgraph.namespaces import CG, SCHEMA, VOID, WD
from claimgraph.queries import NamedQuery, bind_parameters, find_query, list_queries, load_query, queries_dir, run_query
from claimgraph.records import Article, Corpus
from claimgraph.resources import ONTOLOGY, project_file
from claimgraph.sources import split_front_matter
from claimgraph.strict_yaml import read_text
from claimgraph.vocabulary import SchemaVocabulary
from conftest import DATA, EXTRA_SLUG, SEED_SLUG, ask

EXPECTED_QUERIES = {
    "article-overview", "claims", "quotations", "claims-by-person", "claims-about-entity",
    "entities", "people", "timeline", "stances", "claim-anchor", "to-reconcile",
    "dataset-statistics", "checkable-claims", "reported-speech", "outlets-on-topic", "graph-sizes",
}


# ---------------------------------------------------------------- helpers

def corpus(result: BuildResult) -> Corpus:
    return result.assembled.corpus


def seed_article(result: BuildResult) -> Article:
    return next(a for a in corpus(result).articles if a.slug == SEED_SLUG)


def entity_iri(result: BuildResult, key: str) -> str:
    return str(result.assembled.iris.entity(key))


def article_iri(result: BuildResult, slug: str) -> str:
    return str(result.assembled.iris.article(slug))


def claim_iri(result: BuildResult, slug: str, key: str) -> str:
    return str(result.assembled.iris.claim(slug, key))


def quotation_iri(result: BuildResult, slug: str, key: str) -> str:
    return str(result.assembled.iris.quotation(slug, key))


def values(rows: list[dict], column: str) -> list[str]:
    return [row[column].value for row in rows if column in row]


def name_of(result: BuildResult, key: str) -> str:
    return corpus(result).entities[key].name


def claimant_name(result: BuildResult, article: Article, speaker: str | None) -> str:
    """The name the queries show for a claimant: registry name, or '(unnamed) description'."""
    if speaker is None:
        return name_of(result, article.author)
    party = next((p for p in article.parties if p.key == speaker), None)
    return f"(unnamed) {party.description}" if party else name_of(result, speaker)


def mentioned_keys(article: Article) -> set[str]:
    """Registry keys an article refers to in its annotations (not as its author or publisher)."""
    parties = {p.key for p in article.parties}
    keys: set[str] = set()
    for item in (*article.claims, *article.quotations):
        keys.update(item.about, item.mentions)
        if item.speaker and item.speaker not in parties:
            keys.add(item.speaker)
    for event in article.events:
        keys.update(event.about)
        if event.same_as:
            keys.add(event.same_as)
    for stance in article.stances:
        keys.update(stance.about)
    return keys


def query_body(query: NamedQuery) -> str:
    return "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))


# Values for every parameter any query declares: used to run each query with all its parameters.
def sample_params(result: BuildResult) -> dict[str, str]:
    article = seed_article(result)
    return {
        "article": article_iri(result, article.slug),
        "claim": claim_iri(result, article.slug, article.claims[0].key),
        "person": "ilham-aliyev",
        "speaker": "ilham-aliyev",
        "entity": "section-907",
        "topic": "section-907",
        "graph": str(result.assembled.iris.article_graph(article.slug)),
    }


# ---------------------------------------------------------------- every query file

def test_the_query_files_are_all_there() -> None:
    names = {q.name for q in list_queries()}
    assert len(names) >= 13
    assert names >= EXPECTED_QUERIES


@pytest.mark.parametrize("path", sorted(queries_dir().glob("*.rq")), ids=lambda p: p.stem)
def test_every_query_has_a_header_and_runs(path: Path, seed_build: BuildResult, seed_store: ox.Store) -> None:
    query = find_query(path.stem)
    assert query.title.strip() and query.description.strip()
    assert query.form == "SELECT"
    assert re.search(r"\bORDER BY\b", query_body(query)), "results must be in a stable order"
    samples = sample_params(seed_build)
    body = query_body(query)
    for param in query.parameters:
        assert param.description, f"?{param.name} has no description"
        assert re.search(rf"\?{param.name}\b", body), f"?{param.name} is not used by the query"
        assert param.name in samples, f"no sample value for ?{param.name}: add one to sample_params"
    # once with only the required parameters, once with all of them
    required = {p.name: samples[p.name] for p in query.parameters if p.required}
    result = ask(seed_store, seed_build, query.name, **required)
    assert result.boolean is None and result.variables
    every = {p.name: samples[p.name] for p in query.parameters}
    narrowed = ask(seed_store, seed_build, query.name, **every)
    assert len(narrowed.rows) <= len(result.rows) or not (every.keys() - required.keys())
    for param in query.parameters:  # a bound parameter is projected with the value it was given
        term = bind_parameters(query, every, seed_build.assembled.iris.base)[ox.Variable(param.name)]
        assert all(row[param.name] == term for row in narrowed.rows)


def test_query_headers_name_no_value_into_the_text(seed_build: BuildResult) -> None:
    """Nothing data-specific is pasted into the queries: no IRIs of the dataset's own resources."""
    base = seed_build.assembled.iris.base
    for query in list_queries():
        body = query_body(query)
        assert base + "entity/" not in body and base + "article/" not in body, query.name
        assert "GRAPH" not in body or query.name in ("dataset-statistics", "graph-sizes"), query.name


def test_queries_use_only_existing_schema_org_and_claimgraph_terms() -> None:
    vocabulary = SchemaVocabulary.load()
    ontology = Graph().parse(project_file(ONTOLOGY), format="turtle")
    defined = {str(s) for s in ontology.subjects()}
    keys_queries = [load_query(path) for path in sorted((queries_dir() / "pages").glob("*.rq"))]
    assert keys_queries, "the listings' keys queries are in queries/pages/"
    for query in [*list_queries(), *keys_queries]:
        body = query_body(query)
        assert "https://schema.org/" not in body, f"{query.name}: schema.org is http://schema.org/"
        for local in re.findall(r"\bschema:([A-Za-z]\w*)", body):
            assert str(SCHEMA[local]) in vocabulary.terms, f"{query.name}: schema:{local} is not in v30.0"
        for local in re.findall(r"\bcg:([A-Za-z]\w*)", body):
            assert str(CG[local]) in defined, f"{query.name}: cg:{local} is not in the ontology"


# ---------------------------------------------------------------- article-overview

def test_article_overview(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    rows = ask(seed_store, seed_build, "article-overview").rows
    assert len(rows) == 1
    row = rows[0]
    assert row["article"].value == article_iri(seed_build, article.slug)
    assert row["headline"].value == article.headline
    assert row["headline"].value == ("Repealing Section 907 is essential to restoring fairness "
                                     "in US-Azerbaijan relations")
    assert row["datePublished"].value == article.date_published == "2026-01-08"
    assert row["authorName"].value == name_of(seed_build, article.author) == "Faig Mahmudov"
    assert row["publisherName"].value == name_of(seed_build, article.publisher) == "News.Az"
    assert row["url"].value == article.url
    assert row["language"].value == article.language == "en"
    assert int(row["claims"].value) == len(article.claims)
    assert int(row["quotations"].value) == len(article.quotations) == 2


def test_article_overview_for_one_article(two_article_build: BuildResult, two_article_store: ox.Store) -> None:
    rows = ask(two_article_store, two_article_build, "article-overview").rows
    articles = sorted(corpus(two_article_build).articles, key=lambda a: a.date_published)
    assert values(rows, "article") == [article_iri(two_article_build, a.slug) for a in articles]
    extra = next(a for a in articles if a.slug == EXTRA_SLUG)
    one = ask(two_article_store, two_article_build, "article-overview",
              article=article_iri(two_article_build, EXTRA_SLUG)).rows
    assert len(one) == 1
    assert one[0]["headline"].value == extra.headline
    assert int(one[0]["claims"].value) == len(extra.claims)
    assert int(one[0]["quotations"].value) == len(extra.quotations)
    missing = article_iri(two_article_build, "no-such-article")
    assert ask(two_article_store, two_article_build, "article-overview", article=missing).rows == []


# ---------------------------------------------------------------- claims

def test_claims(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    result = ask(seed_store, seed_build, "claims")
    rows = result.rows
    assert len(rows) == len(article.claims)
    in_text_order = sorted(article.claims, key=lambda c: c.anchor.start)
    assert values(rows, "claim") == [claim_iri(seed_build, article.slug, c.key) for c in in_text_order]
    for row, record in zip(rows, in_text_order, strict=True):
        assert row["text"].value == record.anchor.exact
        assert row["kind"].value == record.kind
        assert row["article"].value == article_iri(seed_build, article.slug)
        assert row["claimantName"].value == claimant_name(seed_build, article, record.speaker)
        if record.speaker is None:  # the author's own claim: no interpreter
            assert "interpreter" not in row and "interpreterName" not in row
        else:  # reported speech: the article's author interprets it
            assert row["interpreter"].value == entity_iri(seed_build, article.author)
            assert row["interpreterName"].value == "Faig Mahmudov"
    assert Counter(values(rows, "kind")) == Counter(c.kind for c in article.claims)
    narrowed = ask(seed_store, seed_build, "claims", article=article_iri(seed_build, article.slug)).rows
    assert len(narrowed) == len(rows)


# ---------------------------------------------------------------- quotations

def test_quotations(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    rows = ask(seed_store, seed_build, "quotations").rows
    assert len(rows) == 2 == len(article.quotations)
    assert values(rows, "speakerName") == ["Ilham Aliyev", "Ilham Aliyev"]
    assert values(rows, "speaker") == [entity_iri(seed_build, "ilham-aliyev")] * 2
    texts = values(rows, "text")
    assert texts[0].startswith("The blockade argument")
    assert texts[1].startswith("When the United States needed Azerbaijan")
    assert texts == [q.anchor.exact for q in sorted(article.quotations, key=lambda q: q.anchor.start)]
    interview = next(e for e in article.events if e.key == "aliyev-interview")
    assert values(rows, "date") == [interview.date] * 2 == ["2026-01-05"] * 2
    assert values(rows, "eventName") == [interview.name] * 2
    assert values(rows, "article") == [article_iri(seed_build, article.slug)] * 2


def test_quotations_by_speaker(seed_build: BuildResult, seed_store: ox.Store) -> None:
    by_aliyev = ask(seed_store, seed_build, "quotations", speaker="ilham-aliyev").rows
    assert len(by_aliyev) == 2
    by_iri = ask(seed_store, seed_build, "quotations", speaker=entity_iri(seed_build, "ilham-aliyev")).rows
    assert by_iri == by_aliyev
    assert ask(seed_store, seed_build, "quotations", speaker="faig-mahmudov").rows == []


# ---------------------------------------------------------------- claims-by-person

def test_claims_by_person(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    rows = ask(seed_store, seed_build, "claims-by-person", person="ilham-aliyev").rows
    expected = sorted((c for c in article.claims if c.speaker == "ilham-aliyev"), key=lambda c: c.anchor.start)
    assert len(rows) == len(expected) == 6
    assert values(rows, "claim") == [claim_iri(seed_build, article.slug, c.key) for c in expected]
    assert set(values(rows, "personName")) == {"Ilham Aliyev"}
    assert set(values(rows, "interpreterName")) == {"Faig Mahmudov"}
    assert values(rows, "date") == ["2026-01-05"] * 6
    assert values(rows, "kind") == [c.kind for c in expected]

    own = ask(seed_store, seed_build, "claims-by-person", person="faig-mahmudov").rows
    assert len(own) == sum(1 for c in article.claims if c.speaker is None)
    assert all("interpreterName" not in row for row in own)
    assert ask(seed_store, seed_build, "claims-by-person", person="joe-biden").rows == []


# ---------------------------------------------------------------- claims-about-entity

def test_claims_about_entity(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    slug = article.slug
    expected: dict[str, tuple[str, str, str]] = {}
    for claim in article.claims:
        if "section-907" in (*claim.about, *claim.mentions):
            relation = "about" if "section-907" in claim.about else "mentions"
            expected[claim_iri(seed_build, slug, claim.key)] = (
                "claim", relation, claimant_name(seed_build, article, claim.speaker))
    for quotation in article.quotations:
        if "section-907" in (*quotation.about, *quotation.mentions):
            relation = "about" if "section-907" in quotation.about else "mentions"
            expected[quotation_iri(seed_build, slug, quotation.key)] = (
                "quotation", relation, claimant_name(seed_build, article, quotation.speaker))
    rows = ask(seed_store, seed_build, "claims-about-entity", entity="section-907").rows
    assert len(rows) == len(expected)
    got = {r["statement"].value: (r["statementType"].value, r["relation"].value, r["claimantName"].value)
           for r in rows}
    assert got == expected
    assert Counter(values(rows, "statementType"))["quotation"] == 2
    assert {"Ilham Aliyev", "Faig Mahmudov"} <= set(values(rows, "claimantName"))
    assert any(name.startswith("(unnamed) ") for name in values(rows, "claimantName"))  # blockade-claim


def test_claims_about_entity_tells_about_from_mentions(seed_build: BuildResult, seed_store: ox.Store) -> None:
    rows = ask(seed_store, seed_build, "claims-about-entity", entity="joe-biden").rows
    slug = SEED_SLUG
    assert {(r["statement"].value, r["relation"].value, r["claimantName"].value) for r in rows} == {
        (claim_iri(seed_build, slug, "biden-active-role"), "about", "Ilham Aliyev"),
        (claim_iri(seed_build, slug, "administrations-biased"), "mentions", "Faig Mahmudov"),
    }


# ---------------------------------------------------------------- entities

def test_entities(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    registry = corpus(seed_build).entities
    keys = mentioned_keys(article)
    rows = ask(seed_store, seed_build, "entities").rows
    assert len(rows) == len(keys)
    assert values(rows, "key") == sorted(keys)  # all mentioned by one article: ordered by key
    statuses = {"unreconciled": "not yet reconciled", "no-item": "no item"}
    for row in rows:
        entity = registry[row["key"].value]
        assert row["entity"].value == entity_iri(seed_build, entity.key)
        assert row["type"].value == str(SCHEMA[entity.type])
        assert row["name"].value == entity.name
        assert int(row["articles"].value) == 1
        if entity.wikidata_id:
            assert row["wikidata"].value == str(WD[entity.wikidata_id])
            assert row["status"].value == "linked"
        else:
            assert "wikidata" not in row
            assert row["status"].value == statuses[entity.wikidata]
    by_key = {row["key"].value: row for row in rows}
    assert by_key["azerbaijan"]["wikidata"].value == "http://www.wikidata.org/entity/Q227"
    assert by_key["lachin"]["status"].value == "not yet reconciled"
    assert by_key["section-907"]["type"].value == "http://schema.org/Legislation"
    assert "faig-mahmudov" not in by_key and "news-az" not in by_key  # author and publisher are not mentions


# ---------------------------------------------------------------- people

def test_people(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    registry = corpus(seed_build).entities
    people = {k for k in (mentioned_keys(article) | {article.author}) if registry[k].type == "Person"}
    rows = ask(seed_store, seed_build, "people").rows
    assert len(rows) == len(people) == 5
    assert values(rows, "name") == sorted(registry[k].name for k in people)
    for row in rows:
        key = row["key"].value
        assert int(row["articles"].value) == 1
        own = sum(1 for c in article.claims if (c.speaker or article.author) == key)
        assert int(row["claims"].value) == own
        assert int(row["quotations"].value) == sum(1 for q in article.quotations if q.speaker == key)
        if registry[key].wikidata_id:
            assert row["wikidata"].value == str(WD[registry[key].wikidata_id])
        else:
            assert "wikidata" not in row
    by_key = {row["key"].value: row for row in rows}
    assert (int(by_key["ilham-aliyev"]["claims"].value), int(by_key["ilham-aliyev"]["quotations"].value)) == (6, 2)
    assert by_key["joe-biden"]["wikidata"].value == "http://www.wikidata.org/entity/Q6279"
    assert "donald-trump" not in by_key  # in the registry, but no article refers to him

    one = ask(seed_store, seed_build, "people", person="joe-biden").rows
    assert values(one, "name") == ["Joe Biden"]


# ---------------------------------------------------------------- timeline

def test_timeline(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    rows = ask(seed_store, seed_build, "timeline").rows
    assert values(rows, "date") == ["1992", "1993", "2001-09-11", "2002", "2026-01-05"]
    assert values(rows, "date") == sorted(e.date for e in article.events)
    events = sorted(article.events, key=lambda e: e.date)
    assert values(rows, "name") == [e.name for e in events]
    assert values(rows, "event") == [str(seed_build.assembled.iris.event(article.slug, e.key)) for e in events]
    assert set(values(rows, "article")) == {article_iri(seed_build, article.slug)}
    linked = [row for row in rows if "sameAs" in row]
    assert [(r["date"].value, r["sameAs"].value, r["sameAsName"].value, r["wikidata"].value) for r in linked] == [
        ("2001-09-11", entity_iri(seed_build, "september-11-attacks"), "September 11 attacks",
         "http://www.wikidata.org/entity/Q10806")]
    assert [r["date"].datatype.value.rsplit("#", 1)[1] for r in rows] == [
        "gYear", "gYear", "date", "gYear", "date"]


# ---------------------------------------------------------------- stances

def test_stances(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    (stance,) = article.stances
    rows = ask(seed_store, seed_build, "stances").rows
    assert len(rows) == len(stance.about) == 2
    assert set(values(rows, "position")) == {"supports"}
    assert set(values(rows, "proposition")) == {stance.proposition}
    assert values(rows, "topicName") == sorted(name_of(seed_build, k) for k in stance.about)
    assert "Section 907" in values(rows, "topicName")
    assert set(values(rows, "article")) == {article_iri(seed_build, article.slug)}
    on_907 = ask(seed_store, seed_build, "stances", topic="section-907").rows
    assert [(r["position"].value, r["topicName"].value) for r in on_907] == [("supports", "Section 907")]


# ---------------------------------------------------------------- claim-anchor

def test_claim_anchor_matches_the_article_body(seed_build: BuildResult, seed_store: ox.Store) -> None:
    text_path = DATA / "articles" / f"{SEED_SLUG}.txt"
    _, _, body = split_front_matter(read_text(text_path), text_path)
    article = seed_article(seed_build)
    for claim in article.claims:
        rows = ask(seed_store, seed_build, "claim-anchor", claim=claim_iri(seed_build, SEED_SLUG, claim.key)).rows
        assert len(rows) == 1, claim.key
        row = rows[0]
        start, end, exact = int(row["start"].value), int(row["end"].value), row["exact"].value
        assert body[start:end] == exact == claim.anchor.exact, claim.key
        assert row["article"].value == article_iri(seed_build, SEED_SLUG)
        prefix = row["prefix"].value if "prefix" in row else ""
        suffix = row["suffix"].value if "suffix" in row else ""
        assert len(prefix) <= 32 and len(suffix) <= 32
        assert body[:start].endswith(prefix) and body[end:].startswith(suffix), claim.key
    # one by hand
    row = ask(seed_store, seed_build, "claim-anchor",
              claim=claim_iri(seed_build, SEED_SLUG, "historical-injustice")).rows[0]
    assert row["exact"].value.startswith("In today’s geopolitical context, Section 907 stands out")


def test_claim_anchor_of_an_unknown_claim_or_a_bad_iri(seed_build: BuildResult, seed_store: ox.Store) -> None:
    unknown = claim_iri(seed_build, SEED_SLUG, "no-such-claim")
    assert ask(seed_store, seed_build, "claim-anchor", claim=unknown).rows == []
    with pytest.raises(QueryError, match="absolute http"):
        ask(seed_store, seed_build, "claim-anchor", claim="historical-injustice")


# ---------------------------------------------------------------- to-reconcile

def test_to_reconcile(seed_build: BuildResult, seed_store: ox.Store) -> None:
    registry = corpus(seed_build).entities
    rows = ask(seed_store, seed_build, "to-reconcile").rows
    expected = sorted(k for k, e in registry.items() if e.wikidata == "unreconciled")
    assert values(rows, "key") == expected
    keys = set(values(rows, "key"))
    assert "ilham-aliyev" in keys and "section-907" in keys
    assert "azerbaijan" not in keys and "joe-biden" not in keys
    mentioned = mentioned_keys(seed_article(seed_build)) | {seed_article(seed_build).author}
    for row in rows:
        entity = registry[row["key"].value]
        assert row["name"].value == entity.name
        assert row["type"].value == str(SCHEMA[entity.type])
        assert int(row["articles"].value) == (1 if entity.key in mentioned else 0)


def test_to_reconcile_leaves_out_entities_without_an_item(two_article_build: BuildResult,
                                                         two_article_store: ox.Store) -> None:
    keys = set(values(ask(two_article_store, two_article_build, "to-reconcile").rows, "key"))
    assert not keys & {"caspian-ledger", "kasim-thornvale", "odile-marchetti-rahm"}  # all no-item


# ---------------------------------------------------------------- dataset-statistics, graph-sizes

def published_dataset(result: BuildResult) -> Dataset:
    """The build's TriG dump, read back with rdflib (not with the store the queries run on)."""
    dataset = Dataset()
    dataset.parse(result.out_dir / "dataset.trig", format="trig")
    return dataset


# rdflib's own TriG parser trips its own deprecation warnings (Dataset.default_context)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("which", ["seed", "two"])
def test_dataset_statistics(which: str, request: pytest.FixtureRequest) -> None:
    result: BuildResult = request.getfixturevalue("seed_build" if which == "seed" else "two_article_build")
    store: ox.Store = request.getfixturevalue("seed_store" if which == "seed" else "two_article_store")
    rows = ask(store, result, "dataset-statistics").rows
    sizes = ask(store, result, "graph-sizes").rows
    per_graph = {r["graph"].value: int(r["triples"].value) for r in sizes}
    assert [(-int(r["triples"].value), r["graph"].value) for r in sizes] == sorted(
        (-size, graph) for graph, size in per_graph.items())
    totals = {r["statistic"].value: int(r["value"].value) for r in rows}
    assert len(totals) == len(rows) == 7
    dataset = published_dataset(result)
    counted = Counter(str(q[3]) for q in dataset.quads((None, None, None, None)))
    assert per_graph == dict(counted)
    assert totals["triples"] == sum(counted.values()) == result.quad_count
    # the metadata graph's VoID sizes (which leave out the metadata graph itself) agree
    metadata_iri = str(result.assembled.iris.metadata_graph)
    metadata = dataset.graph(URIRef(metadata_iri))
    assert int(metadata.value(URIRef(str(result.assembled.iris.dataset)), VOID.triples)) == (
        totals["triples"] - per_graph[metadata_iri])
    for graph_iri, size in per_graph.items():
        if graph_iri != metadata_iri:
            assert int(metadata.value(URIRef(graph_iri), VOID.triples)) == size, graph_iri
    articles = corpus(result).articles
    assert totals["articles"] == len(articles)
    assert totals["claims"] == sum(len(a.claims) for a in articles)
    assert totals["quotations"] == sum(len(a.quotations) for a in articles)
    assert totals["events"] == sum(len(a.events) for a in articles)
    assert totals["stances"] == sum(len(a.stances) for a in articles)
    assert totals["entities"] == len(corpus(result).entities)
    assert [r["statistic"].value for r in rows] == [
        "triples", "articles", "claims", "quotations", "events", "stances", "entities"]
    metadata_only = ask(store, result, "graph-sizes", graph=metadata_iri).rows
    assert [(r["graph"].value, int(r["triples"].value)) for r in metadata_only] == [
        (metadata_iri, per_graph[metadata_iri])]


# ---------------------------------------------------------------- checkable-claims

def test_checkable_claims(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    factual = sorted((c for c in article.claims if c.kind == "factual"), key=lambda c: c.anchor.start)
    rows = ask(seed_store, seed_build, "checkable-claims").rows
    assert values(rows, "claim") == [claim_iri(seed_build, article.slug, c.key) for c in factual]
    assert values(rows, "claimantName") == [claimant_name(seed_build, article, c.speaker) for c in factual]
    assert set(values(rows, "url")) == {article.url}
    summaries = {claim_iri(seed_build, article.slug, c.key): c.summary for c in factual if c.summary}
    assert {r["claim"].value: r["summary"].value for r in rows if "summary" in r} == summaries
    evaluative = {claim_iri(seed_build, article.slug, c.key) for c in article.claims if c.kind != "factual"}
    assert not evaluative & set(values(rows, "claim"))
    narrowed = ask(seed_store, seed_build, "checkable-claims", article=article_iri(seed_build, article.slug)).rows
    assert narrowed == rows
    other = article_iri(seed_build, "no-such-article")
    assert ask(seed_store, seed_build, "checkable-claims", article=other).rows == []


# ---------------------------------------------------------------- reported-speech

def test_reported_speech(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    reported = sorted((c for c in article.claims if c.speaker), key=lambda c: c.anchor.start)
    rows = ask(seed_store, seed_build, "reported-speech").rows
    assert len(rows) == len(reported) == 8
    assert values(rows, "claim") == [claim_iri(seed_build, article.slug, c.key) for c in reported]
    assert values(rows, "speakerName") == [claimant_name(seed_build, article, c.speaker) for c in reported]
    assert set(values(rows, "reporterName")) == {"Faig Mahmudov"}
    dated = [c for c in reported if c.event]
    assert len(values(rows, "date")) == len(dated)
    by_aliyev = ask(seed_store, seed_build, "reported-speech", speaker="ilham-aliyev").rows
    assert len(by_aliyev) == 6


# ---------------------------------------------------------------- outlets-on-topic

def test_outlets_on_topic(seed_build: BuildResult, seed_store: ox.Store) -> None:
    article = seed_article(seed_build)
    rows = ask(seed_store, seed_build, "outlets-on-topic", entity="section-907").rows
    assert len(rows) == 1
    row = rows[0]
    assert row["outletName"].value == "News.Az"
    assert int(row["claims"].value) == sum(1 for c in article.claims if "section-907" in c.about)
    assert row["position"].value == "supports"
    # Georgia is a topic of a claim, but of no stance
    (georgia,) = ask(seed_store, seed_build, "outlets-on-topic", entity="georgia").rows
    assert int(georgia["claims"].value) == 1 and "position" not in georgia


# ---------------------------------------------------------------- across two articles

def test_claims_about_azerbaijan_come_from_both_articles(two_article_build: BuildResult,
                                                         two_article_store: ox.Store) -> None:
    rows = ask(two_article_store, two_article_build, "claims-about-entity", entity="azerbaijan").rows
    by_article = Counter(values(rows, "article"))
    for article in corpus(two_article_build).articles:
        expected = sum(1 for item in (*article.claims, *article.quotations)
                       if "azerbaijan" in (*item.about, *item.mentions))
        assert expected > 0
        assert by_article[article_iri(two_article_build, article.slug)] == expected
    assert {"Faig Mahmudov", "Odile Marchetti-Rahm", "Kasim Thornvale"} <= set(values(rows, "claimantName"))


def test_stances_of_both_articles(two_article_build: BuildResult, two_article_store: ox.Store) -> None:
    rows = ask(two_article_store, two_article_build, "stances", topic="section-907").rows
    assert [(r["article"].value, r["position"].value) for r in rows] == [
        (article_iri(two_article_build, SEED_SLUG), "supports"),
        (article_iri(two_article_build, EXTRA_SLUG), "opposes"),
    ]
    every = ask(two_article_store, two_article_build, "stances").rows
    assert len(every) == sum(len(s.about) for a in corpus(two_article_build).articles for s in a.stances)
    outlets = ask(two_article_store, two_article_build, "outlets-on-topic", entity="section-907").rows
    assert [(r["outletName"].value, r["position"].value) for r in outlets] == [
        ("News.Az", "supports"), ("The Caspian Ledger", "opposes")]


def test_entities_across_two_articles(two_article_build: BuildResult, two_article_store: ox.Store) -> None:
    rows = ask(two_article_store, two_article_build, "entities").rows
    counts = {r["key"].value: int(r["articles"].value) for r in rows}
    assert counts["azerbaijan"] == 2
    assert counts["section-907"] == 2
    assert counts["ilham-aliyev"] == 1 and counts["kasim-thornvale"] == 1
    by_article = [mentioned_keys(a) for a in corpus(two_article_build).articles]
    assert counts == {k: sum(k in keys for keys in by_article) for k in set().union(*by_article)}
    assert values(rows, "articles") == sorted(values(rows, "articles"), key=int, reverse=True)
    timeline = ask(two_article_store, two_article_build, "timeline").rows
    assert values(timeline, "date")[-1] == "2026-01-28"
    only_extra = ask(two_article_store, two_article_build, "timeline",
                     article=article_iri(two_article_build, EXTRA_SLUG)).rows
    assert values(only_extra, "name") == ["The Caspian Ledger's roundtable on Section 907"]


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("name", ["claims-by-person", "claims-about-entity", "claim-anchor", "outlets-on-topic"])
def test_a_missing_required_parameter_is_an_error(name: str, seed_build: BuildResult, seed_store: ox.Store) -> None:
    with pytest.raises(QueryError, match="needs the parameter"):
        ask(seed_store, seed_build, name)


def test_an_unknown_parameter_is_an_error(seed_build: BuildResult, seed_store: ox.Store) -> None:
    with pytest.raises(QueryError, match="has no parameter 'who'"):
        ask(seed_store, seed_build, "quotations", who="ilham-aliyev")


class RecordingStore:
    """Stands in for the store to see exactly what run_query hands the engine."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.calls: list[tuple[str, dict]] = []

    def query(self, text: str, **kwargs: object) -> object:
        self.calls.append((text, dict(kwargs.get("substitutions") or {})))
        return self.store.query(text, **kwargs)


@pytest.mark.parametrize("name,param,value", [
    ("claims-by-person", "person", "ilham-aliyev> } ; DROP ALL #"),
    ("quotations", "speaker", 'ilham-aliyev" } UNION { ?s ?p ?o } #'),
    ("claims-about-entity", "entity", "https://claimgraph.example/entity/x> } ; DROP ALL #"),
    ("claim-anchor", "claim", "https://claimgraph.example/claim/a>\n} ; CLEAR ALL"),
    ("stances", "article", "<https://claimgraph.example/article/section-907-opinion>"),
])
def test_an_injection_attempt_is_rejected(name: str, param: str, value: str, seed_build: BuildResult,
                                          seed_store: ox.Store) -> None:
    before = len(seed_store)
    recorder = RecordingStore(seed_store)
    query = find_query(name)
    with pytest.raises(QueryError, match=f"parameter '{param}'"):
        run_query(recorder, query, bind_parameters(query, {param: value}, seed_build.assembled.iris.base))
    assert recorder.calls == []  # refused before anything reached the engine
    assert len(seed_store) == before


def test_parameters_are_substituted_never_pasted(seed_build: BuildResult, seed_store: ox.Store) -> None:
    recorder = RecordingStore(seed_store)
    query = find_query("claims-by-person")
    result = run_query(recorder, query, bind_parameters(query, {"person": "ilham-aliyev"},
                                                        seed_build.assembled.iris.base))
    ((text, substitutions),) = recorder.calls
    assert query.text == query.path.read_text(encoding="utf-8")
    assert "ilham-aliyev" not in query_body(query)
    # the value travels as one RDF term in a VALUES block written by pyoxigraph, the only
    # line added to the reviewed query file
    person = ox.NamedNode(entity_iri(seed_build, "ilham-aliyev"))
    added = [line for line in text.splitlines() if line not in query.text.splitlines()]
    assert added == [f"  VALUES (?person) {{ ({person}) }}"] or added == [f"  VALUES ?person {{ {person} }}"], added
    assert substitutions == {}
    assert len(result.rows) == 6


# ---------------------------------------------------------------- the CLI

def test_query_through_the_cli_as_csv(seed_build: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "quotations", "--out", str(seed_build.out_dir), "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    header, rows = table[0], table[1:]
    assert header == ["quotation", "speaker", "speakerName", "text", "date", "eventName", "article"]
    assert len(rows) == 2
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [r["speakerName"] for r in records] == ["Ilham Aliyev", "Ilham Aliyev"]
    assert records[0]["text"].startswith("The blockade argument")
    assert records[1]["text"].startswith("When the United States needed Azerbaijan")
    assert [r["date"] for r in records] == ["2026-01-05", "2026-01-05"]
    assert {r["article"] for r in records} == {article_iri(seed_build, SEED_SLUG)}

    code = main(["query", "quotations", "--out", str(seed_build.out_dir), "--format", "csv",
                 "--param", "speaker=faig-mahmudov"])
    out, _ = capsys.readouterr()
    assert code == 0 and out.strip().splitlines() == [",".join(header)]


def test_cli_refuses_an_injection_attempt(seed_build: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "claims-by-person", "--out", str(seed_build.out_dir),
                 "--param", "person=ilham-aliyev> } ; DROP ALL #"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert "parameter 'person'" in err
