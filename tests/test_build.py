"""The seed builds, and its graph says what the article says: acceptance of the foundation."""

from __future__ import annotations

import re
import subprocess
import sys

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from claimgraph.build import build
from claimgraph.cli import main
from claimgraph.namespaces import CG, OA, SCHEMA, VOID
from claimgraph.sources import load_corpus, split_front_matter
from conftest import DATA, EXTRA_SLUG, ROOT, SEED_SLUG, copy_data

WIKIDATA_CONCEPT = re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$")


def merged(result) -> Graph:
    g = Graph()
    g.parse(result.out_dir / "dataset.ttl", format="turtle")
    return g


def seed_body() -> str:
    path = DATA / "articles" / f"{SEED_SLUG}.txt"
    return split_front_matter(path.read_text(encoding="utf-8"), path)[2]


def test_cli_build_exit_code_and_outputs(tmp_path, capsys):
    out = tmp_path / "dist"
    assert main(["build", "--data", str(DATA), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "built 1 article(s)" in printed
    for name in ("dataset.trig", "dataset.nq", "dataset.ttl", "dataset.nt", "dataset.jsonld",
                 "validation.ttl", "ontology.html", "build.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "store").is_dir()
    report = Graph().parse(out / "validation.ttl")
    assert (None, URIRef("http://www.w3.org/ns/shacl#conforms"), Literal(True)) in report


def test_python_dash_m_and_console_script_work(tmp_path):
    for command in ([sys.executable, "-m", "claimgraph", "--version"],
                    [str(ROOT / ".venv" / "bin" / "claimgraph"), "--version"]
                    if (ROOT / ".venv" / "bin" / "claimgraph").exists() else
                    [sys.executable, "-m", "claimgraph", "--version"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("claimgraph ")


def test_exactly_one_opinion_article_with_its_metadata(seed_build):
    g = merged(seed_build)
    articles = list(g.subjects(RDF.type, SCHEMA.OpinionNewsArticle))
    assert len(articles) == 1
    article = articles[0]
    assert str(g.value(article, SCHEMA.headline)) == (
        "Repealing Section 907 is essential to restoring fairness in US-Azerbaijan relations")
    assert g.value(article, SCHEMA.datePublished) == Literal("2026-01-08", datatype=XSD.date)
    author = g.value(article, SCHEMA.author)
    assert str(g.value(author, SCHEMA.name)) == "Faig Mahmudov"
    assert (author, RDF.type, SCHEMA.Person) in g
    publisher = g.value(article, SCHEMA.publisher)
    assert str(g.value(publisher, SCHEMA.name)) == "News.Az"
    assert g.value(article, SCHEMA.url) == URIRef(
        "https://news.az/news/-repealing-section-907-is-essential-to-restoring-fairness-in-us-azerbaijan-relations")
    assert str(g.value(article, SCHEMA.inLanguage)) == "en"
    # the body is withheld for the seed (rights.body: withhold): only excerpts are published
    assert g.value(article, SCHEMA.articleBody) is None


def test_both_aliyev_quotations_are_quotations_by_his_entity(seed_build):
    g = merged(seed_build)
    aliyev = URIRef(seed_build.assembled.iris.entity("ilham-aliyev"))
    quotations = sorted(str(g.value(q, SCHEMA.text)) for q in g.subjects(RDF.type, SCHEMA.Quotation))
    assert len(quotations) == 2
    assert quotations[0].startswith("The blockade argument formulated in the U.S. Congress")
    assert quotations[1].startswith("When the United States needed Azerbaijan, Section 907 was set aside")
    for q in g.subjects(RDF.type, SCHEMA.Quotation):
        assert g.value(q, SCHEMA.creator) == aliyev
        assert "“" not in str(g.value(q, SCHEMA.text))


def test_every_anchor_matches_the_body_at_its_offsets(seed_build):
    body = seed_body()
    g = merged(seed_build)
    anchored = list(g.subjects(RDF.type, SCHEMA.Claim)) + list(g.subjects(RDF.type, SCHEMA.Quotation))
    assert len(anchored) > 40
    for node in anchored:
        anchor = g.value(node, CG.anchor)
        selectors = list(g.objects(anchor, OA.hasSelector))
        quote = next(s for s in selectors if (s, RDF.type, OA.TextQuoteSelector) in g)
        position = next(s for s in selectors if (s, RDF.type, OA.TextPositionSelector) in g)
        start, end = int(g.value(position, OA.start)), int(g.value(position, OA.end))
        exact = str(g.value(quote, OA.exact))
        assert body[start:end] == exact == str(g.value(node, SCHEMA.text)), node
        assert body[:start].endswith(str(g.value(quote, OA.prefix) or ""))
        assert body[end:].startswith(str(g.value(quote, OA.suffix) or ""))


def test_reported_speech_and_scare_quotes_are_attributed_correctly(seed_build):
    g = merged(seed_build)
    iris = seed_build.assembled.iris
    aliyev, author = iris.entity("ilham-aliyev"), iris.entity("faig-mahmudov")
    reported = [c for c in g.subjects(SCHEMA.author, aliyev) if (c, RDF.type, SCHEMA.Claim) in g]
    assert len(reported) >= 4
    for claim in reported:
        assert g.value(claim, SCHEMA.claimInterpreter) == author
    for phrase in ("Armenia being blockaded", "blockade claim"):
        claim = next(c for c in g.subjects(SCHEMA.text, Literal(phrase, lang="en")))
        speaker = g.value(claim, SCHEMA.author)
        assert speaker not in (aliyev, author)
        assert (speaker, RDF.type, CG.UnnamedParty) in g
        assert g.value(speaker, SCHEMA.sameAs) is None


def test_every_claim_has_a_kind_and_most_are_the_authors(seed_build):
    g = merged(seed_build)
    claims = list(g.subjects(RDF.type, SCHEMA.Claim))
    kinds = {g.value(c, CG.statementKind) for c in claims}
    assert kinds <= {CG.Factual, CG.Evaluative, CG.Predictive, CG.Normative}
    assert {CG.Factual, CG.Evaluative, CG.Predictive, CG.Normative} <= kinds
    own = [c for c in claims if g.value(c, SCHEMA.author) == seed_build.assembled.iris.entity("faig-mahmudov")]
    assert len(own) >= 30


def test_stance_and_events(seed_build):
    g = merged(seed_build)
    stance = next(g.subjects(RDF.type, CG.Stance))
    assert g.value(stance, CG.position) == CG.Supports
    assert seed_build.assembled.iris.entity("section-907") in set(g.objects(stance, CG.topic))
    dates = sorted(str(d) for d in g.objects(None, SCHEMA.startDate))
    assert dates == ["1992", "1993", "2001-09-11", "2002", "2026-01-05"]


def test_entities_are_linked_or_say_why_not(seed_build):
    g = merged(seed_build)
    corpus = seed_build.assembled.corpus
    assert len(corpus.entities) > 25
    cache = Graph().parse(DATA / "wikidata" / "entities.ttl")
    cached_items = {str(s) for s in cache.subjects()}
    for entity in corpus.entities.values():
        node = seed_build.assembled.iris.entity(entity.key)
        links = [str(o) for o in g.objects(node, SCHEMA.sameAs)]
        status = g.value(node, CG.wikidataStatus)
        if entity.wikidata_id:
            assert status == CG.Linked and len(links) == 1
            assert WIKIDATA_CONCEPT.match(links[0])
            assert links[0] in cached_items, f"{entity.key}: {links[0]} is not in the checked cache"
        else:
            assert status in (CG.NoItem, CG.NotYetReconciled) and not links
    for item in g.objects(None, SCHEMA.sameAs):
        if "wikidata" in str(item):
            assert WIKIDATA_CONCEPT.match(str(item))
    assert g.value(seed_build.assembled.iris.entity("azerbaijan"), SCHEMA.sameAs) == URIRef(
        "http://www.wikidata.org/entity/Q227")
    for law in ("section-907", "freedom-support-act"):
        assert (seed_build.assembled.iris.entity(law), RDF.type, SCHEMA.Legislation) in g


def test_one_named_graph_per_article_and_shared_graphs(two_article_build):
    ds = Dataset()
    ds.parse(two_article_build.out_dir / "dataset.trig", format="trig")
    iris = two_article_build.assembled.iris
    names = {str(g.identifier) for g in ds.graphs()}
    for expected in (iris.article_graph(SEED_SLUG), iris.article_graph(EXTRA_SLUG), iris.entities_graph,
                     iris.ontology_graph, iris.metadata_graph):
        assert str(expected) in names
    seed_graph = ds.graph(iris.article_graph(SEED_SLUG))
    assert (iris.article(SEED_SLUG), RDF.type, SCHEMA.OpinionNewsArticle) in seed_graph
    assert (iris.article(EXTRA_SLUG), None, None) not in seed_graph
    # one IRI for Azerbaijan, mentioned by both articles
    azerbaijan = iris.entity("azerbaijan")
    for slug in (SEED_SLUG, EXTRA_SLUG):
        assert (iris.article(slug), SCHEMA.mentions, azerbaijan) in ds.graph(iris.article_graph(slug))
    assert len(list(ds.graph(iris.entities_graph).triples((azerbaijan, RDF.type, None)))) == 1


def test_article_graphs_assert_no_facts_about_entities(two_article_build):
    iris = two_article_build.assembled.iris
    for mapped in two_article_build.assembled.graphs:
        if not str(mapped.iri).startswith(iris.base + "graph/article/"):
            continue
        for subject in set(mapped.graph.subjects()):
            assert not str(subject).startswith(iris.base + "entity/"), subject


def test_metadata_describes_the_dataset(seed_build):
    g = merged(seed_build)
    iris = seed_build.assembled.iris
    ds = iris.dataset
    assert (ds, RDF.type, VOID.Dataset) in g
    assert (ds, RDF.type, URIRef("http://www.w3.org/ns/dcat#Dataset")) in g
    assert g.value(ds, URIRef("http://purl.org/dc/terms/license")) is not None
    assert g.value(ds, URIRef("http://purl.org/dc/terms/created")) == Literal("2026-11-26", datatype=XSD.date)
    total = int(g.value(ds, VOID.triples))
    sizes = {str(m.iri): len(m.graph) for m in seed_build.assembled.graphs}
    assert total == sum(v for k, v in sizes.items() if k != str(iris.metadata_graph))
    for mapped in seed_build.assembled.graphs:
        if mapped.iri != iris.metadata_graph:
            assert int(g.value(mapped.iri, VOID.triples)) == len(mapped.graph)
    distributions = set(g.objects(ds, URIRef("http://www.w3.org/ns/dcat#distribution")))
    assert {str(d).rsplit("/", 1)[1] for d in distributions} == {
        "dataset.trig", "dataset.nq", "dataset.ttl", "dataset.nt", "dataset.jsonld"}
    # provenance: the build used the article's source files, identified by content hash
    build_activity = g.value(ds, URIRef("http://www.w3.org/ns/prov#wasGeneratedBy"))
    used = {str(u) for u in g.objects(build_activity, URIRef("http://www.w3.org/ns/prov#used"))}
    assert iris.source(f"articles/{SEED_SLUG}.txt") in {URIRef(u) for u in used}
    assert g.value(build_activity, URIRef("http://www.w3.org/ns/prov#wasAssociatedWith")) is not None


def test_base_iri_is_configurable(tmp_path):
    result = build(DATA, tmp_path / "dist", base_iri="http://data.example.org/cg/")
    g = merged(result)
    assert (URIRef("http://data.example.org/cg/article/section-907-opinion"), RDF.type,
            SCHEMA.OpinionNewsArticle) in g
    assert not any("claimgraph.example/article" in str(s) for s in g.subjects())


def test_second_article_builds_with_body_published(two_article_build):
    corpus = two_article_build.assembled.corpus
    assert [a.slug for a in corpus.articles] == [EXTRA_SLUG, SEED_SLUG]
    g = merged(two_article_build)
    extra = two_article_build.assembled.iris.article(EXTRA_SLUG)
    body = g.value(extra, SCHEMA.articleBody)
    assert body is not None and str(body) == next(a for a in corpus.articles if a.slug == EXTRA_SLUG).body


def test_loading_does_not_need_shared(tmp_path):
    # the project carries its own copies of everything it reads
    data = copy_data(tmp_path / "data")
    corpus = load_corpus(data)
    assert corpus.articles[0].slug == SEED_SLUG
    for path in ROOT.joinpath("src").rglob("*.py"):
        assert "shared/" not in path.read_text(encoding="utf-8"), path
