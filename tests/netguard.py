"""A guard that fails any test in which the code opens a network connection beyond loopback.

Use it for the whole suite with one line in ``tests/conftest.py``::

    pytest_plugins = ["netguard"]

or, in one test module, by importing its autouse fixture: ``from netguard import netguard  # noqa: F401``.

What it watches
---------------
- In the test process: ``socket.socket.connect``, ``connect_ex`` and ``sendto`` to an address
  that is not loopback (127.0.0.0/8, ::1) or unspecified (0.0.0.0, ::), and
  ``socket.getaddrinfo`` of a host name other than ``localhost`` (a name lookup already leaves
  the machine). ``socket.create_connection``, asyncio, httpx, urllib, http.client and
  SPARQLWrapper all go through these. The call fails with :class:`NonLoopbackConnection` (a
  ``ConnectionRefusedError``, so the code under test sees an ordinary network failure), and the
  test fails even if that code swallowed the error.
- In every Python subprocess the tests start (``claimgraph build`` / ``serve`` run as commands,
  the SPARQL worker processes): the same patches, installed at interpreter start-up by a
  ``sitecustomize`` module that this plugin puts first on ``PYTHONPATH``. A subprocess records
  what it tried in a log file that the plugin reads after each test phase.

The limit: code that is not Python, or not Python's ``socket`` module, is not seen: pyoxigraph's
own HTTP client (which runs a query's ``SERVICE`` calls), the ``oxigraph`` and Virtuoso servers,
Chromium. The tests that exercise those paths point them at a loopback canary server and assert
that it received nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# In a subprocess the guard is loaded by sitecustomize at interpreter start: only the socket
# patches, no pytest (which would add a fifth of a second to every process start).
_IN_SUBPROCESS = __name__ == "_claimgraph_netguard"
if not _IN_SUBPROCESS:
    import pytest

ENV_LOG = "CLAIMGRAPH_NETGUARD_LOG"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

_lock = threading.Lock()
_violations: list[str] = []
_installed = False
_log_path: Path | None = None
_originals: dict[str, Any] = {}


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised instead of connecting anywhere but loopback while the guard is installed."""


def is_loopback(host: object) -> bool:
    """Whether ``host`` (a name or an address, str or bytes) stays on this machine."""
    if host is None or host in ("", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if isinstance(host, int):
        return ipaddress.ip_address(host).is_loopback
    text = str(host).strip("[]").lower().split("%", 1)[0]
    if text in _LOOPBACK_NAMES or text.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _is_ip_literal(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _record(what: str) -> None:
    line = f"{what} (pid {os.getpid()}: {' '.join(sys.argv)[:200]})"
    with _lock:
        _violations.append(line)
        if _log_path is not None:
            with contextlib.suppress(OSError), open(_log_path, "a", encoding="utf-8") as log:
                log.write(line.replace("\n", " ") + "\n")


def _check_address(sock: socket.socket, address: object, what: str) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX and friends never leave the machine
    host = address[0] if isinstance(address, tuple) else address
    if not is_loopback(host):
        _record(f"{what} to {address!r}")
        raise NonLoopbackConnection(f"netguard: {what} to {address!r} refused: tests stay on loopback")


def install(log_path: str | os.PathLike[str] | None = None) -> None:
    """Patch the socket module (idempotent). ``log_path``: also append violations there."""
    global _installed, _log_path
    if log_path is not None:
        _log_path = Path(log_path)
    if _installed:
        return
    _installed = True
    original_connect = _originals["connect"] = socket.socket.connect
    original_connect_ex = _originals["connect_ex"] = socket.socket.connect_ex
    original_sendto = _originals["sendto"] = socket.socket.sendto
    original_getaddrinfo = _originals["getaddrinfo"] = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _check_address(self, address, "connect")
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_address(self, address, "connect_ex")
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        _check_address(self, args[-1], "sendto")
        return original_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host) and not _is_ip_literal(host):
            _record(f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"netguard: no name lookups of {host!r} in tests")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


# ---------------------------------------------------------------- subprocesses

_SITECUSTOMIZE = '''\
# Written by tests/netguard.py: guard this Python process too.
import importlib.util as _util
import os as _os

_path = _os.environ.get("CLAIMGRAPH_NETGUARD_MODULE")
if _path and _os.environ.get("{env}"):
    _spec = _util.spec_from_file_location("_claimgraph_netguard", _path)
    _module = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.install(_os.environ["{env}"])
'''


def guard_subprocesses() -> Path:
    """Make every Python subprocess started from now on install the guard (via PYTHONPATH)."""
    existing = os.environ.get(ENV_LOG)
    if existing and os.environ.get("CLAIMGRAPH_NETGUARD_SITE"):
        return Path(existing)
    folder = Path(tempfile.mkdtemp(prefix="claimgraph-netguard-"))
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(env=ENV_LOG), encoding="utf-8")
    log = folder / "violations.log"
    log.touch()
    os.environ[ENV_LOG] = str(log)
    os.environ["CLAIMGRAPH_NETGUARD_MODULE"] = str(Path(__file__).resolve())
    os.environ["CLAIMGRAPH_NETGUARD_SITE"] = str(folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return log


def _subprocess_log() -> Path | None:
    value = os.environ.get(ENV_LOG)
    return Path(value) if value else None


# ---------------------------------------------------------------- failing the test

class _Mark:
    def __init__(self) -> None:
        self.count = len(_violations)
        log = _subprocess_log()
        self.log_size = log.stat().st_size if log and log.exists() else 0

    def new(self) -> list[str]:
        found = _violations[self.count:]
        log = _subprocess_log()
        if log and log.exists() and log.stat().st_size > self.log_size:
            with open(log, encoding="utf-8") as handle:
                handle.seek(self.log_size)
                found += [line.strip() for line in handle if line.strip() and line.strip() not in found]
        return found

    def consume(self) -> list[str]:
        """The violations since the mark, which then no longer count against the test."""
        found = self.new()
        with _lock:
            del _violations[self.count:]
        log = _subprocess_log()
        if log and log.exists():
            with open(log, "r+", encoding="utf-8") as handle:
                handle.truncate(self.log_size)
        return found


def _start() -> None:
    install(None)
    guard_subprocesses()


if not _IN_SUBPROCESS:

    def _fail_on_new(mark: _Mark, phase: str) -> None:
        found = mark.new()
        if found:
            mark.consume()  # reported once, here; the next test starts clean
            pytest.fail(f"netguard: the code opened a non-loopback connection during {phase}:\n  "
                        + "\n  ".join(found), pytrace=False)


    @contextlib.contextmanager
    def expect_violations() -> Iterator[list[str]]:
        """For the guard's own tests: collect (and forgive) violations made inside the block."""
        _start()
        mark = _Mark()
        found: list[str] = []
        try:
            yield found
        finally:
            found.extend(mark.consume())


    # the plugin (pytest_plugins = ["netguard"])

    def pytest_configure(config: pytest.Config) -> None:
        _start()


    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(item: pytest.Item) -> Any:
        mark = _Mark()
        result = yield
        _fail_on_new(mark, "setup")
        return result


    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Any:
        mark = _Mark()
        result = yield
        _fail_on_new(mark, "the test")
        return result


    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        mark = _Mark()
        result = yield
        _fail_on_new(mark, "teardown")
        return result


    # the fixture, for a module that imports it without the plugin

    @pytest.fixture(autouse=True)
    def netguard() -> Iterator[None]:
        _start()
        mark = _Mark()
        yield
        _fail_on_new(mark, "the test")


# ---------------------------------------------------------------- a canary for what the guard cannot see

class Canary:
    """A loopback TCP listener that records every connection (and its first bytes) and answers
    nothing useful: point a URL that must never be fetched at ``canary.url``, then assert
    ``canary.hits == []``. It sees what the guard cannot: pyoxigraph's Rust HTTP client, other
    servers, subprocesses that are not Python."""

    def __init__(self) -> None:
        self.hits: list[bytes] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"canary-{self.port}")

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with connection:
                connection.settimeout(1.0)
                try:
                    data = connection.recv(4096)
                except OSError:
                    data = b""
                self.hits.append(data or b"(connected, sent nothing)")
                with contextlib.suppress(OSError):
                    connection.sendall(b"HTTP/1.1 500 Canary\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()
