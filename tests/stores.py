"""Real triple stores on loopback for the tests, and small HTTP proxies to put in front of them.

- ``OxigraphServer``: ``oxigraph serve`` (PyPI ``oxigraph``, in the venv), on-disk, union default
  graph, on a free port; it starts in well under a second.
- ``VirtuosoServer``: Debian's ``virtuoso-t`` with its own virtuoso.ini, database folder and free
  ports, written by the test; about five seconds to start.
- ``Proxy``: a stdlib HTTP proxy that records every request and can inject faults (answer 500,
  answer 500 after the store applied the request, stall past the client's timeout, drop the
  connection, or call a hook such as killing the store).

Every process is started by a test fixture and stopped by it; every wait is bounded; only
127.0.0.1 is ever bound or contacted.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
OXIGRAPH = Path(sys.executable).with_name("oxigraph")
VIRTUOSO = shutil.which("virtuoso-t")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); a store binds it right after."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the store exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {seconds}s: {log.read_text()[-2000:]}")


def stop_process(process: subprocess.Popen | None, grace: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


@dataclass
class OxigraphServer:
    location: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def gsp(self) -> str:
        return self.base + "/store"

    @property
    def query(self) -> str:
        return self.base + "/query"

    @property
    def update(self) -> str:
        return self.base + "/update"

    def start(self) -> OxigraphServer:
        self.port = free_port()
        self.location.mkdir(parents=True, exist_ok=True)
        log = self.location.parent / f"{self.location.name}.log"
        self.process = subprocess.Popen(
            [str(OXIGRAPH), "serve", "--location", str(self.location), "--bind", f"{LOOPBACK}:{self.port}",
             "--union-default-graph"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait_until_up(self.query + "?query=ASK%7B%7D", self.process, log, 20)
        return self

    def kill(self) -> None:
        """The store goes away at once, as in a crash (RocksDB recovers from its log)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        stop_process(self.process)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = {host}:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = {dir}
CheckpointInterval = 0
SchedulerInterval = 0

[HTTPServer]
ServerPort = {host}:{http_port}
ServerRoot = {dir}
MaxClientConnections = 4
ServerThreads = 4

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
"""


@dataclass
class VirtuosoServer:
    """Virtuoso Open Source 7 with a fresh database; its 'dba' account keeps the default password."""

    directory: Path
    http_port: int = 0
    process: subprocess.Popen | None = None
    user: str = "dba"
    password: str = "dba"

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def gsp(self) -> str:
        return self.base + "/sparql-graph-crud-auth"  # Graph Store Protocol, Digest auth

    @property
    def query(self) -> str:
        return self.base + "/sparql"  # anonymous, read-only

    @property
    def update(self) -> str:
        return self.base + "/sparql-auth"  # SPARQL Update, Digest auth

    def start(self) -> VirtuosoServer:
        assert VIRTUOSO, "virtuoso-t is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        ini = self.directory / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(dir=self.directory, host=LOOPBACK, sql_port=free_port(),
                                           http_port=self.http_port), encoding="utf-8")
        log = self.directory / "stdout.log"
        # -f: stay in the foreground, so the test owns the process and can stop it
        self.process = subprocess.Popen([VIRTUOSO, "-f", "-c", str(ini)], cwd=self.directory,
                                        stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait_until_up(self.query + "?query=ASK%7B%7D", self.process, log, 60)
        return self

    def stop(self) -> None:
        stop_process(self.process, grace=10)


# ---------------------------------------------------------------- a recording, fault-injecting proxy

FORWARD = "forward"
FAIL = "fail-500"  # answer 500; the store never sees the request
APPLY_THEN_FAIL = "apply-then-500"  # the store applies it, the client is told 500
STALL = "stall"  # forward only after the client's timeout has passed
DROP = "drop"  # close the connection without an answer; the store never sees it

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
               "content-length"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    graph: str | None
    action: str


@dataclass
class Proxy:
    """Forwards to ``target`` (host:port); ``plan(number, seen)`` picks each request's fate."""

    target: str
    plan: Callable[[int, Seen], str] = lambda number, seen: FORWARD
    stall_seconds: float = 1.5
    basic_auth: tuple[str, str] | None = None  # demand HTTP Basic, as a fronting proxy would
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method in ("PUT", "DELETE", "POST") and s.action != "auth"]

    def __enter__(self) -> Proxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                graph = (parse_qs(urlsplit(self.path).query).get("graph") or [None])[0]
                if proxy.basic_auth and not self._authorized():
                    proxy._record(Seen(self.command, self.path, graph, "auth"))
                    self._answer(401, b"", {"WWW-Authenticate": 'Basic realm="store"'})
                    return
                with proxy._lock:
                    number = len(proxy.seen)
                    action = proxy.plan(number, Seen(self.command, self.path, graph, FORWARD))
                    proxy.seen.append(Seen(self.command, self.path, graph, action))
                if action == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == FAIL:
                    self._answer(500, b"injected failure", {"Content-Type": "text/plain"})
                    return
                if action == STALL:
                    time.sleep(proxy.stall_seconds)
                try:
                    status, headers, content = proxy._forward(self.command, self.path, self.headers, body)
                except OSError:
                    self._answer(502, b"the store is unreachable", {"Content-Type": "text/plain"})
                    return
                if action == APPLY_THEN_FAIL:
                    self._answer(500, b"injected failure after applying", {"Content-Type": "text/plain"})
                    return
                with contextlib.suppress(OSError):  # a stalled request's client has given up
                    self._answer(status, content, headers)

            def _authorized(self) -> bool:
                user, password = proxy.basic_auth or ("", "")
                expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                return self.headers.get("Authorization") == expected

            def _answer(self, status: int, content: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _forward(self, method: str, path: str, headers: object, body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        host, port = self.target.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}  # type: ignore[attr-defined]
            if self.basic_auth:
                sent.pop("Authorization", None)  # ours, not the store's
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            content = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, kept, content
        finally:
            connection.close()

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def target_of(url: str) -> str:
    """'127.0.0.1:PORT' of a store URL."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"

