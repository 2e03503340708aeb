"""The worker's fast paths give what the slow ones give: SELECT results written straight to SPARQL
JSON are pyoxigraph's own JSON for every kind of term; a query's shape read without its tokens
is the shape the token scan finds; IRIs rewritten without tokens are rewritten as with them;
and the result cache's quick look for volatile functions agrees with its regular expression."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from claimgraph.web.query_text import rewrite_iris, scan_query, scan_tokens
from claimgraph.web.query_worker import PublicIris
from claimgraph.web.result_cache import _VOLATILE, _is_volatile
from claimgraph.web.result_writers import select_json

EVERY_KIND_OF_TERM = """
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?iri ?plain ?lang ?dir ?typed ?number ?blank ?triple ?unbound WHERE {
  VALUES (?iri ?plain ?lang ?typed ?number) {
    (<https://data.example/a> "tab\\there \\"quoted\\" \\u00e9" "Bakı"@az "2026-01-05"^^xsd:date 1.5)
    (<https://other.example/b> "" "x"@en-GB "1"^^xsd:integer 2)
  }
  BIND (STRLANGDIR("مرحبا", "ar", "rtl") AS ?dir)
  BIND (BNODE("b") AS ?blank)
  BIND (<<(<https://data.example/a> <https://data.example/p> "o")>> AS ?triple)
}
ORDER BY ?iri
"""


def _solutions(query: str = EVERY_KIND_OF_TERM) -> ox.QuerySolutions:
    return ox.Store().query(query)


def test_select_json_is_pyoxigraphs_own_json_for_every_kind_of_term() -> None:
    body, count, truncated = select_json(_solutions(), 10)
    reference = _solutions().serialize(format=ox.QueryResultsFormat.JSON)
    assert (count, truncated) == (2, False)
    ours, theirs = json.loads(body), json.loads(reference)
    # blank node labels are fresh in each evaluation: compare them by shape only
    for document in (ours, theirs):
        for row in document["results"]["bindings"]:
            assert row["blank"]["type"] == "bnode"
            row["blank"]["value"] = "b"
    assert ours == theirs
    assert "unbound" not in ours["results"]["bindings"][0]
    assert ours["results"]["bindings"][0]["dir"] == {"type": "literal", "value": "مرحبا", "xml:lang": "ar",
                                                     "its:dir": "rtl"}
    assert ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON).variables == _solutions().variables


def test_select_json_caps_and_maps_iris() -> None:
    mapper = PublicIris("https://data.example/", "http://127.0.0.1:8000/")
    body, count, truncated = select_json(_solutions(), 1, mapper.to_public)
    document = json.loads(body)
    assert (count, truncated) == (1, True)
    assert list(document)[:2] == ["truncated", "resultLimit"] and document["resultLimit"] == 1
    (row,) = document["results"]["bindings"]
    assert row["iri"]["value"] == "http://127.0.0.1:8000/a"
    assert row["triple"]["value"]["subject"]["value"] == "http://127.0.0.1:8000/a"
    assert row["typed"]["datatype"] == "http://www.w3.org/2001/XMLSchema#date"  # not a dataset IRI
    # a streaming reader takes it, cap and all
    assert len(list(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))) == 1


QUERIES = [
    "SELECT ?h WHERE { <https://data.example/a> <http://schema.org/headline> ?h }",
    "PREFIX s: <http://schema.org/> SELECT * FROM <https://data.example/g> WHERE { ?a s:name ?n }",
    "ASK { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    'SELECT ?x WHERE { BIND("FROM a string" AS ?x) }',  # the word, but no dataset clause
    "SELECT ?service WHERE { ?service ?p ?o } # from a comment",
    "INSERT DATA { <https://data.example/a> <https://data.example/p> 1 }",
    "CONSTRUCT { ?s ?p ?o } WHERE { { { ?s ?p ?o } } }",
    "select distinct ?from where { ?from ?p [ ?q ( 1 2 ) ] }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_quick_shape_is_the_token_scans(query: str) -> None:
    quick, scanned = scan_query(query), scan_tokens(query)
    assert (quick.form, quick.has_dataset_clause, quick.uses_service) == \
        (scanned.form, scanned.has_dataset_clause, scanned.uses_service)
    assert quick.tokens >= scanned.tokens and quick.depth >= scanned.depth


def test_a_query_near_the_limits_is_counted_token_by_token() -> None:
    deep = "SELECT * WHERE " + "{" * 600 + "}" * 600
    assert scan_query(deep).depth == scan_tokens(deep).depth == 600


P, D = "http://127.0.0.1:8000/", "https://data.example/"


@pytest.mark.parametrize(("query", "expected"), [
    # no string and no comment: the quick path
    (f"SELECT ?h WHERE {{ <{P}article/a> <http://schema.org/headline> ?h }}",
     f"SELECT ?h WHERE {{ <{D}article/a> <http://schema.org/headline> ?h }}"),
    (f"SELECT ?t WHERE {{ ?s ?p <<( <{P}a> ?q ?r )>> }}", f"SELECT ?t WHERE {{ ?s ?p <<( <{D}a> ?q ?r )>> }}"),
    # a string or a comment holding the public base: token by token, and they keep it
    (f'SELECT ?h WHERE {{ <{P}a> ?p "<{P}a> stays" }}', f'SELECT ?h WHERE {{ <{D}a> ?p "<{P}a> stays" }}'),
    (f"SELECT ?h WHERE {{ ?s a <{P}ontology#Thing> }} # <{P}x>",
     f"SELECT ?h WHERE {{ ?s a <{D}ontology#Thing> }} # <{P}x>"),
])
def test_public_iris_are_rewritten_in_iris_only(query: str, expected: str) -> None:
    assert rewrite_iris(query, P, D) == expected


@pytest.mark.parametrize("query", [
    "SELECT (NOW() AS ?t) {}", "SELECT (rand() AS ?r) {}", "SELECT (STRUUID() AS ?u) {}",
    "SELECT ?x { BIND(BNODE() AS ?x) }", "SELECT ?nowhere ?brand { ?nowhere ?p ?brand }",
    "SELECT ?h WHERE { ?s <http://schema.org/headline> ?h }",
])
def test_the_quick_volatile_check_agrees_with_the_expression(query: str) -> None:
    assert _is_volatile(query) == bool(_VOLATILE.search(query))
