"""Point look-ups answered in the server process (claimgraph.web.lookups): which queries count as
one, that they get exactly the answer a worker gives, and that anything bigger than a look-up,
by its text, its subjects or its answer, still goes to a worker."""

from __future__ import annotations

import asyncio
import json

import pyoxigraph as ox
import pytest

from claimgraph.build import BuildResult
from claimgraph.web import lookups
from claimgraph.web.engine import LocalEngine, QuerySyntaxError, SparqlRequest
from claimgraph.web.lookups import Lookup, read_lookup
from claimgraph.web.protocol import CSV, SPARQL_JSON
from claimgraph.web.query_worker import answer
from conftest import SEED_SLUG

S = "http://schema.org/"


@pytest.mark.parametrize(("query", "subjects", "patterns"), [
    (f"SELECT ?h WHERE {{ <http://a.example/x> <{S}headline> ?h }}", ["http://a.example/x"], 1),
    (f"PREFIX s: <{S}> PREFIX e: <http://a.example/e/>\nselect distinct * where {{ e:x s:name ?n ; a ?t . }}",
     ["http://a.example/e/x"], 2),
    (f"ASK {{ <http://a.example/x> <{S}name> \"Bakı\"@az , 'x'^^<{S}Text> ; ?p true . }}",
     ["http://a.example/x"], 3),
    (f"SELECT ?p ?o WHERE {{ <http://a.example/x> ?p ?o . <http://a.example/y> <{S}name> ?o }} LIMIT 10 OFFSET 5",
     ["http://a.example/x", "http://a.example/y"], 2),
    ("# a comment\nSELECT ?o { <http://a.example/x> ?p ?o ; }", ["http://a.example/x"], 1),
])
def test_a_point_lookup_reads_only_named_subjects(query: str, subjects: list[str], patterns: int) -> None:
    assert read_lookup(query) == Lookup(subjects, patterns)


@pytest.mark.parametrize("query", [
    "SELECT ?s WHERE { ?s ?p ?o }",  # a variable subject: any number of them
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o FILTER(?o > 1) }",
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o OPTIONAL { ?o ?q ?r } }",
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o . ?o ?q ?r }",  # a second subject from the first
    "SELECT ?o WHERE { GRAPH ?g { <http://a.example/x> ?p ?o } }",
    "SELECT ?o WHERE { <http://a.example/x> <http://a.example/p>/<http://a.example/q> ?o }",
    "SELECT ?o WHERE { <http://a.example/x> <http://a.example/p>* ?o }",
    "SELECT ?o WHERE { [] ?p ?o }",
    "SELECT ?o WHERE { _:b ?p ?o }",
    "SELECT ?o WHERE { <http://a.example/x> ?p [ ?q ?o ] }",
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o } ORDER BY ?o",
    "SELECT (COUNT(*) AS ?n) WHERE { <http://a.example/x> ?p ?o }",
    "SELECT ?o WHERE { <http://a.example/x> ?p 42 }",  # numbers are left to the parser
    "SELECT ?o WHERE { e:x ?p ?o }",  # no such prefix
    "BASE <http://a.example/> SELECT ?o WHERE { <x> ?p ?o }",
    "SELECT ?o WHERE { <x> ?p ?o }",  # relative
    "SELECT ?o WHERE { SERVICE <http://127.0.0.1:1/> { <http://a.example/x> ?p ?o } }",
    "SELECT ?o FROM <http://a.example/g> WHERE { <http://a.example/x> ?p ?o }",
    "CONSTRUCT { <http://a.example/x> ?p ?o } WHERE { <http://a.example/x> ?p ?o }",
    "DESCRIBE <http://a.example/x>",
    "SELECT ?o WHERE { }",
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o } LIMIT",
    "INSERT DATA { <http://a.example/x> <http://a.example/p> <http://a.example/o> }",
    "SELECT ?o WHERE { <http://a.example/x> " + "?p ?o ; " * 20 + "}",  # too many patterns
    "SELECT ?o WHERE { <http://a.example/x> ?p ?o } #" + "x" * 5000,  # too long to bother
])
def test_anything_else_goes_to_a_worker(query: str) -> None:
    assert read_lookup(query) is None


def _message(query: str, limit: int = 10_000, media_type: str = SPARQL_JSON) -> dict:
    return {"query": query, "media_type": media_type, "default_graphs": (), "named_graphs": (),
            "substitutions": {}, "limit": limit}


def _run(engine: LocalEngine, requests: list[SparqlRequest], beyond: int | None = None) -> tuple[list[bytes], int, int]:
    """The answers' bodies, the queries the worker ran and the look-ups answered; ``beyond``
    lowers the size past which a subject is too big (256 in subject_beyond_size.rq)."""
    async def go() -> tuple[list[bytes], int, int]:
        async with engine:
            worker = next(iter(engine._workers))
            assert engine.lookups is not None
            if beyond is not None:
                engine.lookups._beyond_size = engine.lookups._beyond_size.replace("OFFSET 256", f"OFFSET {beyond}")
            bodies = [(await engine.run(request)).body for request in requests]
            return bodies, worker.queries, engine.lookups.answered
    return asyncio.run(go())


def test_a_lookup_is_answered_in_the_server_process_as_a_worker_would(seed_build: BuildResult) -> None:
    store_path = seed_build.out_dir / "store"
    article = f"{seed_build.assembled.iris.base}article/{SEED_SLUG}"
    headline = f"SELECT ?h WHERE {{ <{article}> <{S}headline> ?h }}"
    everything = f"SELECT ?p ?o WHERE {{ <{article}> ?p ?o }}"
    engine = LocalEngine(store_path, workers=1, result_cache_bytes=0)
    bodies, ran, answered = _run(engine, [SparqlRequest(headline), SparqlRequest(everything, CSV),
                                          SparqlRequest(f"{headline} # ?s ?p ?o")])
    assert (ran, answered) == (0, 3)  # no worker was asked
    in_worker = answer(ox.Store.read_only(str(store_path)), {"public_base": None}, _message(headline))
    assert bodies[0] == bodies[2] == in_worker["body"]
    assert "Section 907" in json.loads(bodies[0])["results"]["bindings"][0]["h"]["value"]
    assert bodies[1].startswith(b"p,o\r\n") and bodies[1].count(b"\r\n") > 10


def test_long_answers_and_big_subjects_go_to_a_worker(seed_build: BuildResult,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = seed_build.out_dir / "store"
    article = f"{seed_build.assembled.iris.base}article/{SEED_SLUG}"
    everything = f"SELECT ?p ?o WHERE {{ <{article}> ?p ?o }}"
    headline = f"SELECT ?h WHERE {{ <{article}> <{S}headline> ?h }}"
    monkeypatch.setattr(lookups, "MAX_LOOKUP_ROWS", 3)  # the article has more properties than that
    bodies, ran, answered = _run(LocalEngine(store_path, workers=1, result_cache_bytes=0),
                                 [SparqlRequest(everything), SparqlRequest(headline)])
    assert (ran, answered) == (1, 1)
    assert len(json.loads(bodies[0])["results"]["bindings"]) > 3 and "truncated" not in json.loads(bodies[0])
    monkeypatch.undo()
    # Two patterns: each subject is sized first. The article's 40-odd triples pass under 256,
    # not under 3; a single pattern is never sized (its lazy scan stops at the row cap).
    two = f"SELECT ?h ?d WHERE {{ <{article}> <{S}headline> ?h ; <{S}datePublished> ?d }}"
    for beyond, expected in ((256, (0, 3)), (3, (1, 2))):
        engine = LocalEngine(store_path, workers=1, result_cache_bytes=0)
        _, ran, answered = _run(engine, [SparqlRequest(two), SparqlRequest(headline), SparqlRequest(everything)],
                                beyond)
        assert (ran, answered) == expected


def test_a_lookup_that_does_not_parse_gets_the_workers_error(seed_build: BuildResult) -> None:
    engine = LocalEngine(seed_build.out_dir / "store", workers=1, result_cache_bytes=0)
    bad = "SELECT ?h WHERE { <http://a.example/x> <http://schema.org/headline> ?h } LIMIT 1 2"
    assert read_lookup(bad) == Lookup(["http://a.example/x"], 1)  # looks like one; the parser refuses it

    async def go() -> tuple[str, int, int]:
        async with engine:
            with pytest.raises(QuerySyntaxError) as caught:
                await engine.run(SparqlRequest(bad))
            assert engine.lookups is not None
            return caught.value.kind, next(iter(engine._workers)).queries, engine.lookups.answered

    assert asyncio.run(go()) == ("syntax", 0, 1)


def test_a_subject_written_as_a_public_url_is_sized_as_the_dataset_iri(seed_build: BuildResult) -> None:
    base = seed_build.assembled.iris.base
    public = "http://127.0.0.1:8000/"
    lookup = lookups.PointLookups(seed_build.out_dir / "store", {"public_base": (base, public)})
    url = f"{public}article/{SEED_SLUG}"
    assert lookup._small(url)
    lookup._beyond_size = lookup._beyond_size.replace("OFFSET 256", "OFFSET 3")
    assert not lookup._small(url)  # the article's 40-odd triples, found under its dataset IRI
    assert lookup._small(f"{public}article/no-such-article")
