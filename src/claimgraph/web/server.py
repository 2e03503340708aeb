"""Running the app with uvicorn: the only place that binds a socket."""

from __future__ import annotations

import gc
import socket
import sys
from pathlib import Path

import uvicorn

from claimgraph.web.app import create_app, read_manifest
from claimgraph.web.settings import ServeSettings


def make_settings(out_dir: Path, base_url: str, query_timeout: float = 10.0, result_limit: int = 10_000,
                  workers: int = 2, endpoint: str | None = None, worker_memory: int | None = 2048) -> ServeSettings:
    manifest = read_manifest(out_dir)
    if not base_url.endswith("/"):
        base_url += "/"
    return ServeSettings(out_dir=out_dir, base_iri=manifest["base_iri"], base_url=base_url,
                         query_timeout=query_timeout, result_limit=result_limit, workers=workers,
                         endpoint=endpoint, worker_memory=worker_memory or None)


HEADER_TIMEOUT = 10.0  # seconds a client has to send its request line and headers
MAX_HEADER_BYTES = 64 * 1024  # request line and headers together


def _guarded_protocol(header_timeout: float, max_header_bytes: int) -> type | str:
    """uvicorn's httptools protocol, with what it lacks against slow or stalled clients: the
    request line and headers must arrive within ``header_timeout`` seconds (408) and stay under
    ``max_header_bytes`` (431); either way the connection is closed. Without httptools, h11 (whose
    ``h11_max_incomplete_event_size`` bounds the headers, but not their pace)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
        return "h11"

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
            super().connection_made(transport)
            self._head_size = 0
            self._head_tail = b""
            self._head_timer = None
            self._refused = False
            self._start_head()

        def _start_head(self) -> None:
            self._reading_head = True
            self._head_size = 0
            self._head_tail = b""
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _end_head(self) -> None:
            self._reading_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # a lingering close: read and drop what the client still sends
            if self._reading_head:
                window = self._head_tail + data
                end = window.find(b"\r\n\r\n")
                self._head_size += len(data) if end < 0 else max(0, end + 4 - len(self._head_tail))
                self._head_tail = window[-3:]
                if self._head_size > max_header_bytes:
                    self._refuse(431, "Request Header Fields Too Large",
                                 f"the request line and headers are over {max_header_bytes} bytes")
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._reading_head:  # the next request on a kept-alive connection
                self._start_head()

        def on_headers_complete(self) -> None:
            self._end_head()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._end_head()
            super().connection_lost(exc)

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._reading_head and not self.transport.is_closing():
                self._refuse(408, "Request Timeout", f"the request headers did not arrive within {header_timeout:g} s")

        def _refuse(self, status: int, phrase: str, message: str) -> None:
            self._end_head()
            self._refused = True
            body = (message + "\n").encode("ascii")
            self.transport.write(f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("ascii") + body)
            # Half-close, then drop what still arrives for a moment before closing: closing with
            # unread input would reset the connection, and the client might lose the answer.
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(2.0, self.transport.close)

    return GuardedHttpToolsProtocol


def uvicorn_options(header_timeout: float = HEADER_TIMEOUT, max_header_bytes: int = MAX_HEADER_BYTES) -> dict:
    """The uvicorn settings ``claimgraph serve`` runs with (tests start servers with the same)."""
    return {"log_level": "warning", "timeout_keep_alive": 5, "limit_concurrency": 512,
            "h11_max_incomplete_event_size": max_header_bytes,
            "http": _guarded_protocol(header_timeout, max_header_bytes)}


def bind(host: str, port: int) -> socket.socket:
    """Bind first, so port 0 gives a real port before the base URL is fixed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run_server(out_dir: Path, host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None,
               query_timeout: float = 10.0, result_limit: int = 10_000, workers: int = 2,
               endpoint: str | None = None, worker_memory: int | None = 2048) -> int:
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    settings = make_settings(out_dir, base_url or f"http://{shown_host}:{actual_port}/", query_timeout,
                             result_limit, workers, endpoint, worker_memory)
    app = create_app(settings)
    # What start-up loaded (the catalog, the vocabularies) lives as long as the server: frozen,
    # the cycle collector stops walking it, which took ~40 ms every fifty or so documents.
    gc.freeze()
    print(f"serving {out_dir}/ at {settings.base_url} (dataset IRIs under {settings.base_iri})",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, **uvicorn_options())
    uvicorn.Server(config).run(sockets=[sock])
    return 0
