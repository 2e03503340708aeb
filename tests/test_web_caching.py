"""What the server keeps between requests: rendered documents (with ETags) and SPARQL answers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from claimgraph.web.doc_cache import LruCache, etag_matches
from claimgraph.web.engine import LocalEngine, SparqlRequest
from conftest import SEED_SLUG
from webserver import running_app


@pytest.fixture(scope="module")
def server(seed_build):
    with running_app(seed_build.out_dir) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def test_a_kept_document_is_the_rendered_one_with_a_stable_etag(client):
    first = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle"})
    again = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle"})
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"] and first.headers["etag"].startswith('"')
    for name in ("content-type", "vary", "link", "content-location"):
        assert first.headers[name] == again.headers[name]
    as_jsonld = client.get(f"article/{SEED_SLUG}", headers={"Accept": "application/ld+json"})
    assert as_jsonld.headers["etag"] != first.headers["etag"]
    assert client.get(f"article/{SEED_SLUG}.ttl").headers["etag"] == first.headers["etag"]


def test_if_none_match_gets_a_bodiless_304(client):
    etag = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle"}).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle", "If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "Accept" in response.headers["vary"]
    other = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle", "If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content
    # the tag of another format's document does not match
    html = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/html", "If-None-Match": etag})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


def test_errors_are_not_kept(client):
    assert client.get("article/no-such-article", headers={"Accept": "text/turtle"}).status_code == 404
    assert client.get(f"article/{SEED_SLUG}", headers={"Accept": "image/png"}).status_code == 406
    assert client.get(f"article/{SEED_SLUG}?format=pdf").status_code == 400
    assert client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle"}).status_code == 200


def test_etag_matching():
    assert etag_matches('"a", W/"b"', '"b"') and etag_matches("*", '"x"')
    assert not etag_matches(None, '"a"') and not etag_matches('"ab"', '"a"')


def test_lru_cache_drops_the_least_recently_used_past_its_budget():
    cache: LruCache[str, str] = LruCache(max_bytes=800)
    for key in "abcdefgh":
        cache.put(key, key, 100)
    assert cache.get("a") == "a"  # now the most recent
    cache.put("i", "i", 100)
    assert cache.get("b") is None and cache.get("a") == "a" and cache.get("i") == "i"
    assert cache.bytes == 800 and len(cache) == 8
    cache.put("huge", "huge", 101)  # over an eighth of the budget: never kept
    assert cache.get("huge") is None and cache.get("c") == "c"


def test_repeated_queries_are_answered_without_a_worker_and_volatile_ones_always_run(seed_build):
    engine = LocalEngine(seed_build.out_dir / "store", workers=1)
    people = "SELECT ?name WHERE { ?p a <http://schema.org/Person> ; <http://schema.org/name> ?name } ORDER BY ?name"

    async def run() -> tuple[list[bytes], int, list[str]]:
        async with engine:
            worker = next(iter(engine._workers))
            bodies = [(await engine.run(SparqlRequest(people))).body for _ in range(3)]
            ran = worker.queries
            now = [json.loads((await engine.run(SparqlRequest("SELECT (STR(NOW()) AS ?t) {}"))).body)
                   ["results"]["bindings"][0]["t"]["value"] for _ in range(2)]
            assert worker.queries == ran + 2  # NOW() ran twice
            return bodies, ran, now

    bodies, ran, _ = asyncio.run(run())
    assert bodies[0] == bodies[1] == bodies[2] and b"Ilham Aliyev" in bodies[0]
    assert ran == 1  # the first query ran, the next two were kept answers


def test_a_kept_answer_waits_for_a_live_idle_worker_like_any_query(seed_build):
    engine = LocalEngine(seed_build.out_dir / "store", workers=1)
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"

    async def run() -> str:
        async with engine:
            await engine.run(SparqlRequest("ASK {}"))
            busy = asyncio.create_task(engine.run(SparqlRequest(slow, timeout=2)))
            await asyncio.sleep(0.3)
            try:
                await engine.run(SparqlRequest("ASK {}", timeout=0.5))
            except Exception as exc:  # the kind is what the test checks
                outcome = type(exc).__name__
            else:
                outcome = "answered"
            busy.cancel()
            return outcome

    assert asyncio.run(run()) == "EngineBusy"


def test_an_articles_rdf_is_rendered_in_the_event_loop_and_the_rest_in_a_thread(seed_build, monkeypatch):
    """An article's RDF from its build files takes a few milliseconds: it is rendered without a
    thread hop (which cost more than the work); pages, other resources and a graph file past
    QUICK_GRAPH_BYTES go to a worker thread."""
    from claimgraph.documents import describe
    from claimgraph.web import resources

    handed: list[str] = []

    async def counted(func, *args):
        handed.append(args[3])  # the IRI
        return func(*args)

    monkeypatch.setattr(resources, "run_in_threadpool", counted)
    with running_app(seed_build.out_dir) as url, httpx.Client(base_url=url) as client:
        article = client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/turtle"})
        client.get(f"article/{SEED_SLUG}.jsonld").raise_for_status()
        assert article.status_code == 200 and handed == []
        client.get(f"article/{SEED_SLUG}", headers={"Accept": "text/html"}).raise_for_status()
        client.get("entity/azerbaijan.ttl").raise_for_status()
        assert [iri.rsplit("/", 2)[-2:] for iri in handed] == [["article", SEED_SLUG], ["entity", "azerbaijan"]]
        monkeypatch.setattr(describe, "QUICK_GRAPH_BYTES", 100)
        handed.clear()
        in_thread = client.get(f"article/{SEED_SLUG}.nt")  # not yet kept
        assert in_thread.status_code == 200 and len(handed) == 1
