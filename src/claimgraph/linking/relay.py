"""The SERVICE endpoint pyoxigraph calls while it runs a federated query.

pyoxigraph evaluates ``SERVICE ?wikidata { … }`` itself (the endpoint bound by substitution),
with its own HTTP client: it has no Python hook for SERVICE, sends ``User-Agent: Oxigraph/…``,
sets no timeout, never retries, and sends the block without the bindings the rest of the query
has produced. So claimgraph binds ``?wikidata`` to this relay, a loopback HTTP server living
for one query, which forwards each SERVICE request with the linking client (SPARQLWrapper,
a descriptive User-Agent, timeouts, retries honouring Retry-After, clear errors).

One convention makes federation practical on the real Wikidata: inside a SERVICE block,
``?item`` stands for the Wikidata item of a dataset entity (the query joins it to the entity's
``schema:sameAs`` outside the block). The relay binds ``?item`` to the dataset's linked items
before forwarding, so Wikidata answers about those few items instead of all of its own; the
join outside the block would discard every other row anyway.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

from claimgraph.linking.client import ROWS_PER_REQUEST, ClientSettings, LinkError, WikidataClient
from claimgraph.queries import internal_query
from claimgraph.remote.sparql import bind_values

ITEM_VARIABLE = "item"
MAX_REQUEST_BYTES = 1_000_000
_ITEM_RE = re.compile(rf"[?$]{ITEM_VARIABLE}\b")
_HERE = Path(__file__).resolve().parent  # linked-items.rq


def linked_items(store: ox.Store) -> list[ox.NamedNode]:
    """The Wikidata items the dataset's entities are linked to."""
    solutions = store.query(internal_query(_HERE, "linked-items"), use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    return sorted((s["item"] for s in solutions if isinstance(s["item"], ox.NamedNode)), key=lambda n: n.value)


class ServiceRelay:
    """``with ServiceRelay(items) as relay: relay.route(endpoint)`` → a loopback URL for SERVICE."""

    def __init__(self, items: Sequence[ox.NamedNode] = (), settings: ClientSettings | None = None) -> None:
        self.items = list(items)
        self.settings = settings or ClientSettings()
        self.errors: list[LinkError] = []
        self._token = secrets.token_hex(16)  # only the query that was given the URL can use it
        self._routes: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, endpoint: str) -> str:
        if self._server is None:
            raise RuntimeError("the relay is not running")
        ClientSettings(endpoint)  # refuses anything but an absolute http(s) URL
        number = str(len(self._routes))
        self._routes[number] = endpoint
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self._token}/{number}"

    def __enter__(self) -> ServiceRelay:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # nothing below the CLI prints

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query).get("query", [None])[0]
                self._answer(query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_REQUEST_BYTES:
                    self._fail(413, "request too large")
                    return
                body = self.rfile.read(length).decode("utf-8", "replace")
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if kind == "application/x-www-form-urlencoded":
                    self._answer(parse_qs(body).get("query", [None])[0])
                else:
                    self._answer(body)

            def _answer(self, query: str | None) -> None:
                parts = urlsplit(self.path).path.strip("/").split("/")
                endpoint = relay._routes.get(parts[1]) if len(parts) == 2 and parts[0] == relay._token else None
                if endpoint is None or not query:
                    self._fail(404, "no such service")
                    return
                try:
                    document = relay.forward(endpoint, query)
                except LinkError as exc:
                    relay.errors.append(exc)
                    self._fail(502, str(exc))
                    return
                payload = json.dumps(document).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _fail(self, status: int, message: str) -> None:
                payload = message.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="claimgraph-service-relay",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def forward(self, endpoint: str, query: str) -> dict:
        """Send one SERVICE request on, with ``?item`` bound to the dataset's items if it is used."""
        client = WikidataClient(ClientSettings(endpoint, self.settings.timeout, self.settings.attempts,
                                               self.settings.max_wait, self.settings.contact))
        if not _ITEM_RE.search(query):
            return client.request(query, "SERVICE")
        if not self.items:  # no linked item: nothing the join outside could keep
            return {"head": {"vars": []}, "results": {"bindings": []}}
        variables: list[str] = []
        bindings: list[dict] = []
        for start in range(0, len(self.items), ROWS_PER_REQUEST):
            rows = [{ITEM_VARIABLE: item} for item in self.items[start:start + ROWS_PER_REQUEST]]
            document = client.request(bind_values(query, rows), "SERVICE")
            variables += [v for v in document.get("head", {}).get("vars", []) if v not in variables]
            bindings += document.get("results", {}).get("bindings", [])
        return {"head": {"vars": variables}, "results": {"bindings": bindings}}
