"""Long listings a page at a time (claimgraph.query_pages), on a synthetic corpus of 45 articles:
the pages, one after the other, are the whole answer; the keys queries' own answers; the page
line's errors; and the pages through the CLI and over HTTP, as users' clients get them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from claimgraph.build import BuildResult, build
from claimgraph.cli import main
from claimgraph.errors import QueryError, SourceError
from claimgraph.publishing import STORE_DIR
from claimgraph.queries import (
    NamedQuery,
    QueryResult,
    bind_parameters,
    find_query,
    list_queries,
    load_query,
    run_query,
)
from claimgraph.query_pages import is_paged, keys_query, read_keys, run_page, store_runner
from conftest import SEED_SLUG, ask
from test_benchmarks import generator
from webserver import running_app

ARTICLES = 45


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    data = tmp_path_factory.mktemp("pages") / "data"
    generator.generate(data, ARTICLES, seed=11, outlets=4, authors=8, pool=60)
    return build(data, data.parent / "dist", site=False)


@pytest.fixture(scope="module")
def corpus_store(corpus_build: BuildResult) -> ox.Store:
    return ox.Store.read_only(str(corpus_build.out_dir / STORE_DIR))


def _top_entity(store: ox.Store) -> str:
    query = """SELECT ?e (COUNT(*) AS ?n) WHERE { ?a a <http://schema.org/OpinionNewsArticle> ;
                 <http://schema.org/mentions> ?e . ?e <https://claimgraph.example/ontology#wikidataStatus> [] }
               GROUP BY ?e ORDER BY DESC(?n) ?e LIMIT 1"""
    return next(iter(store.query(query, use_default_graph_as_union=True)))[0].value


def _params(query: NamedQuery, store: ox.Store) -> dict[str, str]:
    return {p.name: _top_entity(store) for p in query.parameters if p.required}


PAGED = [q for q in list_queries() if q.page is not None]


def test_the_long_listings_are_paged() -> None:
    assert {q.name for q in PAGED} >= {"claims", "checkable-claims", "quotations", "reported-speech", "stances",
                                       "article-overview", "claims-about-entity", "timeline", "graph-sizes",
                                       "outlets-on-topic"}


@pytest.mark.parametrize("query", PAGED, ids=lambda q: q.name)
def test_the_pages_one_after_the_other_are_the_whole_answer(query: NamedQuery, corpus_build: BuildResult,
                                                            corpus_store: ox.Store) -> None:
    # several pages each: 7 keys a page, or fewer where the query's own pages are smaller (the
    # corpus has only 4 outlets)
    small = dataclasses.replace(query, page=dataclasses.replace(query.page, size=min(7, query.page.size)))
    bindings = bind_parameters(small, _params(small, corpus_store), corpus_build.assembled.iris.base)
    assert is_paged(small, bindings)
    whole = run_query(corpus_store, small, bindings)
    assert len(whole.rows) > 7, "the corpus must give this listing more than one page"
    first, page = run_page(store_runner(corpus_store), small, bindings, 1)
    assert page.count > 1 and first.variables == whole.variables
    rows = list(first.rows)
    for number in range(2, page.count + 1):
        result, _ = run_page(store_runner(corpus_store), small, bindings, number)
        assert result.rows, f"page {number} of {query.name} is empty"
        rows.extend(result.rows)
    assert rows == whole.rows


def test_a_page_past_the_last_names_the_last(corpus_build: BuildResult, corpus_store: ox.Store) -> None:
    query = find_query("claims")
    with pytest.raises(QueryError, match=r"has 3 pages \(45 articles, 20 per page\): there is no page 4"):
        run_page(store_runner(corpus_store), query, {}, 4)
    with pytest.raises(QueryError, match="there is no page 0"):
        run_page(store_runner(corpus_store), query, {}, 0)


def test_a_bound_page_variable_or_a_parameter_the_keys_do_not_take_answers_whole(
        corpus_build: BuildResult) -> None:
    base = corpus_build.assembled.iris.base
    claims, quotations, about = find_query("claims"), find_query("quotations"), find_query("claims-about-entity")
    assert is_paged(claims, {})
    assert not is_paged(claims, bind_parameters(claims, {"article": f"{base}article/x"}, base))
    assert not is_paged(quotations, bind_parameters(quotations, {"speaker": "someone"}, base))
    assert is_paged(about, bind_parameters(about, {"entity": "someone"}, base))
    assert not is_paged(find_query("entities"), {})  # ordered by a count: no keys give its order


def test_the_keys_queries_answer_on_the_seed(two_article_build: BuildResult, two_article_store: ox.Store,
                                             seed_build: BuildResult, seed_store: ox.Store) -> None:
    by_date = keys_query(find_query("claims").page.keys)
    rows = store_runner(two_article_store)(by_date, [{}]).rows
    published = {r[0].value: r[1].value for r in two_article_store.query(
        "SELECT ?a ?d WHERE { ?a <http://schema.org/datePublished> ?d }", use_default_graph_as_union=True)}
    articles = [row["article"].value for row in rows]
    assert len(articles) == 2 and sorted(articles, key=lambda a: (published[a], a)) == articles

    about = keys_query(find_query("claims-about-entity").page.keys)
    base = seed_build.assembled.iris.base
    section = bind_parameters(about, {"entity": "section-907"}, base)
    keys = store_runner(seed_store)(about, [{"entity": section[ox.Variable("entity")]}]).rows
    assert [row["article"].value for row in keys] == [f"{base}article/{SEED_SLUG}"]
    dates = keys_query(find_query("timeline").page.keys)
    assert [row["date"].value for row in store_runner(seed_store)(dates, [{}]).rows] == [
        "1992", "1993", "2001-09-11", "2002", "2026-01-05"]
    graphs = keys_query(find_query("graph-sizes").page.keys)
    sizes = [int(row["triples"].value) for row in store_runner(seed_store)(graphs, [{}]).rows]
    assert sizes == sorted(set(sizes), reverse=True)
    assert set(sizes) == {int(size) for size in ask(seed_store, seed_build, "graph-sizes").values("triples")}
    nobody = ox.NamedNode(f"{base}entity/nobody-at-all")
    assert store_runner(seed_store)(about, [{"entity": nobody}]).rows == []
    outlets = keys_query(find_query("outlets-on-topic").page.keys)
    listed = ask(seed_store, seed_build, "outlets-on-topic", entity="section-907").values("outlet")
    keys = store_runner(seed_store)(outlets, [{"entity": section[ox.Variable("entity")]}]).rows
    assert len(set(listed)) == 1 and [row["outlet"].value for row in keys] == listed[:1]
    assert store_runner(seed_store)(outlets, [{"entity": nobody}]).rows == []
    # the seed's answer through a page is the unpaged one
    query = find_query("claims-about-entity")
    result, page = run_page(store_runner(seed_store), query, section, 1)
    assert (page.number, page.count, page.keys) == (1, 1, 1)
    assert result.rows == ask(seed_store, seed_build, "claims-about-entity", entity="section-907").rows


def test_keys_come_once_each_and_never_as_blank_nodes() -> None:
    claims = find_query("claims")
    a, b = ox.NamedNode("https://example.org/a"), ox.NamedNode("https://example.org/b")
    listed = QueryResult(["article"], [{"article": b}, {"article": a}, {"article": b}, {}])
    assert read_keys(listed, claims) == [b, a]
    with pytest.raises(QueryError, match="gave a blank node") as caught:
        read_keys(QueryResult(["article"], [{"article": ox.BlankNode()}]), claims)
    assert caught.value.path == claims.page.keys


def _query_file(folder: Path, page_line: str, body: str = "SELECT ?article WHERE { ?article ?p ?o }") -> Path:
    (folder / "pages").mkdir(exist_ok=True)
    (folder / "pages" / "keys.rq").write_text("# title: k\n# description: k\n" + body + "\n")
    path = folder / "listing.rq"
    path.write_text(f"# title: t\n# description: d\n{page_line}\n{body}\n")
    return path


@pytest.mark.parametrize(("line", "message"), [
    ("# page: ?article keys=pages/keys.rq", "a page line reads"),
    ("# page: ?article (0, keys=pages/keys.rq) articles", "a page line reads"),
    ("# page: ?article (20) articles", "a page line reads"),
    ("# page: ?article (20, keys=pages/missing.rq) articles", "pages/missing.rq is not a file"),
    ("# page: ?claim (20, keys=pages/keys.rq) claims", r"pages by \?claim, which its text never uses"),
])
def test_a_bad_page_line_names_its_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _query_file(tmp_path, line)
    with pytest.raises(SourceError, match=message) as caught:
        load_query(path)
    assert (caught.value.path, caught.value.line) == (path, 3)


def test_pages_through_the_cli(corpus_build: BuildResult, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = str(corpus_build.out_dir)
    assert main(["query", "claims", "--out", out_dir, "--page", "2"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("(page 2 of 3: articles 21–40 of 45)")
    assert main(["query", "claims", "--out", out_dir, "--page", "2", "--format", "json"]) == 0
    captured = capsys.readouterr()
    paged = json.loads(captured.out)["results"]["bindings"]
    assert captured.err == "(page 2 of 3: articles 21–40 of 45)\n"
    assert main(["query", "claims", "--out", out_dir, "--format", "json"]) == 0
    whole = json.loads(capsys.readouterr().out)["results"]["bindings"]
    assert paged and paged == [row for row in whole if row in paged]
    assert main(["query", "claims", "--out", out_dir, "--page", "9"]) == 2
    assert "there is no page 9" in capsys.readouterr().err
    assert main(["query", "quotations", "--out", out_dir, "--page", "1", "--param", "speaker=x"]) == 2
    assert "comes whole, not in pages" in capsys.readouterr().err


def test_pages_over_http(corpus_build: BuildResult) -> None:
    with running_app(corpus_build.out_dir) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = client.get("queries/claims", params={"format": "json"})
        assert first.status_code == 200 and first.headers["claimgraph-page"] == "1/3"
        links = first.links
        assert set(links) == {"bookmark", "next", "last"}
        rows = first.json()["results"]["bindings"]
        next_url = links["next"]["url"]
        while next_url:
            page = client.get(next_url + "&format=json")
            assert page.status_code == 200
            rows.extend(page.json()["results"]["bindings"])
            next_url = page.links.get("next", {}).get("url")
        assert page.links["prev"]["url"].endswith("page=2") and page.links["first"]["url"].endswith("page=1")
        whole = client.get("queries/claims", params={"format": "json", "page": "all"})
        assert "claimgraph-page" not in whole.headers
        assert rows == whole.json()["results"]["bindings"]

        html = client.get("queries/claims", params={"page": "2"})
        assert html.status_code == 200
        assert "page 2 of 3: articles 21–40 of 45" in html.text and 'rel="next"' in html.text

        for bad, status in (("0", 400), ("two", 400), ("-1", 400), ("4", 404)):
            answer = client.get("queries/claims", params={"page": bad, "format": "csv"})
            assert answer.status_code == status, bad
            assert "page" in answer.text and "Traceback" not in answer.text
        assert "there is no page 4" in client.get("queries/claims", params={"page": "4", "format": "csv"}).text

        listed = {q["name"]: q for q in client.get("queries/", params={"format": "json"}).json()["queries"]}
        assert listed["claims"]["pages"] == {"by": "article", "size": 20, "of": "articles"}
        assert listed["entities"]["pages"] is None


def test_the_server_runs_a_listings_keys_query_once(corpus_build: BuildResult,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import claimgraph.web.named_queries as named_queries

    asked: list[Path] = []

    def counting(path: Path) -> NamedQuery:
        asked.append(path)
        return keys_query(path)

    monkeypatch.setattr(named_queries, "keys_query", counting)
    with running_app(corpus_build.out_dir) as url, httpx.Client(base_url=url, timeout=30) as client:
        for number in ("1", "2", "3", "2"):
            assert client.get("queries/claims", params={"page": number, "format": "csv"}).status_code == 200
        # stances pages by the same keys query as claims: its keys are kept already
        assert client.get("queries/stances", params={"format": "csv"}).status_code == 200
        assert client.get("queries/timeline", params={"format": "csv"}).status_code == 200
    assert asked == [find_query("claims").page.keys, find_query("timeline").page.keys]
