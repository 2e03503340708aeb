"""The server as users' clients see it: content negotiation, pages, search, downloads."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time

import httpx
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF

from claimgraph.jsonld import offline_document_loader
from claimgraph.namespaces import SCHEMA
from conftest import EXTRA_SLUG, SEED_SLUG
from webserver import running_app

BASE = "https://claimgraph.example/"


@pytest.fixture(scope="module")
def server(two_article_build):
    with running_app(two_article_build.out_dir) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


# Accept headers as real clients send them, and what each should get for an article.
ACCEPT_TABLE = [
    # Firefox
    ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", 200, "text/html"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
     "application/signed-exchange;v=b3;q=0.7", 200, "text/html"),  # Chromium
    ("*/*", 200, "text/turtle"),  # curl
    (None, 200, "text/turtle"),  # no Accept at all
    ("text/turtle", 200, "text/turtle"),
    ("application/ld+json", 200, "application/ld+json"),
    ("application/json", 200, "application/ld+json"),
    ("application/n-triples", 200, "application/n-triples"),
    ("application/trig", 200, "application/trig"),
    ("application/n-quads", 200, "application/n-quads"),
    ("application/rdf+xml", 200, "application/rdf+xml"),
    # rdflib's URL input (Graph().parse(url))
    ("application/rdf+xml, text/rdf;q=0.9, application/xhtml+xml;q=0.3, text/html;q=0.2, */*;q=0.1",
     200, "application/rdf+xml"),
    ("text/turtle, application/x-turtle;q=0.9, */*;q=0.1", 200, "text/turtle"),
    # SPARQLWrapper-style CONSTRUCT Accept
    ("application/turtle,text/turtle", 200, "text/turtle"),
    ("application/ld+json;q=1.0, text/turtle;q=0.5", 200, "application/ld+json"),
    ("text/turtle;q=0.2, application/n-triples;q=0.9", 200, "application/n-triples"),
    ("text/*", 200, "text/turtle"),
    ("application/*", 200, "application/ld+json"),
    ("image/png", 406, "text/plain"),
    ("text/html;q=0, application/pdf", 406, "text/plain"),
]


@pytest.mark.parametrize(("accept", "status", "media_type"), ACCEPT_TABLE)
def test_content_negotiation_table(client, accept, status, media_type):
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get(f"article/{SEED_SLUG}", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].split(";")[0] == media_type
    if status == 200:
        assert "Accept" in response.headers["vary"]
        assert response.headers["content-location"].startswith(client.base_url.join(f"article/{SEED_SLUG}.").__str__())
        assert 'rel="alternate"' in response.headers["link"]


RDF_PARSERS = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml"}


@pytest.mark.parametrize("path", [f"article/{SEED_SLUG}", "entity/azerbaijan",
                                  f"claim/{SEED_SLUG}/historical-injustice",
                                  f"quotation/{SEED_SLUG}/blockade-argument", "graph/entities", "dataset",
                                  f"event/{SEED_SLUG}/aliyev-interview", f"stance/{SEED_SLUG}/repeal-section-907",
                                  f"party/{SEED_SLUG}/blockade-proponents", "ontology"])
def test_every_kind_of_resource_parses_in_every_format(client, server, path):
    graphs = []
    for media, parser in RDF_PARSERS.items():
        response = client.get(path, headers={"Accept": media})
        assert response.status_code == 200, (path, media)
        graphs.append(Graph().parse(data=response.content, format=parser))
    assert len(graphs[0]) > 0 and all(len(g) == len(graphs[0]) for g in graphs)
    response = client.get(path, headers={"Accept": "application/ld+json"})
    nquads = jsonld.to_rdf(response.json(), {"format": "application/n-quads",
                                            "documentLoader": offline_document_loader})
    assert len(set(nquads.strip().splitlines())) >= len(graphs[0])
    quads = Dataset()
    quads.parse(data=client.get(path, headers={"Accept": "application/trig"}).content, format="trig")
    assert len(quads) >= len(graphs[0])
    # served on a host other than the base IRI: every link points at the serving host
    subject = URIRef(server + path)
    assert (subject, None, None) in graphs[0] or (None, None, subject) in graphs[0]
    assert not any(str(t).startswith(BASE + "article") for triple in graphs[0] for t in triple)


def test_extension_and_format_parameter(client):
    ttl = client.get("entity/azerbaijan.ttl")
    assert ttl.status_code == 200 and ttl.headers["content-type"].startswith("text/turtle")
    jsonld_doc = client.get("entity/azerbaijan", params={"format": "jsonld"})
    assert jsonld_doc.headers["content-type"].startswith("application/ld+json")
    assert client.get("entity/azerbaijan", params={"format": "docx"}).status_code == 400
    assert client.get("entity/azerbaijan.html").headers["content-type"].startswith("text/html")


def test_unknown_iri_is_404_with_a_readable_body(client):
    response = client.get("entity/atlantis", headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert "not a resource of this dataset" in response.text


def test_entity_description_has_backlinks_across_articles(client, server):
    g = Graph().parse(data=client.get("entity/azerbaijan.ttl").content, format="turtle")
    azerbaijan = URIRef(server + "entity/azerbaijan")
    about = set(g.subjects(SCHEMA.about, azerbaijan))
    assert any(f"/{SEED_SLUG}/" in str(s) for s in about)
    assert any(f"/{EXTRA_SLUG}/" in str(s) for s in about)
    assert (azerbaijan, SCHEMA.sameAs, URIRef("http://www.wikidata.org/entity/Q227")) in g


def test_article_page_embeds_article_structured_data(client, server):
    page = client.get(f"article/{EXTRA_SLUG}", headers={"Accept": "text/html"}).text
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["@context"] == "https://schema.org"
    assert data["type"] == "OpinionNewsArticle"
    assert data["headline"] and data["datePublished"]
    assert data["author"]["type"] == "Person" and data["author"]["name"] and data["author"]["url"]
    assert data["publisher"]["name"]
    expanded = jsonld.expand(data, {"documentLoader": offline_document_loader})
    assert expanded[0]["@type"] == ["http://schema.org/OpinionNewsArticle"]


def test_article_page_highlights_when_the_body_is_published(client):
    page = client.get(f"article/{EXTRA_SLUG}", headers={"Accept": "text/html"}).text
    assert '<section class="body"' in page and '<mark class="quotation"' in page
    seed = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/html"}).text
    assert '<section class="body"' not in seed  # the seed's body is withheld
    assert "The blockade argument formulated in the U.S. Congress" in seed
    assert "characters" in seed


def test_entity_page_lists_claims_and_wikidata(client):
    page = client.get("entity/azerbaijan", headers={"Accept": "text/html"}).text
    assert "http://www.wikidata.org/entity/Q227" in page
    assert "In the articles" in page and "Caspian" in page


def test_home_page_and_json_mirror(client, two_article_build):
    page = client.get("", headers={"Accept": "text/html"}).text
    assert "Latest articles" in page and "Repealing Section 907" in page
    data = client.get("", headers={"Accept": "application/json"}).json()
    assert data["figures"]["articles"] == 2
    assert data["figures"]["claims"] == sum(len(a.claims) for a in two_article_build.assembled.corpus.articles)


def test_article_list_filters(client, server):
    everything = client.get("article/", params={"format": "json"}).json()
    assert everything["count"] == 2
    by_outlet = client.get("article/", params={"format": "json", "outlet": server + "entity/news-az"}).json()
    assert [a["headline"][:9] for a in by_outlet["articles"]] == ["Repealing"]
    by_date = client.get("article/", params={"format": "json", "from": "2026-02-01"}).json()
    assert by_date["count"] == 1 and EXTRA_SLUG in by_date["articles"][0]["iri"]
    by_entity = client.get("article/", params={"format": "json", "entity": "entity/lachin"}).json()
    assert by_entity["count"] == 0  # not an IRI: filters take the entity's IRI
    lachin = client.get("article/", params={"format": "json", "entity": server + "entity/lachin"}).json()
    assert lachin["count"] == 1
    assert "<form" in client.get("article/", headers={"Accept": "text/html"}).text


def test_search_html_and_json(client):
    results = client.get("search", params={"q": "blockade", "format": "json"}).json()["results"]
    assert results and all("blockade" in r["snippet"].lower() for r in results[:3])
    kinds = {r["kind"] for r in results}
    assert {"claim", "quotation"} <= kinds
    names = client.get("search", params={"q": "Azerbaijan", "format": "json"}).json()["results"]
    assert names[0]["iri"].endswith("entity/azerbaijan")
    page = client.get("search", params={"q": '"blockade* (\\'}).text
    assert "<mark>" in page
    assert client.get("search", params={"q": "", "format": "json"}).json()["results"] == []


def test_downloads_void_sitemap_health(client, two_article_build):
    listing = client.get("download/", params={"format": "json"}).json()["downloads"]
    assert {d["mediaType"] for d in listing} >= {"text/turtle", "application/ld+json", "application/trig"}
    ttl = client.get("download/dataset.ttl")
    assert ttl.status_code == 200 and ttl.content == (two_article_build.out_dir / "dataset.ttl").read_bytes()
    assert client.get("download/..%2Fbuild.json").status_code == 404
    assert client.get("download/store").status_code == 404
    void = Graph().parse(data=client.get(".well-known/void", headers={"Accept": "text/turtle"}).content)
    assert (None, RDF.type, URIRef("http://rdfs.org/ns/void#Dataset")) in void
    assert f"article/{SEED_SLUG}" in client.get("sitemap.xml").text
    assert client.get("healthz").json()["status"] == "ok"


def test_named_query_pages(client, two_article_build):
    listing = client.get("queries/", params={"format": "json"}).json()["queries"]
    assert "quotations" in {q["name"] for q in listing}
    page = client.get("queries/quotations").text
    assert "The blockade argument formulated" in page and "permalink" in page
    data = client.get("queries/quotations", params={"format": "json"})
    assert data.status_code == 200
    rows = data.json()["results"]["bindings"]
    assert len(rows) == sum(len(a.quotations) for a in two_article_build.assembled.corpus.articles) == 4
    permalink = re.search(r'<a href="([^"]+)" rel="bookmark">', page).group(1)
    assert "v=" in permalink
    table = list(csv.reader(io.StringIO(client.get("queries/claims-by-person",
                                                   params={"person": "ilham-aliyev", "format": "csv"}).text)))
    assert len(table) > 4
    assert client.get("queries/claims-by-person", params={"person": "x> } DROP ALL #"}).status_code == 400
    assert client.get("queries/no-such-query").status_code == 404
    stale = client.get("queries/quotations", params={"v": "000000000000"}).text
    assert "may differ" in stale


def test_static_site_works_from_a_plain_file_server(two_article_build):
    site = two_article_build.out_dir / "site"
    with subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                           str(site)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            line = proc.stdout.readline()
            port = int(re.search(r"port (\d+)", line).group(1))
            url = f"http://127.0.0.1:{port}/"
            for _ in range(50):
                try:
                    home = httpx.get(url + "index.html")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert home.status_code == 200
            article_link = re.search(r'href="(article/(?!index)[^"]+\.html)"', home.text).group(1)
            article = httpx.get(url + article_link)
            assert article.status_code == 200 and "application/ld+json" in article.text
            for href in set(re.findall(r'href="([^"#:]+)"', article.text)):
                target = httpx.get(httpx.URL(url + article_link).join(href))
                assert target.status_code == 200, href
            ttl = httpx.get(url + f"article/{SEED_SLUG}.ttl")
            assert len(Graph().parse(data=ttl.content, format="turtle")) > 100
        finally:
            proc.terminate()
