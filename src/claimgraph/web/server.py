"""Running the app with uvicorn: the only place that binds a socket."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn

from claimgraph.web.app import create_app, read_manifest
from claimgraph.web.settings import ServeSettings


def make_settings(out_dir: Path, base_url: str, query_timeout: float = 10.0, result_limit: int = 10_000,
                  workers: int = 2, endpoint: str | None = None) -> ServeSettings:
    manifest = read_manifest(out_dir)
    if not base_url.endswith("/"):
        base_url += "/"
    return ServeSettings(out_dir=out_dir, base_iri=manifest["base_iri"], base_url=base_url,
                         query_timeout=query_timeout, result_limit=result_limit, workers=workers,
                         endpoint=endpoint)


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
               endpoint: str | None = None) -> int:
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    settings = make_settings(out_dir, base_url or f"http://{shown_host}:{actual_port}/", query_timeout,
                             result_limit, workers, endpoint)
    app = create_app(settings)
    print(f"serving {out_dir}/ at {settings.base_url} (dataset IRIs under {settings.base_iri})",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=5, limit_concurrency=512,
                            h11_max_incomplete_event_size=64 * 1024)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
