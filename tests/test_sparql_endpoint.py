"""The SPARQL 1.1 Protocol endpoint, over the real server (uvicorn on a loopback port) and the
seed build, driven by real clients: SPARQLWrapper and httpx, every answer parsed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from xml.dom.minidom import Document

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from pyld import jsonld
from rdflib.query import Result
from SPARQLWrapper import JSON, POST, TURTLE, XML, SPARQLWrapper

from claimgraph.build import BuildResult
from claimgraph.web import query_worker
from claimgraph.web.engine import (
    EngineBusy,
    EngineUnavailable,
    LocalEngine,
    QueryEngine,
    QueryTimeout,
    SparqlRequest,
    SparqlResponse,
    WorkerCrashed,
)
from claimgraph.web.protocol import (
    CSV,
    SPARQL_JSON,
    SPARQL_XML,
    TSV,
)
from claimgraph.web.query_worker import (
    execute,
)
from claimgraph.web.settings import ServeSettings
from claimgraph.web.sparql import ERROR_HEADER, TRUNCATED_HEADER, sparql_app
from servers import ServerThread, serve

SCHEMA = "http://schema.org/"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
PEOPLE = f"""PREFIX schema: <{SCHEMA}>
SELECT ?person ?name WHERE {{ ?person a schema:Person ; schema:name ?name }} ORDER BY ?name"""
PEOPLE_GRAPH = f"""PREFIX schema: <{SCHEMA}>
CONSTRUCT {{ ?person a schema:Person ; schema:name ?name }} WHERE {{ ?person a schema:Person ; schema:name ?name }}"""
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
FORM = "application/x-www-form-urlencoded"


def settings_for(build: BuildResult, url: str, **overrides) -> ServeSettings:
    return ServeSettings(out_dir=build.out_dir, base_iri=build.assembled.iris.base, base_url=url, **overrides)


@pytest.fixture(scope="module")
def server(seed_build: BuildResult) -> Iterator[ServerThread]:
    with serve(lambda url: sparql_app(settings_for(seed_build, url))) as running:
        yield running


@pytest.fixture(scope="module")
def endpoint(server: ServerThread) -> str:
    return server.url + "sparql"


@pytest.fixture()
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def settings(server: ServerThread, seed_build: BuildResult) -> ServeSettings:
    return settings_for(seed_build, server.url)


@pytest.fixture(scope="module")
def expected_people(seed_store: ox.Store, settings: ServeSettings) -> list[tuple[str, str]]:
    rows = seed_store.query(PEOPLE, use_default_graph_as_union=True)
    return [(settings.to_public(r["person"].value), r["name"].value) for r in rows]


@pytest.fixture(scope="module")
def expected_graph(seed_store: ox.Store, settings: ServeSettings) -> rdflib.Graph:
    graph = rdflib.Graph()
    for row in seed_store.query(PEOPLE, use_default_graph_as_union=True):
        person = rdflib.URIRef(settings.to_public(row["person"].value))
        graph.add((person, rdflib.RDF.type, rdflib.URIRef(SCHEMA + "Person")))
        graph.add((person, rdflib.URIRef(SCHEMA + "name"), rdflib.Literal(row["name"].value,
                                                                          lang=row["name"].language)))
    assert len(graph) > 10
    return graph


def select_rows(response: httpx.Response) -> list[tuple[str, str]]:
    data = response.json()
    return [(b["person"]["value"], b["name"]["value"]) for b in data["results"]["bindings"]]


# --- SPARQLWrapper ---------------------------------------------------------------------------


def test_sparqlwrapper_select_json(endpoint, expected_people, server):
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(PEOPLE)
    sparql.setReturnFormat(JSON)
    result = sparql.query().convert()
    rows = [(b["person"]["value"], b["name"]["value"]) for b in result["results"]["bindings"]]
    assert rows == expected_people
    assert len(rows) >= 5
    assert all(iri.startswith(server.url + "entity/") for iri, _ in rows)  # links resolve on this host


def test_sparqlwrapper_select_xml(endpoint, expected_people):
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(PEOPLE)
    sparql.setReturnFormat(XML)
    document = sparql.query().convert()
    assert isinstance(document, Document)
    rows = []
    for result in document.getElementsByTagName("result"):
        values = {b.getAttribute("name"): b.firstChild.firstChild.data for b in result.getElementsByTagName("binding")}
        rows.append((values["person"], values["name"]))
    assert rows == expected_people


def test_sparqlwrapper_construct_turtle(endpoint, expected_graph):
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(PEOPLE_GRAPH)
    sparql.setReturnFormat(TURTLE)
    body = sparql.query().convert()
    graph = rdflib.Graph().parse(data=body, format="turtle")
    assert set(graph) == set(expected_graph)


def test_sparqlwrapper_post(endpoint, expected_people):
    sparql = SPARQLWrapper(endpoint)
    sparql.setMethod(POST)
    sparql.setQuery(PEOPLE)
    sparql.setReturnFormat(JSON)
    rows = [(b["person"]["value"], b["name"]["value"]) for b in sparql.query().convert()["results"]["bindings"]]
    assert rows == expected_people


# --- the three ways to send a query ----------------------------------------------------------


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct"])
def test_query_by_get_and_both_posts(client, endpoint, expected_people, how):
    if how == "get":
        response = client.get(endpoint, params={"query": PEOPLE})
    elif how == "post-form":
        response = client.post(endpoint, data={"query": PEOPLE})
    else:
        response = client.post(endpoint, content=PEOPLE.encode(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == SPARQL_JSON
    assert response.headers["vary"] == "Accept"
    assert select_rows(response) == expected_people
    assert TRUNCATED_HEADER.lower() not in response.headers
    assert "truncated" not in response.json()


def test_head_request(client, endpoint):
    response = client.head(endpoint, params={"query": "ASK {}"})
    assert response.status_code == 200
    assert response.content == b""


# --- every result format, parsed -------------------------------------------------------------


@pytest.mark.parametrize(("accept", "media_type", "rdflib_format"), [
    (SPARQL_JSON, SPARQL_JSON, "json"),
    (SPARQL_XML, SPARQL_XML, "xml"),
    (CSV, "text/csv; charset=utf-8", "csv"),
    (TSV, "text/tab-separated-values; charset=utf-8", "tsv"),
])
def test_select_in_every_results_format(client, endpoint, expected_people, accept, media_type, rdflib_format):
    response = client.get(endpoint, params={"query": PEOPLE}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    result = Result.parse(io.BytesIO(response.content), format=rdflib_format)
    assert [(str(row[0]), str(row[1])) for row in result] == expected_people
    if rdflib_format == "csv":
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["person", "name"] and len(rows) == len(expected_people) + 1


@pytest.mark.parametrize(("fmt", "check"), [
    ("json", lambda r: r.json() == {"head": {}, "boolean": True}),
    ("xml", lambda r: Result.parse(io.BytesIO(r.content), format="xml").askAnswer is True),
    ("csv", lambda r: r.text.strip() == "true"),
    ("tsv", lambda r: r.text.strip() == "true"),
])
def test_ask_in_every_results_format(client, endpoint, fmt, check):
    query = f"ASK {{ ?s a <{SCHEMA}Quotation> }}"
    response = client.get(endpoint, params={"query": query, "format": fmt})
    assert response.status_code == 200
    assert check(response)


@pytest.mark.parametrize(("accept", "media_type", "rdflib_format"), [
    ("text/turtle", "text/turtle; charset=utf-8", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/trig", "application/trig", "trig"),
    ("application/n-quads", "application/n-quads", "nquads"),
])
def test_construct_in_every_rdf_format(client, endpoint, expected_graph, accept, media_type, rdflib_format):
    response = client.post(endpoint, data={"query": PEOPLE_GRAPH}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    if rdflib_format in ("trig", "nquads"):
        dataset = rdflib.Dataset()
        dataset.parse(data=response.content, format=rdflib_format)
        triples = {(s, p, o) for s, p, o, _ in dataset.quads()}
    else:
        triples = set(rdflib.Graph().parse(data=response.content, format=rdflib_format))
    assert triples == set(expected_graph)
    if rdflib_format == "json-ld":
        expanded = jsonld.expand(response.json())
        assert {node["@id"] for node in expanded} == {str(s) for s in expected_graph.subjects()}


def test_describe(client, endpoint, settings):
    iri = settings.to_public(settings.base_iri + "entity/ilham-aliyev")
    response = client.get(endpoint, params={"query": f"DESCRIBE <{iri}>"}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    assert (rdflib.URIRef(iri), rdflib.URIRef(SCHEMA + "name"), rdflib.Literal("Ilham Aliyev", lang="en")) in graph


# --- content negotiation ---------------------------------------------------------------------

SELECT = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
CONSTRUCT = "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(("query", "accept", "status", "media_type"), [
    (SELECT, None, 200, SPARQL_JSON),  # no Accept at all
    (SELECT, "*/*", 200, SPARQL_JSON),  # curl
    (SELECT, "application/sparql-results+json,application/json,text/javascript,application/javascript",
     200, SPARQL_JSON),  # SPARQLWrapper, JSON
    (SELECT, "application/sparql-results+xml", 200, SPARQL_XML),  # SPARQLWrapper, XML
    (SELECT, "application/sparql-results+xml, application/rdf+xml, */*", 200, SPARQL_XML),  # SPARQLWrapper default
    (SELECT, "application/json", 200, SPARQL_JSON),
    (SELECT, "application/xml", 200, SPARQL_XML),
    (SELECT, "text/csv", 200, "text/csv; charset=utf-8"),
    (SELECT, "text/tab-separated-values", 200, "text/tab-separated-values; charset=utf-8"),
    (SELECT, "text/*", 200, "text/csv; charset=utf-8"),
    (SELECT, "text/csv;q=0.5, application/sparql-results+xml;q=0.9", 200, SPARQL_XML),
    (SELECT, "application/sparql-results+json;q=0, */*;q=0.1", 200, SPARQL_XML),
    (SELECT, BROWSER, 200, SPARQL_JSON),  # a browser gets JSON
    (SELECT, "image/png", 406, None),
    (CONSTRUCT, None, 200, "text/turtle; charset=utf-8"),
    (CONSTRUCT, "*/*", 200, "text/turtle; charset=utf-8"),
    (CONSTRUCT, "application/turtle,text/turtle", 200, "text/turtle; charset=utf-8"),  # SPARQLWrapper
    (CONSTRUCT, "application/rdf+xml", 200, "application/rdf+xml"),
    (CONSTRUCT, "application/rdf+xml, */*;q=0.1", 200, "application/rdf+xml"),
    (CONSTRUCT, "application/rdf+xml, */*", 200, "application/rdf+xml"),  # the named type beats the wildcard
    (CONSTRUCT, "application/ld+json", 200, "application/ld+json"),
    (CONSTRUCT, "application/json", 200, "application/ld+json"),
    (CONSTRUCT, "application/n-triples", 200, "application/n-triples"),
    (CONSTRUCT, "text/plain", 200, "application/n-triples"),
    (CONSTRUCT, "application/trig;q=0.9, application/n-quads", 200, "application/n-quads"),
    (CONSTRUCT, "text/turtle;q=0.2, application/ld+json;q=0.8", 200, "application/ld+json"),
    (CONSTRUCT, "text/csv", 406, None),
])
def test_accept_negotiation(client, endpoint, query, accept, status, media_type):
    headers = {"Accept": accept} if accept is not None else {}
    request = client.build_request("GET", endpoint, params={"query": query}, headers=headers)
    if accept is None:
        del request.headers["Accept"]
    response = client.send(request)
    assert response.status_code == status, response.text
    if media_type:
        assert response.headers["content-type"] == media_type
    else:
        assert "available" in response.text


@pytest.mark.parametrize(("query", "fmt", "media_type"), [
    (SELECT, "json", SPARQL_JSON), (SELECT, "xml", SPARQL_XML), (SELECT, "csv", "text/csv; charset=utf-8"),
    (SELECT, "tsv", "text/tab-separated-values; charset=utf-8"), (SELECT, "text/csv", "text/csv; charset=utf-8"),
    (CONSTRUCT, "ttl", "text/turtle; charset=utf-8"), (CONSTRUCT, "jsonld", "application/ld+json"),
    (CONSTRUCT, "nt", "application/n-triples"), (CONSTRUCT, "json", "application/ld+json"),
    (CONSTRUCT, "xml", "application/rdf+xml"), (CONSTRUCT, "trig", "application/trig"),
    (CONSTRUCT, "nq", "application/n-quads"),
])
def test_format_parameter_wins_over_accept(client, endpoint, query, fmt, media_type):
    response = client.get(endpoint, params={"query": query, "format": fmt}, headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type


def test_format_parameter_errors(client, endpoint):
    assert client.get(endpoint, params={"query": SELECT, "format": "yaml"}).status_code == 400
    assert client.get(endpoint, params={"query": CONSTRUCT, "format": "csv"}).status_code == 406


# --- errors ----------------------------------------------------------------------------------


def test_malformed_query_gets_400_with_the_parsers_message(client, endpoint):
    response = client.get(endpoint, params={"query": "SELECT ?s WHERE { ?s ?p "})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers[ERROR_HEADER] == "syntax"
    assert "does not parse" in response.text and "error at 1:" in response.text


UPDATES = [
    ("GET", {"update": "CLEAR ALL"}, None, None),
    ("POST", None, {"update": "DROP ALL"}, None),
    ("POST", None, None, ("application/sparql-update", "CLEAR ALL")),
    ("GET", {"query": "INSERT DATA { <http://example.org/s> <http://example.org/p> 1 }"}, None, None),
    ("POST", None, {"query": "PREFIX ex: <http://example.org/>\n# a comment\nDELETE WHERE { ?s ?p ?o }"}, None),
    ("POST", None, None, ("application/sparql-query", "LOAD <http://example.org/data.ttl>")),
    ("POST", None, None, ("application/sparql-query", "with <http://example.org/g> delete { ?s ?p ?o } "
                                                      "where { ?s ?p ?o }")),
    ("GET", {"query": "BASE <http://example.org/> CLEAR GRAPH <g>"}, None, None),
]


@pytest.mark.parametrize(("method", "params", "form", "direct"), UPDATES)
def test_updates_are_refused_and_change_nothing(client, endpoint, method, params, form, direct):
    def count() -> int:
        response = client.get(endpoint, params={"query": COUNT_QUADS})
        return int(response.json()["results"]["bindings"][0]["n"]["value"])

    before = count()
    if direct:
        response = client.request(method, endpoint, content=direct[1].encode(), headers={"Content-Type": direct[0]})
    else:
        response = client.request(method, endpoint, params=params, data=form)
    assert response.status_code == 403, response.text
    assert "read-only" in response.text
    assert count() == before


PROTOCOL_ERRORS = [
    ("two queries", "GET", "query=ASK%20%7B%7D&query=SELECT%20*%20%7B%7D", None, None, 400),
    ("query and update", "GET", "query=ASK%20%7B%7D&update=CLEAR%20ALL", None, None, 400),
    ("two updates", "POST", "", FORM, b"update=CLEAR%20ALL&update=CLEAR%20DEFAULT", 400),
    ("dataset without query", "GET", "default-graph-uri=http%3A%2F%2Fexample.org%2Fg", None, None, 400),
    ("post without query", "POST", "", FORM, b"default-graph-uri=http%3A%2F%2Fexample.org%2Fg", 400),
    ("query in url and body", "POST", "query=ASK%20%7B%7D", "application/sparql-query", b"ASK {}", 400),
    ("query in url and form", "POST", "query=ASK%20%7B%7D", FORM, b"query=ASK%20%7B%7D", 400),
    ("empty query", "GET", "query=", None, None, 400),
    ("blank query", "POST", "", "application/sparql-query", b"  \n ", 400),
    ("bad graph iri", "GET", "query=ASK%20%7B%7D&default-graph-uri=not%20an%20iri", None, None, 400),
    ("url not utf-8", "GET", "query=ASK%20%7B%7D%20%23%FF", None, None, 400),
    ("body not utf-8", "POST", "", "application/sparql-query", b"ASK {} # \xff\xfe", 400),
    ("form not utf-8", "POST", "", FORM, b"query=ASK%20%7B%7D%20%23%FF", 400),
    ("wrong media type", "POST", "", "text/plain", b"ASK {}", 415),
    ("no media type", "POST", "", None, b"query=ASK%20%7B%7D", 415),
    ("utf-16", "POST", "", "application/sparql-query; charset=UTF-16", "ASK {}".encode("utf-16"), 415),
    ("multipart", "POST", "", "multipart/form-data; boundary=x", b"--x--", 415),
]


@pytest.mark.parametrize(("case", "method", "query_string", "content_type", "body", "status"), PROTOCOL_ERRORS,
                         ids=[case[0] for case in PROTOCOL_ERRORS])
def test_protocol_errors(client, endpoint, case, method, query_string, content_type, body, status):
    url = httpx.URL(endpoint).copy_with(query=query_string.encode() or None)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, url, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.text.strip()  # a message a person can read
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "PROPFIND"])
def test_other_methods_get_405_with_allow(client, endpoint, method):
    response = client.request(method, endpoint, params={"query": "ASK {}"})
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST", "OPTIONS"}


def test_oversized_requests_get_413(client, endpoint, settings):
    limit = settings.max_request_bytes
    query = "ASK {}" + " " * limit
    response = client.post(endpoint, content=query.encode(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    assert str(limit) in response.text
    response = client.post(endpoint, data={"query": query})
    assert response.status_code == 413

    def chunks():  # no Content-Length: the size is counted as the body arrives
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = client.post(endpoint, content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    # just under the limit is fine
    query = "ASK {}" + " " * (limit - 10)
    response = client.post(endpoint, content=query.encode(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200


def test_service_is_refused(client, endpoint):
    for query in ["SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                  "select * { { ?s ?p ?o } union { optional { service silent <http://127.0.0.1:9/> { ?s ?p ?o } } } }"]:
        response = client.get(endpoint, params={"query": query})
        assert response.status_code == 403, response.text
        assert "SERVICE" in response.text
    # the word in a string, an IRI or a variable name is no SERVICE
    response = client.get(endpoint, params={"query": 'SELECT ?service WHERE { BIND("SERVICE" AS ?service) }'})
    assert response.status_code == 200


# --- CORS ------------------------------------------------------------------------------------


def test_cors_simple_request(client, endpoint):
    response = client.get(endpoint, params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert TRUNCATED_HEADER in response.headers["access-control-expose-headers"]


def test_cors_preflight(client, endpoint):
    response = client.options(endpoint, headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, accept"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
    assert int(response.headers["access-control-max-age"]) > 0


# --- the service description -----------------------------------------------------------------


@pytest.mark.parametrize(("accept", "fmt", "rdflib_format"), [
    ("text/turtle", None, "turtle"),
    ("*/*", None, "turtle"),
    ("application/ld+json", None, "json-ld"),
    ("application/rdf+xml", None, "xml"),
    ("application/n-triples", None, "nt"),
    (BROWSER, "ttl", "turtle"),
])
def test_service_description(client, endpoint, settings, seed_store, accept, fmt, rdflib_format):
    params = {"format": fmt} if fmt else {}
    response = client.get(endpoint, params=params, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    graph = rdflib.Graph().parse(data=response.content, format=rdflib_format)
    service = rdflib.URIRef(endpoint)
    assert (service, rdflib.RDF.type, SD.Service) in graph
    assert (service, SD.endpoint, service) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = {str(f) for f in graph.objects(service, SD.resultFormat)}
    assert {"http://www.w3.org/ns/formats/SPARQL_Results_JSON", "http://www.w3.org/ns/formats/Turtle",
            "http://www.w3.org/ns/formats/SPARQL_Results_CSV", "http://www.w3.org/ns/formats/JSON-LD"} <= formats
    dataset = graph.value(service, SD.defaultDataset)
    assert dataset is not None and (dataset, SD.defaultGraph, None) in graph
    names = {str(graph.value(node, SD.name)) for node in graph.objects(dataset, SD.namedGraph)}
    assert names == {settings.to_public(g.value) for g in seed_store.named_graphs()}
    assert settings.to_public(settings.base_iri + "graph/entities") in names


def test_service_description_html_for_browsers(client, endpoint):
    response = client.get(endpoint, headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<form" in response.text and 'name="query"' in response.text


# --- what a query sees -----------------------------------------------------------------------


def ask(client: httpx.Client, endpoint: str, query: str, **params) -> bool:
    response = client.post(endpoint, params=params, content=query.encode(),
                           headers={"Content-Type": "application/sparql-query", "Accept": SPARQL_JSON})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def test_default_graph_is_the_union_and_graphs_are_addressable(client, endpoint, settings):
    public = settings.to_public
    base = settings.base_iri
    article_graph, entities_graph = public(base + "graph/article/section-907-opinion"), public(base + "graph/entities")
    quotation = f"?q a <{SCHEMA}Quotation>"
    person = f"?p a <{SCHEMA}Person>"
    # the union: the article's quotations and the registry's people, without GRAPH
    assert ask(client, endpoint, f"ASK {{ {quotation} . {person} }}")
    # default-graph-uri picks the default graph (and, with no named-graph-uri, no named graphs)
    assert ask(client, endpoint, f"ASK {{ {person} }}", **{"default-graph-uri": entities_graph})
    assert not ask(client, endpoint, f"ASK {{ {quotation} }}", **{"default-graph-uri": entities_graph})
    assert not ask(client, endpoint, f"ASK {{ GRAPH ?g {{ {person} }} }}", **{"default-graph-uri": entities_graph})
    # named-graph-uri restricts GRAPH (and leaves an empty default graph)
    response = client.get(endpoint, params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                            "named-graph-uri": [entities_graph, article_graph]})
    assert {b["g"]["value"] for b in response.json()["results"]["bindings"]} == {entities_graph, article_graph}
    assert not ask(client, endpoint, f"ASK {{ {person} }}", **{"named-graph-uri": entities_graph})
    # a graph the store does not have is empty: nothing is fetched
    assert not ask(client, endpoint, "ASK { ?s ?p ?o }", **{"default-graph-uri": "http://example.org/nowhere"})
    # the query's own FROM is honoured without protocol parameters, overridden with them
    assert not ask(client, endpoint, f"ASK FROM <{entities_graph}> {{ {quotation} }}")
    assert ask(client, endpoint, f"ASK FROM <{entities_graph}> {{ {person} }}")
    assert ask(client, endpoint, f"ASK FROM <{entities_graph}> {{ {quotation} }}",
               **{"default-graph-uri": article_graph})


def test_public_iris_in_queries_and_results(client, endpoint, settings, server):
    assert settings.base_url != settings.base_iri
    iri = server.url + "entity/ilham-aliyev"  # as a client sees it on this host
    query = f'SELECT ?name WHERE {{ <{iri}> <{SCHEMA}name> ?name }}'
    response = client.get(endpoint, params={"query": query})
    assert [b["name"]["value"] for b in response.json()["results"]["bindings"]] == ["Ilham Aliyev"]
    prefixed = f"PREFIX e: <{server.url}entity/> ASK {{ e:ilham-aliyev <{SCHEMA}name> ?n }}"
    assert ask(client, endpoint, prefixed)
    # IRIs written in the store's own namespace still work
    assert ask(client, endpoint, f"ASK {{ <{settings.base_iri}entity/ilham-aliyev> ?p ?o }}")
    response = client.get(endpoint, params={"query": f"SELECT ?s WHERE {{ ?s <{SCHEMA}name> ?n }}", "format": "csv"})
    values = [row[0] for row in csv.reader(io.StringIO(response.text))][1:]
    assert values and all(v.startswith(server.url) for v in values if v.startswith("http"))
    assert not any(settings.base_iri in v for v in values)


# --- hostile queries -------------------------------------------------------------------------


def test_a_query_that_crashes_its_worker_does_not_take_the_server_down(client, endpoint, server):
    engine = server.app.state.engine
    before = engine.worker_pids()
    # A query nested too deep for the parser's stack is now refused before it runs (400
    # too-complex, see test_hostile_sparql); a worker still crashes on its own here: SIGSEGV
    # while it evaluates a slow query.
    def crash_the_busy_worker() -> None:
        time.sleep(0.5)
        idle = {w.pid for w in engine._idle._queue}
        for pid in set(engine.worker_pids()) - idle:
            os.kill(pid, 11)

    killer = threading.Thread(target=crash_the_busy_worker)
    killer.start()
    response = client.post(endpoint, data={"query": SLOW})
    killer.join()
    assert response.status_code == 500
    assert response.headers[ERROR_HEADER] == "crashed"
    assert "server is unaffected" in response.text
    assert ask(client, endpoint, "ASK {}")
    deadline = time.monotonic() + 10
    while len(engine.worker_pids()) < len(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(engine.worker_pids()) == len(before)


def test_a_worker_killed_while_idle_is_replaced(client, endpoint, server):
    engine = server.app.state.engine
    victim = engine.worker_pids()[0]
    os.kill(victim, 9)
    time.sleep(0.2)
    for _ in range(4):
        assert ask(client, endpoint, "ASK {}")
    assert victim not in engine.worker_pids()


# --- time limit and result cap ---------------------------------------------------------------


def test_a_slow_query_is_stopped_while_others_are_answered(seed_build):
    with serve(lambda url: sparql_app(settings_for(seed_build, url, query_timeout=2))) as running:
        endpoint = running.url + "sparql"
        engine = running.app.state.engine
        pids = engine.worker_pids()
        outcome: dict[str, object] = {}

        def slow() -> None:
            started = time.monotonic()
            response = httpx.get(endpoint, params={"query": SLOW}, timeout=30)
            outcome.update(response=response, elapsed=time.monotonic() - started)

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)  # the slow query is running now
        with httpx.Client(timeout=30) as c:
            started = time.monotonic()
            response = c.get(endpoint, params={"query": PEOPLE})
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
            assert thread.is_alive()  # it answered while the slow query ran
        thread.join(timeout=30)
        response = outcome["response"]
        assert isinstance(response, httpx.Response)
        assert response.status_code == 503
        assert response.headers[ERROR_HEADER] == "timeout"
        assert "time limit of 2 s" in response.text
        assert outcome["elapsed"] < 2 + 2
        # the stopped worker was killed and replaced; the server goes on
        deadline = time.monotonic() + 10
        while (len(engine.worker_pids()) < len(pids) or set(engine.worker_pids()) == set(pids)) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(engine.worker_pids()) == len(pids) and set(engine.worker_pids()) != set(pids)
        for pid in set(pids) - set(engine.worker_pids()):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert httpx.get(endpoint, params={"query": "ASK {}"}).json()["boolean"] is True
        # a plain cross product streams: it is cut at the result cap within the limit, and says so
        response = httpx.get(endpoint, params={"query": CROSS}, timeout=30)
        assert response.status_code == 200
        assert response.headers[TRUNCATED_HEADER] == "10000"
        assert len(response.json()["results"]["bindings"]) == 10000
    for pid in engine.worker_pids() + pids:  # the server stopped its workers
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_busy_engine_refuses_after_waiting_the_time_limit(seed_build):
    engine = LocalEngine(seed_build.out_dir / "store", workers=1)

    async def run() -> tuple[type[BaseException], float]:
        async with engine:
            slow = asyncio.create_task(engine.run(SparqlRequest(SLOW, timeout=3)))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            with pytest.raises(EngineBusy) as busy:
                await engine.run(SparqlRequest("ASK {}", timeout=0.5))
            waited = time.monotonic() - started
            with pytest.raises(QueryTimeout):
                await slow
            answer = await engine.run(SparqlRequest("ASK {}"))  # the replacement worker answers
            assert json.loads(answer.body)["boolean"] is True
            return busy.type, waited

    kind, waited = asyncio.run(run())
    assert kind is EngineBusy and 0.4 < waited < 1.5


class FailingEngine(QueryEngine):
    """Stands in for an engine to see how each engine error reaches a client."""

    timeout, limit = 10.0, 10_000

    def __init__(self, error: Exception):
        self.error = error

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def run(self, request: SparqlRequest) -> SparqlResponse:
        raise self.error


@pytest.mark.parametrize(("error", "status", "kind", "retry_after"), [
    (EngineBusy("every query worker stayed busy"), 503, "busy", True),
    (QueryTimeout("the query was stopped", 10), 503, "timeout", False),
    (WorkerCrashed("the query crashed the process running it"), 500, "crashed", False),
    (EngineUnavailable("no store"), 503, "unavailable", True),
])
def test_engine_errors_as_http_statuses(seed_build, error, status, kind, retry_after):
    with serve(lambda url: sparql_app(settings_for(seed_build, url), FailingEngine(error))) as running:
        response = httpx.get(running.url + "sparql", params={"query": "ASK {}"})
    assert response.status_code == status == error.status
    assert response.headers[ERROR_HEADER] == kind
    assert ("retry-after" in response.headers) == retry_after
    assert error.message in response.text


@pytest.fixture(scope="module")
def capped(seed_build: BuildResult) -> Iterator[str]:
    with serve(lambda url: sparql_app(settings_for(seed_build, url, result_limit=5))) as running:
        yield running.url + "sparql"


def test_result_cap_select(capped):
    query = "SELECT * WHERE { ?s ?p ?o }"
    response = httpx.get(capped, params={"query": query})
    assert response.status_code == 200
    assert response.headers[TRUNCATED_HEADER] == "5"
    data = response.json()
    assert len(data["results"]["bindings"]) == 5
    assert data["truncated"] is True and data["resultLimit"] == 5
    response = httpx.get(capped, params={"query": query, "format": "csv"})
    assert response.headers[TRUNCATED_HEADER] == "5"
    assert len(list(csv.reader(io.StringIO(response.text)))) == 1 + 5
    response = httpx.get(capped, params={"query": query, "format": "xml"})
    assert "truncated at 5 rows" in response.text
    assert len(list(Result.parse(io.BytesIO(response.content), format="xml"))) == 5
    # an answer within the cap is not flagged
    response = httpx.get(capped, params={"query": query + " LIMIT 5"})
    assert TRUNCATED_HEADER.lower() not in response.headers
    assert "truncated" not in response.json()


def test_result_cap_construct(capped):
    query = "CONSTRUCT WHERE { ?s ?p ?o }"
    response = httpx.get(capped, params={"query": query}, headers={"Accept": "text/turtle"})
    assert response.headers[TRUNCATED_HEADER] == "5"
    assert response.text.startswith("# claimgraph: results truncated at 5 triples")
    assert len(rdflib.Graph().parse(data=response.content, format="turtle")) == 5
    response = httpx.get(capped, params={"query": query, "format": "jsonld"})
    assert response.headers[TRUNCATED_HEADER] == "5"
    assert len(rdflib.Graph().parse(data=response.content, format="json-ld")) == 5


# --- the writers match pyoxigraph's, and the overhead is small --------------------------------


RESULT_FORMATS = {SPARQL_JSON: ox.QueryResultsFormat.JSON, SPARQL_XML: ox.QueryResultsFormat.XML,
                  CSV: ox.QueryResultsFormat.CSV, TSV: ox.QueryResultsFormat.TSV}


@pytest.mark.parametrize("media_type", list(RESULT_FORMATS))
def test_results_are_pyoxigraphs_own(seed_store, media_type):
    """Below the cap, an answer is byte for byte what pyoxigraph writes; at the cap, it is the
    first rows of it."""
    query = ('SELECT ?s ?p ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?s <http://example.org/none> ?missing } } '
             'ORDER BY ?s ?p ?o')
    reference = seed_store.query(query, use_default_graph_as_union=True).serialize(format=RESULT_FORMATS[media_type])
    request = {"query": query, "limit": 1_000_000, "media_type": media_type, "default_graphs": (),
               "named_graphs": (), "substitutions": {}}
    reply = execute(seed_store, {}, request)
    assert reply["body"] == reference and not reply["truncated"]
    capped = execute(seed_store, {}, {**request, "limit": 7})
    assert capped["truncated"] and capped["count"] == 7
    if media_type in (CSV, TSV):
        assert capped["body"] == b"".join(reference.splitlines(keepends=True)[:8])
    else:
        full = list(ox.parse_query_results(reference, format=RESULT_FORMATS[media_type]))
        cut = list(ox.parse_query_results(capped["body"], format=RESULT_FORMATS[media_type]))
        assert [list(map(str, row)) for row in cut] == [list(map(str, row)) for row in full[:7]]


def test_tsv_iri_mapping_touches_iri_cells_only():
    mapper = query_worker.PublicIris("https://data.example/", "http://127.0.0.1:8000/")
    tsv = (b'?s\t?o\n<https://data.example/a>\t"<https://data.example/a> in a literal"\n'
           b'"x"\t<https://data.example/b#c>\n\t<https://other.example/>\n')
    assert mapper.tsv_to_public(tsv) == (
        b'?s\t?o\n<http://127.0.0.1:8000/a>\t"<https://data.example/a> in a literal"\n'
        b'"x"\t<http://127.0.0.1:8000/b#c>\n\t<https://other.example/>\n')


def test_execute_in_process(seed_build):
    """The worker's job, without a worker: what run() hands a worker and gets back."""
    store = ox.Store.read_only(str(seed_build.out_dir / "store"))
    reply = execute(store, {"base_iri": None}, {"query": "SELECT ?x WHERE { BIND(1 AS ?x) }", "limit": 10,
                                               "media_type": CSV, "default_graphs": (), "named_graphs": (),
                                               "substitutions": {}})
    assert reply["body"] == b"x\r\n1\r\n" and reply["form"] == "SELECT" and not reply["truncated"]


def test_engine_substitutions_by_name_or_variable(seed_build):
    base = seed_build.assembled.iris.base
    engine = LocalEngine(seed_build.out_dir / "store", workers=1)
    query = f"SELECT ?person ?name WHERE {{ ?person <{SCHEMA}name> ?name }}"  # SEP-0007: ?person projected
    aliyev = ox.NamedNode(base + "entity/ilham-aliyev")

    async def run() -> list[list[str]]:
        async with engine:
            answers = [await engine.run(SparqlRequest(query, substitutions={key: aliyev}))
                       for key in ("person", ox.Variable("person"))]
        return [[b["name"]["value"] for b in json.loads(a.body)["results"]["bindings"]] for a in answers]

    assert asyncio.run(run()) == [["Ilham Aliyev"], ["Ilham Aliyev"]]
    assert engine.worker_pids() == []


def test_overhead_of_a_trivial_query(client, endpoint):
    query = "SELECT ?x WHERE { BIND(1 AS ?x) }"
    for _ in range(20):  # warm up the connection and the workers
        client.get(endpoint, params={"query": query})
    timings = []
    for _ in range(500):
        started = time.perf_counter()
        response = client.get(endpoint, params={"query": query})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    median = statistics.median(timings) * 1000
    p99 = sorted(timings)[int(len(timings) * 0.99)] * 1000
    print(f"\ntrivial SELECT over HTTP keep-alive, N=500: median {median:.2f} ms, p99 {p99:.2f} ms")
    assert median < 50


@pytest.mark.parametrize("asynchronous", [False, True])
def test_html_page_hook(seed_build, asynchronous):
    from starlette.responses import HTMLResponse

    def page(request):
        return HTMLResponse(f"<p>query UI for {request.url.path}</p>")

    async def async_page(request):
        return page(request)

    make = lambda url: sparql_app(settings_for(seed_build, url), html_page=async_page if asynchronous else page)  # noqa: E731
    with serve(make) as running:
        response = httpx.get(running.url + "sparql", headers={"Accept": BROWSER})
        assert response.text == "<p>query UI for /sparql</p>"
        assert response.headers["access-control-allow-origin"] == "*"
        # a query from a browser still gets results, and RDF clients the service description
        assert httpx.get(running.url + "sparql", params={"query": "ASK {}"},
                         headers={"Accept": BROWSER}).json()["boolean"] is True
        assert httpx.get(running.url + "sparql", headers={"Accept": "text/turtle"}).headers[
            "content-type"].startswith("text/turtle")
