"""Running the real claimgraph app under uvicorn on a free loopback port, for tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from claimgraph.web.app import create_app
from claimgraph.web.server import bind, make_settings


@contextlib.contextmanager
def running_app(out_dir: Path, base_url: str | None = None, **settings_kw) -> Iterator[str]:
    """Serve ``out_dir`` on 127.0.0.1:<free port>; yields the server's URL (ending in '/')."""
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    settings = make_settings(out_dir, base_url or url, **settings_kw)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
