"""Hostile HTTP against ``claimgraph serve``: path traversal, forged Host headers, CORS with
credentials, unexpected methods, oversized and slow requests.

The server is the real app under uvicorn with the options ``claimgraph serve`` uses (a short
header timeout here, so slow clients are cut off within the test's time), on a loopback port,
over a copy of the seed build that has a secret file beside it. Requests that a client library
would normalise (``..``, ``%2e``, backslashes, NUL) go over a raw socket, byte for byte.
"""

from __future__ import annotations

import contextlib
import dataclasses
import select
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from claimgraph.build import BuildResult
from claimgraph.web.app import create_app
from claimgraph.web.server import make_settings, uvicorn_options
from netguard import netguard  # noqa: F401 - the autouse guard against non-loopback connections
from servers import ServerThread, serve

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
SECRET = "TOP-SECRET-4b1d"
EVIL = "evil.example"


@pytest.fixture(scope="module")
def site(seed_build: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed build, with files outside it that no request may reach."""
    root = tmp_path_factory.mktemp("served")
    out = root / "dist"
    shutil.copytree(seed_build.out_dir, out)
    (root / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    (out / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")  # inside, but not a published file
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[ServerThread]:
    def app(url: str):
        settings = dataclasses.replace(make_settings(site, url, query_timeout=3), body_timeout=BODY_TIMEOUT)
        return create_app(settings)

    with serve(app, **uvicorn_options(header_timeout=HEADER_TIMEOUT)) as running:
        yield running


def raw(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is; read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # the server may answer and stop reading before all is sent: its answer is still there
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def get(port: int, target: str, *extra: str) -> tuple[int, dict[str, str], bytes]:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *extra, "", ""]
    return raw(port, "\r\n".join(lines).encode("latin-1"))


def still_answers(server: ServerThread) -> None:
    started = time.monotonic()
    assert httpx.get(server.url + "healthz", timeout=10).status_code == 200
    assert httpx.get(server.url + "sparql", params={"query": "ASK {}"}, timeout=10).json()["boolean"] is True
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------- path traversal

TRAVERSALS = [
    "/download/../secret.txt",
    "/download/..%2fsecret.txt",
    "/download/..%2f..%2fsecret.txt",
    "/download/%2e%2e/secret.txt",
    "/download/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/download/..%5csecret.txt",
    "/download/..\\..\\secret.txt",
    "/download//etc/passwd",
    "/download/%2fetc%2fpasswd",
    "/download/dataset.ttl%00.txt",
    "/download/secret.txt",
    "/download/build.json",
    "/download/store/CURRENT",
    "/download/%252e%252e%252fsecret.txt",
    "/download/....//....//secret.txt",
    "/download/..;/secret.txt",
    "/download/dataset.ttl/../../secret.txt",
    "/entity/..%2f..%2fsecret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/shapes/../secret.txt",
    "/ontology.%2e%2e%2f..%2fsecret.txt",
    "/site/../secret.txt",
    "/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_path_reaches_a_file_that_is_not_published(server, target):
    status, _, body = get(server.port, target)
    assert status in (400, 404, 405), (status, body[:200])
    assert SECRET.encode() not in body and b"root:" not in body and b'"base_iri"' not in body
    assert b"Traceback" not in body
    if status == 404:
        assert b"404 Not Found" in body or b"Not Found" in body  # a readable reason


def test_the_published_downloads_are_still_served(server, site):
    status, headers, body = get(server.port, "/download/dataset.ttl")
    assert status == 200 and body == (site / "dataset.ttl").read_bytes()
    assert headers["content-disposition"] == 'attachment; filename="dataset.ttl"'


# ---------------------------------------------------------------- the Host header builds nothing

FORGED = (f"Host: {EVIL}", f"X-Forwarded-Host: {EVIL}", f"Forwarded: host={EVIL};proto=https",
          "X-Forwarded-Proto: https", f"X-Original-URL: http://{EVIL}/", f"Referer: http://{EVIL}/")
PAGES = ["/", "/?format=json", "/article/", "/article/?format=json", "/article/section-907-opinion",
         "/article/section-907-opinion.ttl", "/entity/", "/entity/azerbaijan", "/entity/azerbaijan.jsonld",
         "/.well-known/void", "/sitemap.xml", "/queries/", "/queries/quotations",
         "/queries/quotations?format=json", "/sparql", "/sparql?format=ttl", "/download/", "/search?q=section",
         "/entity/nowhere", "/article", "/ontology"]


@pytest.mark.parametrize("path", PAGES)
def test_links_are_never_built_from_the_host_header(server, path):
    for accept in ("text/html", "*/*"):
        lines = [f"GET {path} HTTP/1.1", *FORGED, f"Accept: {accept}", "Connection: close", "", ""]
        status, headers, body = raw(server.port, "\r\n".join(lines).encode())
        assert status in (200, 404), (status, body[:200])
        assert EVIL not in body.decode("utf-8", "replace"), path
        assert not any(EVIL in v for v in headers.values()), headers
        assert "https://127.0.0.1" not in body.decode("utf-8", "replace")
        if status == 200 and path not in ("/download/",):
            text = body.decode("utf-8", "replace")
            assert server.url.rstrip("/") in text or "claimgraph.example" in text or path == "/sparql?format=ttl"


# ---------------------------------------------------------------- CORS

def test_cors_is_open_but_never_with_credentials(server):
    preflight = httpx.options(server.url + "sparql", headers={
        "Origin": f"https://{EVIL}", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Authorization, Cookie"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    injected = httpx.options(server.url + "sparql", headers={
        "Origin": f"https://{EVIL}", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-A, <script>, x\tSet-Cookie: a=b"})
    assert injected.headers["access-control-allow-headers"] == "Accept, Content-Type"
    for path in ("sparql?query=ASK%20%7B%7D", "", "entity/azerbaijan", "queries/quotations?format=json"):
        response = httpx.get(server.url + path, headers={"Origin": f"https://{EVIL}", "Cookie": "session=1"})
        assert response.status_code == 200
        assert response.headers.get("access-control-allow-origin") in (None, "*")
        assert "access-control-allow-credentials" not in response.headers
        assert EVIL not in str(response.headers)
        assert "set-cookie" not in response.headers


# ---------------------------------------------------------------- methods

@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "PROPFIND", "TRACE"])
def test_other_methods_get_405_with_allow(server, site, method):
    before = {p.name: p.stat().st_mtime_ns for p in site.iterdir()}
    for path in ("/", "/entity/azerbaijan", "/download/dataset.ttl", "/queries/quotations", "/sparql",
                 "/search", "/article/"):
        status, headers, body = raw(server.port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                                 "Connection: close\r\n\r\nhello".encode())
        assert status == 405, (method, path, status)
        assert "GET" in headers.get("allow", ""), (method, path, headers)
        assert b"hello" not in body  # TRACE echoes nothing
    assert {p.name: p.stat().st_mtime_ns for p in site.iterdir()} == before
    still_answers(server)


# ---------------------------------------------------------------- request size

@pytest.mark.parametrize("shape", ["many-headers", "one-huge-header", "huge-url", "huge-cookie"])
def test_oversized_request_heads_are_refused(server, shape):
    if shape == "many-headers":
        extra = [f"X-Pad-{i}: {'a' * 1000}" for i in range(100)]
        target = "/healthz"
    elif shape == "one-huge-header":
        extra, target = ["X-Big: " + "b" * 200_000], "/healthz"
    elif shape == "huge-url":
        extra, target = [], "/search?q=" + "c" * 200_000
    else:
        extra, target = ["Cookie: " + "; ".join(f"k{i}=v" for i in range(30_000))], "/"
    started = time.monotonic()
    status, headers, body = get(server.port, target, *extra)
    assert status == 431, (status, body[:200])
    assert b"over 65536 bytes" in body and headers.get("connection") == "close"
    assert time.monotonic() - started < 5
    still_answers(server)


def test_oversized_bodies_are_refused(server):
    response = httpx.post(server.url + "sparql", content=b"ASK {}" + b" " * 2_000_000,
                          headers={"Content-Type": "application/sparql-query"}, timeout=30)
    assert response.status_code == 413 and "larger than the limit" in response.text
    page = httpx.post(server.url + "article/", content=b"x" * 2_000_000, timeout=30)
    assert page.status_code == 405
    still_answers(server)


# ---------------------------------------------------------------- slow and stalled clients

def test_a_stalled_connection_is_closed_after_the_header_timeout(server):
    for start in (b"", b"GET / HTTP/1.1\r\nHost: x\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(start)
            started = time.monotonic()
            answer = sock.recv(65536)
            waited = time.monotonic() - started
            assert waited < HEADER_TIMEOUT + 2
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]
            while answer and sock.recv(65536):  # then the server closes it
                pass


def test_slow_clients_cannot_starve_others(server):
    """200 slowloris connections dripping header bytes and 20 POSTs trickling their bodies, while
    a normal client loads pages and runs queries: it is served at once, and the slow ones are cut
    off by the header and body timeouts."""
    stop = threading.Event()
    outcomes: list[bytes] = []

    def drip(opening: bytes, drop: bytes) -> None:
        """Send ``opening``, then ``drop`` every 0.25 s until the server answers or closes."""
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(opening)
                while not stop.is_set():
                    if select.select([sock], [], [], 0.25)[0]:
                        answer = sock.recv(4096)
                        outcomes.append(answer.split(b"\r\n", 1)[0] if answer else b"closed")
                        return
                    sock.sendall(drop)
        except OSError:
            outcomes.append(b"closed")

    def slowloris() -> None:
        drip(b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n")

    def slow_body() -> None:
        drip(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
             b"Content-Length: 1000\r\n\r\nASK", b" ")

    threads = [threading.Thread(target=slowloris) for _ in range(200)]
    threads += [threading.Thread(target=slow_body) for _ in range(20)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        with httpx.Client(timeout=10) as client:
            for path in ["", "article/section-907-opinion", "entity/azerbaijan", "queries/quotations",
                         "sparql?query=ASK%20%7B%7D"] * 4:
                started = time.monotonic()
                assert client.get(server.url + path).status_code == 200
                assert time.monotonic() - started < 1.0, f"{path} was slow under the slow clients"
        time.sleep(max(HEADER_TIMEOUT, BODY_TIMEOUT) + 1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert len(outcomes) == 220, f"{220 - len(outcomes)} slow connections were kept open"
    assert set(outcomes) <= {b"HTTP/1.1 408 Request Timeout", b"closed"}, set(outcomes)
    still_answers(server)


# ---------------------------------------------------------------- odd requests never crash a handler

ODD = ["/%ff%fe", "/entity/%c0%af", "/entity/%00", "/search?q=%ff", "/search?q=" + "%22" * 300,
       "/article/?from=9999-99-99&to=%00", "/queries/claims?article=http://[::1", "/queries/nowhere",
       "/sparql?query=%ff", "/.well-known/void?format=../../etc/passwd", "/entity/azerbaijan?format=%00",
       "/entity/azerbaijan.%2e%2e", "/?format=json&format=html", "/queries/quotations?format=xml",
       "/article/section-907-opinion?format=rdf%00"]


@pytest.mark.parametrize("target", ODD)
def test_odd_requests_get_a_client_error_never_a_server_error(server, target):
    status, _, body = get(server.port, target, "Accept: text/html")
    assert 200 <= status < 500, (status, body[:300])
    assert b"Traceback" not in body and b"Internal Server Error" not in body
