"""The clients claimgraph runs against other servers, facing servers that misbehave: the publish
client (Graph Store Protocol), the Wikidata client of ``claimgraph link``, the remote engine of
``claimgraph serve --endpoint``; and the network guard that watches every test.

Faults come from a scripted loopback HTTP server: each request gets the next step of its script
(a status with Retry-After, an HTML page, a body cut short, silence), or is passed on to a real
store (``oxigraph serve`` on loopback) when the script is used up. After each fault the test
checks what a user would: the exit code or error, its message, and that the remote store's
graphs, or the Wikidata cache's bytes, are exactly what they were.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

import netguard
from claimgraph.build import BuildResult
from claimgraph.cli import main
from claimgraph.linking.client import ClientSettings, LinkError, WikidataClient, remote_query
from claimgraph.remote import GraphStoreProtocol, LocalBuild, RemoteError, RetryPolicy, StoreClient, publish, read_build
from claimgraph.remote.graphs import graph_hash
from claimgraph.web.app import create_app
from claimgraph.web.server import make_settings, uvicorn_options
from claimgraph.web.sparql import ERROR_HEADER
from conftest import copy_data
from netguard import netguard as _netguard  # noqa: F401 - the autouse guard against non-loopback connections
from servers import serve
from stores import OxigraphServer

LOOPBACK = "127.0.0.1"
FAST = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2, max_wait=10)
SPARQL_JSON = "application/sparql-results+json"


class Scripted:
    """A loopback HTTP server. Each request takes the next step of ``script``:
    ``("answer", status, headers, body)``, ``("cut", status, headers, body, declared_length)`` (a
    body shorter than its Content-Length, then the connection closes), ``("silent", seconds)``,
    or ``"forward"`` to ``upstream`` (host:port); an empty script forwards (or answers 502 when
    there is no upstream). ``seen`` records (method, path, body) of every request."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream
        self.script: deque = deque()
        self.seen: list[tuple[str, str, bytes]] = []
        self.stop = threading.Event()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                scripted.seen.append((self.command, self.path, body))
                step = scripted.script.popleft() if scripted.script else "forward"
                if step == "forward":
                    status, headers, content = scripted._forward(self.command, self.path, self.headers, body)
                    self._send(status, headers, content)
                elif step[0] == "answer":
                    self._send(step[1], step[2], step[3])
                elif step[0] == "cut":
                    self.send_response(step[1])
                    for name, value in step[2].items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(step[4]))
                    self.end_headers()
                    self.wfile.write(step[3])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                elif step[0] == "silent":
                    scripted.stop.wait(step[1])
                    self.close_connection = True

            def _send(self, status: int, headers: dict[str, str], content: bytes) -> None:
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _forward(self, method: str, path: str, headers: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.upstream is None:
            return 502, {"Content-Type": "text/plain"}, b"no upstream"
        host, port = self.upstream.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            sent = {k: v for k, v in headers.items()  # type: ignore[attr-defined]
                    if k.lower() not in ("host", "content-length", "connection", "transfer-encoding")}
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            content = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive")}
            return response.status, kept, content
        finally:
            connection.close()

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.seen if method in ("PUT", "DELETE", "POST")]

    def __enter__(self) -> Scripted:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# ---------------------------------------------------------------- the guard itself

def test_the_guard_catches_a_non_loopback_connection_in_this_process():
    with netguard.expect_violations() as found:
        with pytest.raises(ConnectionRefusedError, match="netguard"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.org", 80)
        with pytest.raises(httpx.ConnectError, match="netguard"):
            httpx.get("http://198.51.100.7/", timeout=1)
    assert any("192.0.2.1" in f for f in found) and any("example.org" in f for f in found)
    assert any("198.51.100.7" in f for f in found)
    with Scripted() as local:  # loopback stays allowed
        local.script.append(("answer", 200, {}, b"ok"))
        assert httpx.get(local.url, timeout=5).text == "ok"


def test_the_guard_catches_a_non_loopback_connection_in_a_subprocess():
    code = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
            "except OSError as exc:\n    print(type(exc).__name__)\n")
    with netguard.expect_violations() as found:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "NonLoopbackConnection" in result.stdout, result.stderr
    assert any("192.0.2.1" in f for f in found), found


# ---------------------------------------------------------------- publishing

@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path_factory.mktemp("store") / "db").start()
    yield server
    server.stop()


@pytest.fixture
def published(store: OxigraphServer, two_article_build: BuildResult) -> LocalBuild:
    """The store holding exactly the two-article build, published cleanly."""
    local = read_build(two_article_build.out_dir)
    client = StoreClient(10, None, FAST)
    gsp = GraphStoreProtocol(store.gsp, client)
    for iri in contents(store, local):
        gsp.delete(iri, "")
    publish(local, gsp, everything=True, verify=False)
    client.close()
    return local


def contents(store: OxigraphServer, local: LocalBuild) -> dict[str, str | None]:
    """Every graph the build and its publish state name, with its content hash in the store."""
    from claimgraph.remote.state import state_graph_iri

    gsp = GraphStoreProtocol(store.gsp, StoreClient(10, None, FAST))
    found = {}
    for iri in sorted({*local.graphs, state_graph_iri(local.base_iri)}):
        triples = gsp.get(iri)
        found[iri] = None if triples is None else graph_hash(triples)
    gsp.client.close()
    return found


def upstream_of(store: OxigraphServer) -> str:
    return f"{LOOPBACK}:{store.port}"


def edited(two_article_build: BuildResult, tmp_path: Path) -> LocalBuild:
    """The two-article build with one headline changed: one graph to send."""
    data = copy_data(tmp_path / "data", with_extra=True)
    path = data / "articles" / "caspian-ledger-waiver.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("headline: \"Keep the waiver",
                                                             "headline: \"Edited: keep the waiver"), encoding="utf-8")
    from claimgraph.build import build

    return read_build(build(data, tmp_path / "dist").out_dir)


@pytest.mark.parametrize("retry_after", ["1", "http-date"])
def test_publish_waits_as_long_as_retry_after_asks(store, published, two_article_build, tmp_path, retry_after):
    new = edited(two_article_build, tmp_path)
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    header = {"Retry-After": "1" if retry_after == "1" else when, "Content-Type": "text/plain"}
    slept: list[float] = []
    with Scripted(upstream_of(store)) as scripted:
        scripted.script.extend(["forward", ("answer", 429, header, b"slow down"),
                                ("answer", 503, header, b"overloaded")])
        client = StoreClient(10, None, FAST, sleep=slept.append)
        report = publish(new, GraphStoreProtocol(scripted.url + "/store", client))
    assert report.verified and len(report.sent) == 1
    assert len(slept) == 2
    if retry_after == "1":
        assert slept == [1.0, 1.0]
    else:
        assert all(1.0 <= s <= 3.5 for s in slept), slept
    assert contents(store, new) == {**contents(store, new), **{i: g.sha256 for i, g in new.graphs.items()}}


def test_publish_gives_up_at_once_on_a_retry_after_too_long(store, published, two_article_build, tmp_path):
    new = edited(two_article_build, tmp_path)
    before = contents(store, published)
    with Scripted(upstream_of(store)) as scripted:
        scripted.script.extend(["forward", ("answer", 429, {"Retry-After": "3600"}, b"come back tomorrow")])
        client = StoreClient(10, None, FAST, sleep=lambda s: pytest.fail(f"slept {s} s"))
        with pytest.raises(RemoteError, match="asked to wait 3600 s, longer than the 10 s") as failure:
            publish(new, GraphStoreProtocol(scripted.url + "/store", client))
        assert "run publish again" in str(failure.value)
        assert [m for m, _ in scripted.writes()] == ["PUT"]  # the one refused; no retry
    assert contents(store, published) == before


@pytest.mark.parametrize("answer", [
    ("answer", 200, {"Content-Type": "text/html"}, b"<!doctype html><title>Sign in</title><form>"),
    ("answer", 200, {"Content-Type": "application/n-triples"}, b"<http://x/s> <http://x/p> \"unterminated"),
    ("cut", 200, {"Content-Type": "application/n-triples"}, b"<http://x/s> <http://x/p> <http://x/o> .\n<http:/", 4000),
], ids=["html-login-page", "truncated-ntriples", "body-cut-short"])
def test_publish_sends_nothing_when_the_state_answer_is_not_rdf(store, published, two_article_build, tmp_path,
                                                                answer):
    new = edited(two_article_build, tmp_path)
    before = contents(store, published)
    with Scripted(upstream_of(store)) as scripted:
        scripted.script.extend([answer] * FAST.attempts)
        with pytest.raises(RemoteError) as failure:
            publish(new, GraphStoreProtocol(scripted.url + "/store", StoreClient(5, None, FAST)))
        assert scripted.url in str(failure.value)
        assert "does not parse" in str(failure.value) or "connection broke" in str(failure.value)
        assert scripted.writes() == []
    assert contents(store, published) == before


@pytest.mark.parametrize("how", ["empty", "one-graph-left"])
def test_publish_refuses_an_empty_or_shrunken_build(store, published, two_article_build, tmp_path, capsys,
                                                    monkeypatch, how):
    """A dist/ whose dump was emptied or cut down to one graph (a failed copy, a wrong folder)."""
    dist = tmp_path / "dist"
    subprocess.run(["cp", "-a", str(two_article_build.out_dir), str(dist)], check=True)
    dump = dist / "dataset.nq"
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    metadata = str(two_article_build.assembled.iris.metadata_graph)
    dump.unlink()  # the copy's dump is a hard link to the original build's: write a new file
    dump.write_text("" if how == "empty" else "".join(line for line in lines if f"<{metadata}>" in line),
                    encoding="utf-8")
    before = contents(store, published)
    for name in ("CLAIMGRAPH_STORE_USER", "CLAIMGRAPH_STORE_PASSWORD", "CLAIMGRAPH_STORE_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent")
    with Scripted(upstream_of(store)) as scripted:
        code = main(["publish", "--to", scripted.url + "/store", "--out", str(dist), "--timeout", "5"])
        err = capsys.readouterr().err
        assert code == 2 and "--allow-shrink" in err and "Traceback" not in err, err
        assert ("no triples" in err) if how == "empty" else ("Refusing to shrink" in err)
        assert scripted.writes() == []
    assert contents(store, published) == before


def test_a_store_that_never_answers_fails_within_the_timeouts(store, published, two_article_build, tmp_path):
    new = edited(two_article_build, tmp_path)
    before = contents(store, published)
    with Scripted(upstream_of(store)) as scripted:
        scripted.script.extend([("silent", 5)] * FAST.attempts)
        started = time.monotonic()
        with pytest.raises(RemoteError, match="timed out"):
            publish(new, GraphStoreProtocol(scripted.url + "/store", StoreClient(0.5, None, FAST)))
        assert time.monotonic() - started < FAST.attempts * 0.5 + 2
        assert len(scripted.seen) == FAST.attempts and scripted.writes() == []
    assert contents(store, published) == before


# ---------------------------------------------------------------- the Wikidata client and its cache

def results(rows: list[dict] | None = None, variables: tuple[str, ...] = ("item",)) -> bytes:
    return json.dumps({"head": {"vars": list(variables)}, "results": {"bindings": rows or []}}).encode()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return copy_data(tmp_path / "data")


def cache_bytes(data: Path) -> str:
    return hashlib.sha256((data / "wikidata" / "entities.ttl").read_bytes()).hexdigest()


def test_an_endpoint_that_knows_nothing_does_not_empty_the_cache(data, capsys):
    """A stand-in with no data (or a wrong URL that speaks SPARQL) answers every query with no
    rows; the refresh must not replace the committed cache with an empty one."""
    before = cache_bytes(data)
    with Scripted() as scripted:
        for _ in range(50):
            scripted.script.append(("answer", 200, {"Content-Type": SPARQL_JSON}, results()))
        code = main(["link", "--no-input", "--enrich", "--data", str(data), "--endpoint", scripted.url + "/sparql",
                     "--timeout", "5"])
        err = capsys.readouterr().err
    assert code == 2 and "refusing to empty the cache" in err and "--allow-shrink" in err, err
    assert cache_bytes(data) == before
    with Scripted() as scripted:  # the explicit flag writes it
        for _ in range(50):
            scripted.script.append(("answer", 200, {"Content-Type": SPARQL_JSON}, results()))
        code = main(["link", "--no-input", "--enrich", "--allow-shrink", "--data", str(data),
                     "--endpoint", scripted.url + "/sparql", "--timeout", "5"])
    assert code == 0, capsys.readouterr().err
    assert cache_bytes(data) != before


@pytest.mark.parametrize("answer", [
    ("cut", 200, {"Content-Type": SPARQL_JSON}, b'{"head": {"vars": ["item"]}, "results": {"bindings": [{"it', 900),
    ("answer", 200, {"Content-Type": SPARQL_JSON}, b"<!DOCTYPE html><html><body>Gateway</body></html>"),
    ("answer", 200, {"Content-Type": SPARQL_JSON}, results([{"item": {"type": "uri"}}])),
    ("answer", 200, {"Content-Type": SPARQL_JSON}, b'{"head": {"vars": ["item"]}, "results": {"bindings": '
                                                   b'[{"item": {"type": "uri", "value": "not an iri"}}]}}'),
    ("answer", 200, {"Content-Type": "application/json"}, b"[]"),
    ("answer", 200, {"Content-Type": SPARQL_JSON}, b"\xff\xfe{}"),
], ids=["body-cut-short", "html-as-json", "binding-without-value", "invalid-iri", "not-an-object", "not-utf8"])
def test_a_broken_answer_fails_the_refresh_and_leaves_the_cache(data, capsys, answer):
    before = cache_bytes(data)
    with Scripted() as scripted:
        scripted.script.extend([answer] * 4)
        code = main(["link", "--no-input", "--enrich", "--data", str(data), "--endpoint", scripted.url + "/sparql",
                     "--timeout", "5", "--retries", "1"])
        err = capsys.readouterr().err
        assert len(scripted.seen) <= 2  # bounded: one try and at most one retry
    assert code == 2 and scripted.url in err and "Traceback" not in err, err
    assert any(words in err for words in ("malformed JSON", "not a SPARQL JSON results document", "invalid RDF term",
                                          "the connection failed", "not UTF-8", "IncompleteRead")), err
    assert cache_bytes(data) == before


def test_retry_after_as_an_http_date_is_honoured():
    slept: list[float] = []
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    with Scripted() as scripted:
        scripted.script.extend([("answer", 503, {"Retry-After": when}, b"busy"),
                                ("answer", 429, {"Retry-After": "garbage"}, b"slow down"),
                                ("answer", 200, {"Content-Type": SPARQL_JSON}, results())])
        client = WikidataClient(ClientSettings(scripted.url + "/sparql", timeout=5, attempts=4), sleep=slept.append)
        client.select(remote_query("items"), [{"item": ox.NamedNode("http://www.wikidata.org/entity/Q227")}])
    assert len(slept) == 2
    assert 2.0 <= slept[0] <= 4.5, slept  # the date, less the time already gone
    assert slept[1] == 2.0  # no usable Retry-After: exponential backoff (1 s, then 2 s)


def test_a_silent_endpoint_is_given_up_within_its_timeouts():
    with Scripted() as scripted:
        scripted.script.extend([("silent", 5)] * 5)
        client = WikidataClient(ClientSettings(scripted.url + "/sparql", timeout=1, attempts=2), sleep=lambda s: None)
        started = time.monotonic()
        with pytest.raises(LinkError, match="no answer within 1 s"):
            client.select(remote_query("items"), [{"item": ox.NamedNode("http://www.wikidata.org/entity/Q227")}])
        assert time.monotonic() - started < 2 * 1 + 2
        assert len(scripted.seen) == 1  # a timeout is not one of the statuses worth retrying


# ---------------------------------------------------------------- serve --endpoint over a store that misbehaves

@pytest.fixture(scope="module")
def remote_site(store: OxigraphServer, seed_build: BuildResult) -> Iterator[tuple[Scripted, str]]:
    local = read_build(seed_build.out_dir)
    publish(local, GraphStoreProtocol(store.gsp, StoreClient(10, None, FAST)), everything=True, verify=False)
    with Scripted(upstream_of(store)) as scripted:
        def app(url: str):
            return create_app(make_settings(seed_build.out_dir, url, query_timeout=3,
                                            endpoint=scripted.url + "/query"))

        with serve(app, **uvicorn_options()) as running:
            yield scripted, running.url


@pytest.mark.parametrize("answer", [
    ("answer", 200, {"Content-Type": "text/html"}, b"<html><body>Maintenance</body></html>"),
    ("cut", 200, {"Content-Type": SPARQL_JSON}, b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":', 5000),
    ("answer", 500, {"Content-Type": "text/html"}, b"<html>Internal error</html>"),
    ("silent", 6),
], ids=["html", "json-cut-short", "500", "silent"])
def test_a_misbehaving_remote_store_is_an_error_never_an_empty_answer(remote_site, answer):
    scripted, url = remote_site
    scripted.script.append(answer)
    started = time.monotonic()
    response = httpx.get(url + "sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}, timeout=30)
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers[ERROR_HEADER] in ("unavailable", "timeout")
    assert response.text.strip() and '"bindings"' not in response.text
    assert time.monotonic() - started < 3 + 3
    scripted.script.clear()
    ok = httpx.get(url + "sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}, timeout=30)
    assert ok.status_code == 200 and len(ok.json()["results"]["bindings"]) == 3
