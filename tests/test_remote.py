"""Publishing to, and querying, real external stores on loopback: Oxigraph server and Virtuoso.

Each store starts once for the module; every test first deletes the graphs it may have left.
Faults are injected by a small proxy (tests/stores.py) in front of a real store; after each
fault every graph in the store must be whole (its old or its new version) and a second run
must finish the publish.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from claimgraph.build import BuildResult, build
from claimgraph.cli import main
from claimgraph.errors import OutputError
from claimgraph.queries import bind_parameters, list_queries, run_query, run_remote_query
from claimgraph.remote import (
    Credentials,
    GraphStoreProtocol,
    LocalBuild,
    LocalGraph,
    PublishFailed,
    PublishRefused,
    RemoteAuthError,
    RemoteSparql,
    RetryPolicy,
    SparqlUpdate,
    StoreClient,
    find_credentials,
    publish,
    read_build,
)
from claimgraph.remote.errors import RemoteError
from claimgraph.remote.graphs import graph_hash
from claimgraph.remote.http import RetryableFailure, judge_status, with_retries
from claimgraph.remote.sparql import bind_values, query_form, where_group_start
from claimgraph.remote.state import Published, parse_state, state_graph_iri, state_triples
from claimgraph.remote.stores import sparql_counts
from conftest import EXTRA_SLUG, SEED_SLUG, copy_data, open_store
from stores import (
    APPLY_THEN_FAIL,
    DROP,
    FAIL,
    FORWARD,
    STALL,
    VIRTUOSO,
    OxigraphServer,
    Proxy,
    Seen,
    VirtuosoServer,
    target_of,
)

FAST = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph") / "db").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    if not VIRTUOSO:
        pytest.skip("virtuoso-t is not installed (Debian virtuoso-opensource-7-bin)")
    server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_oxigraph(tmp_path: Path) -> Iterator[OxigraphServer]:
    """A store of its own, for a test that kills it."""
    server = OxigraphServer(tmp_path / "db").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def changed_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The two-article build with one article edited: the test article's headline."""
    data = copy_data(tmp_path_factory.mktemp("changed") / "data", with_extra=True)
    source = data / "articles" / f"{EXTRA_SLUG}.txt"
    text = source.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^headline: .*$", 'headline: "Keep the waiver, and say why"', text, count=1)
    assert edited != text
    source.write_text(edited, encoding="utf-8")
    return build(data, data.parent / "dist")


STORES = ["oxigraph", "virtuoso"]


class Target:
    """One store under test: its endpoints and credentials."""

    def __init__(self, server: OxigraphServer | VirtuosoServer):
        self.server = server
        self.credentials = (Credentials(server.user, server.password, "digest")
                            if isinstance(server, VirtuosoServer) else None)

    def gsp(self, url: str | None = None, timeout: float = 10.0, retry: RetryPolicy = FAST) -> GraphStoreProtocol:
        return GraphStoreProtocol(url or self.server.gsp, StoreClient(timeout, self.credentials, retry))

    def sparql(self) -> RemoteSparql:
        return RemoteSparql(self.server.query, 10.0)

    def env(self, monkeypatch: pytest.MonkeyPatch, password: str | None = None) -> None:
        monkeypatch.delenv("CLAIMGRAPH_STORE_AUTH", raising=False)
        monkeypatch.setenv("NETRC", "/nonexistent")
        if self.credentials:
            monkeypatch.setenv("CLAIMGRAPH_STORE_USER", self.credentials.user)
            monkeypatch.setenv("CLAIMGRAPH_STORE_PASSWORD", password or self.credentials.password)
        else:
            monkeypatch.delenv("CLAIMGRAPH_STORE_USER", raising=False)
            monkeypatch.delenv("CLAIMGRAPH_STORE_PASSWORD", raising=False)

    def reset(self, *builds: BuildResult) -> None:
        """Delete every graph a build of these tests may have put in the store."""
        store = self.gsp()
        iris = {iri for b in builds for iri in read_build(b.out_dir).graphs}
        iris |= {state_graph_iri(b.assembled.iris.base) for b in builds}
        iris |= {str(b.assembled.iris.article_graph(EXTRA_SLUG)) for b in builds}
        for iri in sorted(iris):
            store.delete(iri, "")
        store.client.close()

    def hashes(self, iris: set[str]) -> dict[str, str | None]:
        store = self.gsp()
        found = {}
        for iri in sorted(iris):
            triples = store.get(iri)
            found[iri] = None if triples is None else graph_hash(triples)
        store.client.close()
        return found


@pytest.fixture(params=STORES)
def target(request: pytest.FixtureRequest, seed_build: BuildResult, two_article_build: BuildResult,
           changed_build: BuildResult) -> Target:
    chosen = Target(request.getfixturevalue(request.param))
    chosen.reset(seed_build, two_article_build, changed_build)
    return chosen


@pytest.fixture
def ox_target(oxigraph: OxigraphServer, seed_build: BuildResult, two_article_build: BuildResult,
              changed_build: BuildResult) -> Target:
    chosen = Target(oxigraph)
    chosen.reset(seed_build, two_article_build, changed_build)
    return chosen


def assert_old_or_new(target: Target, old: LocalBuild, new: LocalBuild) -> None:
    """Every graph in the store is whole: exactly its old or its new content (or absent when
    one of the two builds lacks it)."""
    iris = set(old.graphs) | set(new.graphs)
    for iri, digest in target.hashes(iris).items():
        allowed = {old.graphs[iri].sha256 if iri in old.graphs else None,
                   new.graphs[iri].sha256 if iri in new.graphs else None}
        assert digest in allowed, f"{iri} is neither its old nor its new version"


def assert_is(target: Target, expected: LocalBuild) -> None:
    assert target.hashes(set(expected.graphs)) == {i: g.sha256 for i, g in expected.graphs.items()}


# ---------------------------------------------------------------- publish, verify, query

QUERY_PARAMS = {"claim": "claim/section-907-opinion/historical-injustice", "entity": "section-907",
                "person": "ilham-aliyev", "speaker": "ilham-aliyev", "topic": "section-907",
                "article": "article/caspian-ledger-waiver"}


def order_keys(query_text: str, variables: list[str]) -> list[str]:
    """The projected variables the query's ORDER BY sorts on (an expression such as
    STR(?published) over an unprojected variable cannot be checked on the rows)."""
    match = re.search(r"ORDER\s+BY\s+(.*)$", query_text, re.IGNORECASE | re.DOTALL)
    named = re.findall(r"\?(\w+)", match.group(1)) if match else []
    return [v for v in named if v in variables]


def rows_of(result: object) -> list[tuple[tuple[str, str], ...]]:
    # Terms compare by their N-Triples form: IRI, lexical form, datatype and language exactly.
    # Virtuoso 7.2 returns every literal of these queries exactly as stored (xsd:date, gYear,
    # integer counts, language tags), so nothing needs normalising; its legacy 'typed-literal'
    # JSON type is read by RemoteSparql as the same literal.
    return [tuple(sorted((k, str(v)) for k, v in row.items())) for row in result.rows]  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", STORES, indirect=True)
def test_publish_then_every_query_gives_the_same_rows(target: Target, two_article_build: BuildResult,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    target.env(monkeypatch)
    dist = str(two_article_build.out_dir)
    assert main(["publish", "--to", target.server.gsp, "--out", dist, "--timeout", "10"]) == 0
    printed = capsys.readouterr().out
    graphs = len(read_build(two_article_build.out_dir).graphs)
    assert f"sent ({graphs})" in printed and "MISMATCH" not in printed
    # the store's own counts, by SPARQL, agree with the build's manifest
    base = two_article_build.assembled.iris.base
    remote = target.sparql()
    manifest = json.loads((two_article_build.out_dir / "build.json").read_text(encoding="utf-8"))["graphs"]
    assert sparql_counts(remote, list(manifest)) == manifest
    store = open_store(two_article_build)
    for query in list_queries():
        values = {p.name: (base + QUERY_PARAMS[p.name] if p.type == "iri" else QUERY_PARAMS[p.name])
                  for p in query.parameters if p.required or p.name in ("speaker", "topic")}
        bindings = bind_parameters(query, values, base)
        here = run_query(store, query, bindings)
        there = run_remote_query(remote, query, bindings)
        assert there.variables == here.variables, query.name
        assert Counter(rows_of(there)) == Counter(rows_of(here)), query.name
        keys = order_keys(query.text, here.variables)
        # ties left by ORDER BY may come in any order; the order keys' sequence may not
        assert [tuple(str(r.get(k)) for k in keys) for r in there.rows] == \
            [tuple(str(r.get(k)) for k in keys) for r in here.rows], query.name
        assert here.rows, f"{query.name} found nothing to compare"
    # and the command line prints the same table from the remote endpoint as from the store
    assert main(["query", "quotations", "--out", dist, "--format", "csv"]) == 0
    local_csv = capsys.readouterr().out
    assert main(["query", "quotations", "--out", dist, "--format", "csv", "--endpoint", target.server.query]) == 0
    assert capsys.readouterr().out == local_csv
    # a page of a listing, too: its keys and its page both from the endpoint
    assert main(["query", "claims", "--out", dist, "--format", "csv", "--page", "1"]) == 0
    local_page = capsys.readouterr().out
    assert main(["query", "claims", "--out", dist, "--format", "csv", "--page", "1",
                 "--endpoint", target.server.query]) == 0
    assert capsys.readouterr().out == local_page and local_page.count("\n") > 10


@pytest.mark.parametrize("target", STORES, indirect=True)
def test_republish_sends_only_what_changed_and_deletes_removed_articles(
        target: Target, seed_build: BuildResult, two_article_build: BuildResult,
        changed_build: BuildResult) -> None:
    first, changed, seed = (read_build(b.out_dir) for b in (two_article_build, changed_build, seed_build))
    publish(first, target.gsp(), verify=False)
    state_iri = state_graph_iri(first.base_iri)
    article = str(two_article_build.assembled.iris.article_graph(EXTRA_SLUG))
    metadata = str(two_article_build.assembled.iris.metadata_graph)
    with Proxy(target_of(target.server.gsp)) as proxy:
        url = proxy.url(urlsplit(target.server.gsp).path)
        report = publish(changed, target.gsp(url))
        # Exactly the edited article's graph (its provenance lives in it), then the publish state.
        assert [s.graph for s in proxy.writes()] == [article, state_iri]
        assert report.sent == [article] and report.verified and metadata not in report.sent
        assert len(report.unchanged) == len(changed.graphs) - 1
        proxy.seen.clear()
        again = publish(changed, target.gsp(url), verify=False)
        assert proxy.writes() == [] and again.sent == [] and again.deleted == []
        assert [s.method for s in proxy.seen] == ["GET"] * len(proxy.seen)
        proxy.seen.clear()
        removed = publish(seed, target.gsp(url))
        deletes = [s.graph for s in proxy.writes() if s.method == "DELETE"]
        assert deletes == [article] and removed.deleted == [article] and removed.verified
    assert target.hashes({article})[article] is None
    assert_is(target, seed)
    state = target.gsp().read_state(state_iri)
    assert state == {iri: Published(g.sha256, g.size) for iri, g in seed.graphs.items()}


@pytest.mark.parametrize("target", STORES, indirect=True)
def test_sparql_update_fallback(target: Target, two_article_build: BuildResult,
                                changed_build: BuildResult) -> None:
    first, changed = read_build(two_article_build.out_dir), read_build(changed_build.out_dir)
    update_url = target.server.update

    def store() -> SparqlUpdate:
        return SparqlUpdate(update_url, StoreClient(10, target.credentials, FAST), target.sparql())

    report = publish(first, store())
    assert len(report.sent) == len(first.graphs) and report.verified
    assert all(c.local == c.remote for c in report.checks)
    again = store()
    assert publish(first, again, verify=False).sent == []
    assert again.client.requests_sent == 0  # the state is read by a query: no update sent
    assert publish(changed, store()).sent == [str(two_article_build.assembled.iris.article_graph(EXTRA_SLUG))]
    assert_is(target, changed)
    # the state each update request recorded beside its graph reads back through the GSP too
    assert target.gsp().read_state(state_graph_iri(first.base_iri)) == \
        {iri: Published(g.sha256, g.size) for iri, g in changed.graphs.items()}


# ---------------------------------------------------------------- faults

def test_store_going_away_mid_publish(fresh_oxigraph: OxigraphServer, two_article_build: BuildResult,
                                      changed_build: BuildResult) -> None:
    target = Target(fresh_oxigraph)
    old, new = read_build(two_article_build.out_dir), read_build(changed_build.out_dir)
    publish(old, target.gsp(), verify=False)
    puts = 0

    def plan(number: int, seen: Seen) -> str:
        nonlocal puts
        if seen.method == "PUT":
            puts += 1
            if puts == 2:
                fresh_oxigraph.kill()  # the store dies with the first graph in and the rest to go
        return FORWARD

    with Proxy(target_of(fresh_oxigraph.gsp), plan) as proxy:
        with pytest.raises(PublishFailed) as failure:
            publish(new, target.gsp(proxy.url("/store"), timeout=2), everything=True)
        message = str(failure.value)
        assert proxy.url("/store") in message and "502" in message and "run publish again" in message
        report = failure.value.report
        assert len(report.sent) == 1 and len(report.not_sent) == len(new.graphs) - 1
        assert not report.state_written
        fresh_oxigraph.start()  # back, on the same data, at a new port
        proxy.target = target_of(fresh_oxigraph.gsp)
        assert_old_or_new(target, old, new)
        proxy.seen.clear()
        second = publish(new, target.gsp(proxy.url("/store")))
    assert second.verified and second.sent  # the state was not recorded: it sends what it must
    assert_is(target, new)


@pytest.fixture(scope="module")
def both_changed_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The two-article build with both articles' headlines edited: two graphs change."""
    data = copy_data(tmp_path_factory.mktemp("both") / "data", with_extra=True)
    for slug in (EXTRA_SLUG, "section-907-opinion"):
        source = data / "articles" / f"{slug}.txt"
        text = source.read_text(encoding="utf-8")
        source.write_text(re.sub(r"(?m)^headline: .*$", f'headline: "Edited: {slug}"', text, count=1),
                          encoding="utf-8")
    return build(data, data.parent / "dist")


@pytest.mark.parametrize("fault", [FAIL, DROP])
def test_persistent_failure_of_one_graph(fault: str, ox_target: Target, two_article_build: BuildResult,
                                         both_changed_build: BuildResult) -> None:
    old, new = read_build(two_article_build.out_dir), read_build(both_changed_build.out_dir)
    publish(old, ox_target.gsp(), verify=False)
    # the second changed graph fails every time; the first one gets through
    failing = str(two_article_build.assembled.iris.article_graph("section-907-opinion"))
    article = str(two_article_build.assembled.iris.article_graph(EXTRA_SLUG))

    def plan(number: int, seen: Seen) -> str:
        return fault if seen.method == "PUT" and seen.graph == failing else FORWARD

    with Proxy(target_of(ox_target.server.gsp), plan) as proxy:
        with pytest.raises(PublishFailed) as failure:
            publish(new, ox_target.gsp(proxy.url("/store")))
        expected = "HTTP 500" if fault == FAIL else "connection"
        assert expected in str(failure.value) and failing in str(failure.value)
        report = failure.value.report
        assert report.sent == [article] and report.not_sent == [failing] and report.state_written
        assert sum(1 for s in proxy.seen if s.graph == failing) == FAST.attempts  # bounded
        assert_old_or_new(ox_target, old, new)
        proxy.plan = lambda number, seen: FORWARD
        proxy.seen.clear()
        second = publish(new, ox_target.gsp(proxy.url("/store")))
        # the article got through the first time and its state was recorded: not sent again
        assert second.sent == [failing] and second.verified
        assert [s.graph for s in proxy.writes()] == [failing, state_graph_iri(new.base_iri)]
    assert_is(ox_target, new)


def test_transient_500s_are_retried(ox_target: Target, two_article_build: BuildResult) -> None:
    local = read_build(two_article_build.out_dir)
    failed_once: set[str | None] = set()

    def plan(number: int, seen: Seen) -> str:
        if seen.method == "PUT" and seen.graph not in failed_once:
            failed_once.add(seen.graph)
            # alternately: refused before, and refused after the store applied it
            return FAIL if len(failed_once) % 2 else APPLY_THEN_FAIL
        return FORWARD

    with Proxy(target_of(ox_target.server.gsp), plan) as proxy:
        report = publish(local, ox_target.gsp(proxy.url("/store")))
        assert len(proxy.writes()) == 2 * (len(local.graphs) + 1)  # every graph and the state, twice
    assert report.verified and len(report.sent) == len(local.graphs)
    assert_is(ox_target, local)


def test_timeout(ox_target: Target, two_article_build: BuildResult, changed_build: BuildResult) -> None:
    old, new = read_build(two_article_build.out_dir), read_build(changed_build.out_dir)
    publish(old, ox_target.gsp(), verify=False)
    article = str(two_article_build.assembled.iris.article_graph(EXTRA_SLUG))

    def plan(number: int, seen: Seen) -> str:
        return STALL if seen.method == "PUT" and seen.graph == article else FORWARD

    with Proxy(target_of(ox_target.server.gsp), plan, stall_seconds=1.0) as proxy:
        started = time.monotonic()
        with pytest.raises(PublishFailed) as failure:
            publish(new, ox_target.gsp(proxy.url("/store"), timeout=0.3))
        assert time.monotonic() - started < 5  # bounded: three tries of 0.3 s and short backoffs
        assert "timed out" in str(failure.value) and article in str(failure.value)
        assert failure.value.report.sent == []
        time.sleep(1.2)  # the stalled PUTs reach the store late, as they can in life
        assert_old_or_new(ox_target, old, new)
        proxy.plan = lambda number, seen: FORWARD
        assert publish(new, ox_target.gsp(proxy.url("/store"))).verified
    assert_is(ox_target, new)


# ---------------------------------------------------------------- credentials and guards

def test_wrong_credentials_send_nothing_else(virtuoso: VirtuosoServer, two_article_build: BuildResult,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = Target(virtuoso)
    target.env(monkeypatch, password="not-the-password")
    with Proxy(target_of(virtuoso.gsp)) as proxy:
        url = proxy.url("/sparql-graph-crud-auth")
        code = main(["publish", "--to", url, "--out", str(two_article_build.out_dir)])
        error = capsys.readouterr().err
        assert code == 2
        assert url in error and "401" in error and "refused the credentials" in error
        assert "not-the-password" not in error
        assert {s.method for s in proxy.seen} == {"GET"}  # the state read, challenged; nothing written


def test_basic_auth_from_netrc(ox_target: Target, two_article_build: BuildResult, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    local = read_build(two_article_build.out_dir)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login editor password s3cret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for name in ("CLAIMGRAPH_STORE_USER", "CLAIMGRAPH_STORE_PASSWORD", "CLAIMGRAPH_STORE_AUTH"):
        monkeypatch.delenv(name, raising=False)
    with Proxy(target_of(ox_target.server.gsp), basic_auth=("editor", "s3cret")) as proxy:
        credentials = find_credentials(proxy.url("/store"))
        assert credentials == Credentials("editor", "s3cret", "auto")
        assert "s3cret" not in repr(credentials)
        store = GraphStoreProtocol(proxy.url("/store"), StoreClient(5, credentials, FAST))
        assert publish(local, store).verified
        wrong = GraphStoreProtocol(proxy.url("/store"), StoreClient(5, Credentials("editor", "nope"), FAST))
        proxy.seen.clear()
        with pytest.raises(RemoteAuthError) as refused:
            publish(local, wrong, everything=True)
        assert refused.value.status == 401 and proxy.url("/store") in str(refused.value)
        assert {s.method for s in proxy.seen} == {"GET"}


def test_refuses_an_empty_or_sharply_smaller_build(ox_target: Target, two_article_build: BuildResult) -> None:
    local = read_build(two_article_build.out_dir)
    publish(local, ox_target.gsp(), verify=False)
    metadata = local.graphs[str(two_article_build.assembled.iris.metadata_graph)]
    small = LocalBuild(local.out_dir, local.base_iri, {metadata.iri: metadata})
    empty = LocalBuild(local.out_dir, local.base_iri, {})
    with Proxy(target_of(ox_target.server.gsp)) as proxy:
        for shrunk in (small, empty):
            with pytest.raises(PublishRefused, match="allow-shrink"):
                publish(shrunk, ox_target.gsp(proxy.url("/store")))
        assert proxy.writes() == []
        report = publish(small, ox_target.gsp(proxy.url("/store")), allow_shrink=True)
        assert len(report.deleted) == len(local.graphs) - 1 and report.verified


# ---------------------------------------------------------------- the query client

def test_remote_sparql_client_binds_values_and_constructs(oxigraph: OxigraphServer,
                                                         two_article_build: BuildResult) -> None:
    local = read_build(two_article_build.out_dir)
    target = Target(oxigraph)
    publish(local, target.gsp(), verify=False)
    client = target.sparql()
    article = ox.NamedNode(str(two_article_build.assembled.iris.article(SEED_SLUG)))
    triples = client.construct("CONSTRUCT { ?a ?p ?o } WHERE { ?a ?p ?o }", {"a": article})
    assert triples and {t.subject for t in triples} == {article}
    assert client.ask("ASK { ?a a <http://schema.org/OpinionNewsArticle> }", {"a": article})
    # a value that tries to close the VALUES block stays one literal
    hostile = ox.Literal('x" } } ; DROP ALL ; SELECT * { "')
    assert client.select("SELECT ?t WHERE { ?s <http://schema.org/text> ?t }", {"t": hostile}).rows == []
    several = client.select("SELECT ?a WHERE { ?a a <http://schema.org/OpinionNewsArticle> }",
                            [{"a": article}, {"a": ox.NamedNode("https://nowhere.example/x")}])
    assert [r["a"] for r in several.rows] == [article]
    # a header whose comment lines name another query form: the form is the query's, not the
    # comments' (SPARQLWrapper skips every other line of a comment block)
    commented = ("# title: t\n# description: what VoID does not describe\n#   and so on\n"
                 "SELECT ?a WHERE { ?a a <http://schema.org/OpinionNewsArticle> }")
    assert [r["a"] for r in client.select(commented, {"a": article}).rows] == [article]
    assert query_form(commented) == "SELECT"  # Virtuoso answered the guessed DESCRIBE with no body


# ---------------------------------------------------------------- units

def test_values_go_first_in_the_where_group() -> None:
    query = ('PREFIX s: <http://schema.org/>  # a comment with { and WHERE\n'
             'SELECT ?x (EXISTS { ?x ?p "}" } AS ?e) WHERE { ?x s:name "{WHERE}" } ORDER BY ?x')
    bound = bind_values(query, {"x": ox.NamedNode("http://ex/a")})
    assert '} AS ?e) WHERE {\n  VALUES (?x) { (<http://ex/a>) }\n ?x s:name' in bound
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert where_group_start(construct) == construct.index("WHERE {") + len("WHERE {")
    with pytest.raises(ValueError, match="takes no bindings"):
        bind_values("CONSTRUCT WHERE { ?s ?p ?o }", {"s": ox.NamedNode("http://ex/a")})
    assert bind_values("DESCRIBE ?x", {"x": ox.NamedNode("http://ex/a")}).endswith(
        "VALUES (?x) { (<http://ex/a>) }\n")
    assert bind_values(query, {}) == query
    literal = bind_values("SELECT * { ?s ?p ?o }", [{"o": ox.Literal('a"b\nc', language="en")}, {}])
    assert 'VALUES (?o) { ("a\\"b\\nc"@en) }' in literal
    with pytest.raises(ValueError):
        bind_values("SELECT * { ?s ?p ?o }", {"o; DROP": ox.Literal("x")})
    # the result parses and means what pyoxigraph's substitution means
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://ex/a"), ox.NamedNode("http://ex/p"), ox.Literal("1")))
    store.add(ox.Quad(ox.NamedNode("http://ex/b"), ox.NamedNode("http://ex/p"), ox.Literal("2")))
    text = "SELECT ?s ?o WHERE { ?s <http://ex/p> ?o }"
    bindings = {"s": ox.NamedNode("http://ex/b")}
    assert [s["o"] for s in store.query(bind_values(text, bindings))] == \
        [s["o"] for s in store.query(text, substitutions={ox.Variable("s"): bindings["s"]})]


def test_credentials_come_from_the_environment_or_netrc(tmp_path: Path) -> None:
    from claimgraph.remote import RemoteError

    env = {"CLAIMGRAPH_STORE_USER": "u", "CLAIMGRAPH_STORE_PASSWORD": "p", "NETRC": "/nonexistent"}
    assert find_credentials("http://h/x", environ=env) == Credentials("u", "p", "auto")
    assert find_credentials("http://h/x", "digest", env).scheme == "digest"
    with pytest.raises(RemoteError, match="both"):
        find_credentials("http://h/x", environ={"CLAIMGRAPH_STORE_USER": "u", "NETRC": "/nonexistent"})
    netrc = tmp_path / "netrc"
    netrc.write_text("machine store.example login a password b\n", encoding="utf-8")
    netrc.chmod(0o600)
    assert find_credentials("https://store.example/data", environ={"NETRC": str(netrc)}) == Credentials("a", "b")
    assert find_credentials("https://other.example/", environ={"NETRC": str(netrc)}) is None


def test_graph_hash_ignores_order_and_blank_node_labels() -> None:
    p = ox.NamedNode("http://ex/p")
    a = [ox.Triple(ox.NamedNode("http://ex/s"), p, ox.Literal("1")),
         ox.Triple(ox.NamedNode("http://ex/s"), p, ox.BlankNode("x1"))]
    b = [ox.Triple(ox.NamedNode("http://ex/s"), p, ox.BlankNode("other")),
         ox.Triple(ox.NamedNode("http://ex/s"), p, ox.Literal("1"))]
    assert graph_hash(a) == graph_hash(b)
    assert graph_hash(a) != graph_hash(a[:1])
    graph = LocalGraph.of("http://ex/g", a)
    assert graph.size == 2 and graph.ntriples().endswith(b" .\n")
    state = {"http://ex/g": Published(graph.sha256, 2)}
    assert parse_state(state_triples(state)) == state
    doubled = [*state_triples(state), ox.Triple(ox.NamedNode("http://ex/g"), state_triples(state)[0].predicate,
                                                 ox.Literal("0" * 64))]
    assert parse_state(doubled) == {}  # ambiguous: treated as unknown, so sent again


def test_serve_over_the_remote_store(target: Target, two_article_build: BuildResult,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`claimgraph serve --endpoint`: the same site, negotiation and /sparql, from the store."""
    import httpx
    from rdflib import Graph, URIRef
    from SPARQLWrapper import JSON, SPARQLWrapper

    from webserver import running_app

    target.env(monkeypatch)
    dist = two_article_build.out_dir
    assert main(["publish", "--to", target.server.gsp, "--out", str(dist), "--timeout", "10"]) == 0
    with running_app(dist, endpoint=target.server.query) as url:
        article = httpx.get(url + "article/section-907-opinion", headers={"Accept": "text/turtle"}, timeout=30)
        assert article.status_code == 200, article.text
        g = Graph().parse(data=article.content, format="turtle")
        node = URIRef(url + "article/section-907-opinion")
        assert str(g.value(node, URIRef("http://schema.org/headline"))).startswith("Repealing Section 907")
        page = httpx.get(url + "entity/azerbaijan", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and "Q227" in page.text and "Caspian" in page.text
        sparql = SPARQLWrapper(url + "sparql")
        sparql.setQuery("SELECT (COUNT(*) AS ?n) WHERE { ?q a <http://schema.org/Quotation> }")
        sparql.setReturnFormat(JSON)
        count = sparql.queryAndConvert()["results"]["bindings"][0]["n"]["value"]
        assert int(count) == 4
        answer = httpx.get(url + "queries/quotations", params={"format": "json"}, timeout=30)
        assert len(answer.json()["results"]["bindings"]) == 4
        assert answer.headers["claimgraph-page"] == "1/1"  # paged: its keys came from the store too
        assert httpx.get(url + "article/nothing-here", headers={"Accept": "text/turtle"}).status_code == 404


def _dump_graphs(path: Path) -> dict[str, list[ox.Triple]]:
    by_graph: dict[str, list[ox.Triple]] = {}
    for quad in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
        by_graph.setdefault(quad.graph_name.value, []).append(quad.triple)
    return by_graph


def test_read_build_reads_each_graph_of_the_dump(two_article_build: BuildResult, tmp_path: Path) -> None:
    """read_build keeps only each graph's hash and size, reading its triples again to send
    them; a dump whose graphs are out of order is still read right, one with a triple
    outside any named graph is refused."""
    expected = _dump_graphs(two_article_build.out_dir / "dataset.nq")
    local = read_build(two_article_build.out_dir)
    assert set(local.graphs) == set(expected)
    assert list(local.graphs)[-1].endswith("/graph/metadata")
    for iri, graph in local.graphs.items():
        assert (graph.size, graph.sha256) == (len(expected[iri]), graph_hash(expected[iri])), iri
        assert sorted(map(str, graph.triples())) == sorted(map(str, expected[iri]))
    lines = (two_article_build.out_dir / "dataset.nq").read_bytes().splitlines(keepends=True)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    (shuffled / "build.json").write_bytes((two_article_build.out_dir / "build.json").read_bytes())
    (shuffled / "dataset.nq").write_bytes(b"".join([*lines[1::2], b"# a comment\n", b"\n", *lines[0::2]]))
    again = read_build(shuffled)
    assert {iri: (g.size, g.sha256) for iri, g in again.graphs.items()} == {
        iri: (g.size, g.sha256) for iri, g in local.graphs.items()}
    (shuffled / "dataset.nq").write_bytes(b"".join(lines) + b"<http://ex/s> <http://ex/p> <http://ex/o> .\n")
    with pytest.raises(OutputError, match="outside any named graph"):
        read_build(shuffled)


def test_retries_back_off_honour_retry_after_and_stop_at_the_last_try() -> None:
    """The one retry loop both remote clients (graph store, SPARQL) use."""
    policy = RetryPolicy(attempts=4, backoff=0.5, max_backoff=8, max_wait=10)
    slept: list[float] = []
    outcomes = iter([RetryableFailure("down", 500), RetryableFailure("busy", 429, wait=3.0),
                     RetryableFailure("down", 503), "answer"])

    def attempt() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(policy, slept.append, attempt) == "answer"
    assert slept == [0.5, 3.0, 2.0]  # backoff, the Retry-After, backoff doubled
    slept.clear()

    def always_down() -> str:
        raise RetryableFailure("bad gateway", 502)

    with pytest.raises(RetryableFailure) as last:
        with_retries(RetryPolicy(attempts=3, backoff=0.1), slept.append, always_down)
    assert last.value.status == 502 and slept == [0.1, 0.2]  # no wait after the last try
    tries: list[int] = []

    def refused() -> str:
        tries.append(1)
        raise RemoteError("refused", "http://127.0.0.1/", 400)

    with pytest.raises(RemoteError):
        with_retries(policy, slept.append, refused)
    assert tries == [1]  # anything but a RetryableFailure ends the tries at once


def test_judge_status_retries_only_what_may_mend() -> None:
    policy = RetryPolicy(max_wait=60)
    url = "http://127.0.0.1/store"
    assert judge_status(503, "5", policy, url, f"PUT {url}", "was refused").wait == 5.0
    failure = judge_status(500, None, policy, url, f"PUT {url}", "was refused", ": boom")
    assert (failure.failure, failure.status, failure.wait) == ("HTTP 500 Internal Server Error: boom", 500, None)
    with pytest.raises(RemoteError, match="asked to wait 3600 s, longer than the 60 s"):
        judge_status(429, "3600", policy, url, f"PUT {url}", "was refused")
    with pytest.raises(RemoteAuthError, match="HTTP 401 Unauthorized; set a password"):
        judge_status(401, None, policy, url, f"PUT {url}", "was refused", credentials_hint="; set a password")
    with pytest.raises(RemoteAuthError) as forbidden:
        judge_status(403, None, policy, url, f"PUT {url}", "was refused", credentials_hint="; set a password")
    assert "set a password" not in str(forbidden.value)  # other credentials would not help
    with pytest.raises(RemoteError, match=r"PUT http://127.0.0.1/store was refused: HTTP 404 Not Found: gone") as gone:
        judge_status(404, None, policy, url, f"PUT {url}", "was refused", ": gone")
    assert not isinstance(gone.value, RemoteAuthError) and gone.value.status == 404
