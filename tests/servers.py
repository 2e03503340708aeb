"""Real servers for tests: an ASGI app under uvicorn on a free 127.0.0.1 port, in a thread.

    with serve(lambda url: sparql_app(settings_for(url))) as server:
        httpx.get(server.url + "sparql", ...)

The socket is bound (port 0) before the app is built, so the app can know its own URL (its
``base_url``); the server runs the app's lifespan (startup and shutdown), and leaving the block
shuts it down and joins the thread, so whatever the lifespan started (query workers) is stopped.
Only the loopback interface is ever bound.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1 (``port`` 0: a free port the system picks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


class ServerThread:
    """uvicorn serving ``app`` on ``sock`` in a daemon thread; ``url`` ends with '/'."""

    def __init__(self, app: Any, sock: socket.socket, *, startup_timeout: float = 60.0, **config: Any):
        self.app = app
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/"
        self.startup_timeout = startup_timeout
        options = {"log_level": "warning", "lifespan": "on", "timeout_graceful_shutdown": 5, **config}
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True,
                                       name=f"uvicorn-{self.port}")

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the test server stopped during start-up (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test server did not start within {self.startup_timeout:g} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=30)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError("the test server did not shut down within 30 s")


@contextlib.contextmanager
def serve(make_app: Callable[[str], Any], **config: Any) -> Iterator[ServerThread]:
    """Serve the app ``make_app(url)`` builds for its own URL; stop it on leaving the block."""
    sock = bind_loopback()
    url = f"http://{LOOPBACK}:{sock.getsockname()[1]}/"
    try:
        app = make_app(url)
    except BaseException:
        sock.close()
        raise
    server = ServerThread(app, sock, **config)
    server.start()
    try:
        yield server
    finally:
        server.stop()
