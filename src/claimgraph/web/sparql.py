"""The SPARQL 1.1 Protocol endpoint: ``sparql_routes(settings, engine)`` gives the routes of
``/sparql``; ``sparql_app(settings)`` is a standalone app made of them (tests, embedding).

Requests
--------
- Query by ``GET /sparql?query=…``, by ``POST`` with ``application/x-www-form-urlencoded``
  (``query=…``), or by ``POST`` with ``application/sparql-query`` (the body is the query), with
  ``default-graph-uri`` and ``named-graph-uri`` (repeatable) in the URL or the form. Query and
  form must be UTF-8.
- The result format is negotiated on ``Accept`` (q-values, wildcards and the usual aliases such
  as ``application/json``; a browser's ``Accept`` gets JSON) or chosen with
  ``?format=json|xml|csv|tsv|ttl|jsonld|nt|rdfxml|trig|nq`` (a media type works too; ``json``
  and ``xml`` mean JSON-LD and RDF/XML for CONSTRUCT and DESCRIBE).
- ``GET /sparql`` without a query returns the SPARQL 1.1 Service Description (Turtle, JSON-LD,
  N-Triples, RDF/XML, TriG, N-Quads), or an HTML page for a browser (``html_page`` hook).
- CORS: every answer carries ``Access-Control-Allow-Origin: *`` (never credentials) and preflight
  ``OPTIONS`` requests are answered.

Statuses (the body of an error is ``text/plain`` with the reason; the ``Claimgraph-Error`` header
names it in one word):

=====  ====================================================================================
200    the answer; ``Claimgraph-Results-Truncated: <limit>`` when the result cap cut it short
       (see ``claimgraph.web.engine`` for how the body says so too)
204    a CORS preflight or an ``OPTIONS`` request
400    malformed query (the parser's message), a query nested or long beyond the engine's limits
       (``Claimgraph-Error: too-complex``), protocol errors: two queries, query and update
       together, no query (with dataset parameters or on POST), an empty query, a body that is
       not UTF-8, an invalid graph IRI, an unknown ``format``
403    read-only: any SPARQL Update (``update=`` in the URL or form, an
       ``application/sparql-update`` body, or an update operation in ``query=``), ``SERVICE``
405    a method other than GET, HEAD, POST, OPTIONS (with ``Allow``)
406    no acceptable result format for this query form
408    the request body did not arrive within ``settings.body_timeout`` seconds
413    a request body larger than ``settings.max_request_bytes``; 414 for such a URL
415    a POST that is neither form-encoded nor ``application/sparql-query``, or not UTF-8
500    the query crashed its worker process (the server is unaffected)
503    the query was stopped at the time limit (``Claimgraph-Error: timeout``) or at the memory
       limit (``Claimgraph-Error: memory``), or every worker stayed busy for the whole time
       limit (``Claimgraph-Error: busy``, with ``Retry-After``)
=====  ====================================================================================
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from claimgraph.queries import internal_query
from claimgraph.web.engine import (
    EngineBusy,
    EngineError,
    EngineUnavailable,
    QueryEngine,
    QueryEvaluationError,
    QueryOutOfMemory,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooComplex,
    SparqlRequest,
    SparqlResponse,
    WorkerCrashed,
    create_engine,
)
from claimgraph.web.protocol import (
    CSV,
    GRAPH_MEDIA_TYPES,
    JSON_LD,
    N_QUADS,
    N_TRIPLES,
    RDF_XML,
    RESULT_MEDIA_TYPES,
    SPARQL_JSON,
    SPARQL_XML,
    TRIG,
    TSV,
    TURTLE,
)
from claimgraph.web.query_text import (
    query_form,
)
from claimgraph.web.settings import ServeSettings

HTML = "text/html"
TRUNCATED_HEADER = "Claimgraph-Results-Truncated"
ERROR_HEADER = "Claimgraph-Error"
ALLOWED_METHODS = ("GET", "HEAD", "POST", "OPTIONS")

FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"

HtmlPage = Callable[[Request], Response | Awaitable[Response]]

# --- content negotiation -----------------------------------------------------------------------

ALIASES: Mapping[str, tuple[str, ...]] = {
    SPARQL_JSON: ("application/json",),
    SPARQL_XML: ("application/xml", "text/xml"),
    CSV: (),
    TSV: (),
    TURTLE: ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3", "application/n3"),
    N_TRIPLES: ("text/plain",),
    JSON_LD: ("application/json", "application/x-json+ld"),
    RDF_XML: ("application/xml", "text/xml"),
    TRIG: ("application/x-trig",),
    N_QUADS: ("text/x-nquads",),
    HTML: ("application/xhtml+xml",),
}
"""Media types a client may ask for, by the canonical type they get."""

FORMAT_TOKENS: Mapping[str, tuple[str | None, str | None]] = {
    # token: (for SELECT and ASK, for CONSTRUCT and DESCRIBE and the service description)
    "json": (SPARQL_JSON, JSON_LD), "srj": (SPARQL_JSON, None),
    "xml": (SPARQL_XML, RDF_XML), "srx": (SPARQL_XML, None),
    "csv": (CSV, None), "tsv": (TSV, None),
    "ttl": (None, TURTLE), "turtle": (None, TURTLE), "n3": (None, TURTLE),
    "nt": (None, N_TRIPLES), "ntriples": (None, N_TRIPLES), "n-triples": (None, N_TRIPLES),
    "jsonld": (None, JSON_LD), "json-ld": (None, JSON_LD),
    "rdf": (None, RDF_XML), "rdfxml": (None, RDF_XML), "rdf+xml": (None, RDF_XML), "rdf-xml": (None, RDF_XML),
    "trig": (None, TRIG), "nq": (None, N_QUADS), "nquads": (None, N_QUADS), "n-quads": (None, N_QUADS),
    "html": (None, None),
}


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """3 for an exact match, 2 for ``type/*``, 1 for ``*/*``, 0 for no match."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 1
        if self.type != main:
            return 0
        if self.subtype == "*":
            return 2
        return 3 if self.subtype == sub else 0


def parse_accept(header: str | None) -> list[MediaRange]:
    """The ranges of an ``Accept`` header; a missing or empty header accepts anything."""
    if not header or not header.strip():
        return [MediaRange("*", "*", 1.0)]
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        main, slash, sub = fields[0].lower().partition("/")
        if not slash or not main or not sub:
            if fields[0] == "*":  # a bare '*', as some old clients send
                main, sub = "*", "*"
            else:
                continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append(MediaRange(main, sub, q))
    return ranges


def _quality(ranges: Sequence[MediaRange], media_type: str) -> tuple[float, float]:
    """(q, specificity) of ``media_type`` from the most specific range matching it or one of its
    aliases: the type itself (3), an alias named exactly (2.5), ``type/*`` or ``*/*`` matching the
    type itself (2, 1). So an
    explicit ``q=0`` on the type is not overridden by a wildcard matching an alias."""
    best: tuple[float, float] | None = None  # (specificity, q)
    for name in (media_type, *ALIASES.get(media_type, ())):
        for r in ranges:
            specificity: float = r.specificity(name)
            if not specificity:
                continue
            if name != media_type:
                if specificity != 3:
                    continue  # an alias counts only when named: text/* does not mean text/xml
                specificity = 2.5
            if best is None or (specificity, r.q) > best:
                best = (specificity, r.q)
    return (best[1], best[0]) if best else (0.0, 0.0)


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client prefers: highest q, then the most specific match, then the order of
    ``offers``; None when the client accepts none of them."""
    ranges = parse_accept(accept)
    scored = [(*_quality(ranges, offer), -i, offer) for i, offer in enumerate(offers)]
    q, _specificity, _order, offer = max(scored)
    return offer if q > 0 else None


def prefers_html(accept: str | None, offers: Sequence[str]) -> bool:
    """A browser: ``text/html`` named explicitly, with a q at least that of the best offer."""
    ranges = parse_accept(accept)
    html_q, specificity = _quality(ranges, HTML)
    if html_q <= 0 or specificity < 2.5:
        return False
    return html_q >= max(_quality(ranges, offer)[0] for offer in offers)


# --- errors ------------------------------------------------------------------------------------


class ProtocolError(Exception):
    def __init__(self, status: int, message: str, kind: str = "protocol", headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = dict(headers or {})


def _engine_error(exc: EngineError) -> ProtocolError:
    if isinstance(exc, QuerySyntaxError):
        return ProtocolError(400, f"the query does not parse: {exc.message}", exc.kind)
    if isinstance(exc, QueryRefused):
        return ProtocolError(403, exc.message, exc.kind)
    if isinstance(exc, QueryTooComplex):
        return ProtocolError(400, exc.message, exc.kind)
    if isinstance(exc, QueryEvaluationError):
        return ProtocolError(400, f"the query cannot be evaluated: {exc.message}", exc.kind)
    if isinstance(exc, QueryTimeout):
        return ProtocolError(503, exc.message + "; narrow it down (e.g. with more specific patterns or a LIMIT)",
                             exc.kind)
    if isinstance(exc, EngineBusy):
        return ProtocolError(503, exc.message, exc.kind, {"Retry-After": "2"})
    if isinstance(exc, QueryOutOfMemory):
        return ProtocolError(503, exc.message + "; narrow it down (e.g. with a LIMIT, or without ORDER BY)",
                             exc.kind)
    if isinstance(exc, WorkerCrashed):
        return ProtocolError(500, exc.message, exc.kind)
    if isinstance(exc, EngineUnavailable):
        return ProtocolError(503, exc.message, exc.kind, {"Retry-After": "5"})
    return ProtocolError(500, exc.message, exc.kind)


# --- the endpoint ------------------------------------------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_FORMAT_IRIS = {
    SPARQL_JSON: "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    SPARQL_XML: "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    CSV: "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    TSV: "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    TURTLE: "http://www.w3.org/ns/formats/Turtle",
    N_TRIPLES: "http://www.w3.org/ns/formats/N-Triples",
    JSON_LD: "http://www.w3.org/ns/formats/JSON-LD",
    RDF_XML: "http://www.w3.org/ns/formats/RDF_XML",
    TRIG: "http://www.w3.org/ns/formats/TriG",
    N_QUADS: "http://www.w3.org/ns/formats/N-Quads",
}
_SD_PREFIXES = {"sd": SD, "formats": "http://www.w3.org/ns/formats/", "dcterms": "http://purl.org/dc/terms/",
                "void": "http://rdfs.org/ns/void#", "ent": "http://www.w3.org/ns/entailment/"}
_SD_FORMATS = {TURTLE: ox.RdfFormat.TURTLE, N_TRIPLES: ox.RdfFormat.N_TRIPLES, JSON_LD: ox.RdfFormat.JSON_LD,
               RDF_XML: ox.RdfFormat.RDF_XML, TRIG: ox.RdfFormat.TRIG, N_QUADS: ox.RdfFormat.N_QUADS}
_HERE = Path(__file__).resolve().parent  # graphs.rq


def service_description(settings: ServeSettings, endpoint_url: str, graphs: Sequence[str]) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint_url`` (public IRIs)."""
    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    service = ox.NamedNode(endpoint_url)
    dataset = ox.NamedNode(settings.to_public(settings.base_iri + "dataset"))
    default_graph = ox.BlankNode("defaultGraph")
    triples = [
        ox.Triple(service, _RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(service, ox.NamedNode("http://purl.org/dc/terms/description"), ox.Literal(
            "Read-only SPARQL 1.1 query endpoint: the default graph is the union of all named graphs. "
            f"Queries are stopped after {settings.query_timeout:g} s; an answer carries at most "
            f"{settings.result_limit} rows or triples (a capped answer says so in the "
            f"{TRUNCATED_HEADER} header); SPARQL Update and SERVICE are refused.", language="en")),
    ]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(iri)) for iri in _FORMAT_IRIS.values()]
    triples += [
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, _RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, _RDF_TYPE, sd("Graph")),
    ]
    for i, name in enumerate(graphs):
        node = ox.BlankNode(f"namedGraph{i}")
        triples += [
            ox.Triple(dataset, sd("namedGraph"), node),
            ox.Triple(node, _RDF_TYPE, sd("NamedGraph")),
            ox.Triple(node, sd("name"), ox.NamedNode(name)),
        ]
    return triples


def _default_html(endpoint_url: str) -> str:
    url = html_escape(endpoint_url)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPARQL endpoint</title></head>
<body><h1>SPARQL endpoint</h1>
<p>SPARQL 1.1 Protocol endpoint at <code>{url}</code> (read-only).</p>
<form method="get" action="{url}">
<p><textarea name="query" rows="12" cols="80">SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} LIMIT 10</textarea></p>
<p><label>Results as <select name="format"><option>json</option><option>xml</option><option>csv</option>
<option>tsv</option></select></label> <button type="submit">Run query</button></p>
</form>
<p><a href="{url}?format=ttl">Service description</a></p>
</body></html>
"""


def _content_type(header: str | None) -> tuple[str, str | None]:
    """(media type, charset) of a Content-Type header; ("", None) when there is none."""
    if not header:
        return "", None
    media, _, params = header.partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
    return media.strip().lower(), charset.group(1).lower() if charset else None


def _parse_params(raw: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {where} is not percent-encoded UTF-8") from None
    except ValueError as exc:
        raise ProtocolError(400, f"the {where} cannot be read: {exc}") from None


class SparqlEndpoint:
    """The ASGI app behind ``/sparql`` (every method reaches it: it answers 405 itself)."""

    def __init__(self, settings: ServeSettings, engine: QueryEngine, *, path: str = "/sparql",
                 html_page: HtmlPage | None = None):
        self.settings = settings
        self.engine = engine
        self.endpoint_url = settings.base_url.rstrip("/") + path
        self.html_page = html_page
        self._graphs: list[str] | None = None
        self._descriptions: dict[str, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except ProtocolError as exc:
            response = Response(exc.message + "\n", status_code=exc.status, media_type="text/plain",
                                headers={ERROR_HEADER: exc.kind, "Vary": "Accept", **exc.headers})
            if exc.status == 405:
                response.headers["Allow"] = ", ".join(ALLOWED_METHODS)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = f"{TRUNCATED_HEADER}, {ERROR_HEADER}, Retry-After"
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        method = request.method
        if method == "OPTIONS":
            return self._options(request)
        if method not in ALLOWED_METHODS:
            raise ProtocolError(405, f"{method} is not allowed on the SPARQL endpoint: use GET or POST")
        max_bytes = self.settings.max_request_bytes
        raw_query = request.scope.get("query_string", b"")
        if len(raw_query) > max_bytes:
            raise ProtocolError(414, f"the URL is longer than {max_bytes} bytes: POST the query instead")
        params = _parse_params(raw_query.decode("latin-1"), "URL's query string")
        queries = [v for k, v in params if k == "query"]
        updates = [v for k, v in params if k == "update"]
        if method == "POST":
            content_type, charset = _content_type(request.headers.get("content-type"))
            if content_type == UPDATE_TYPE:
                raise ProtocolError(403, "SPARQL Update is not accepted: this endpoint is read-only", "refused")
            if content_type not in (FORM_TYPE, QUERY_TYPE):
                shown = f"'{content_type}'" if content_type else "no Content-Type"
                raise ProtocolError(415, f"a POST to the SPARQL endpoint must be {FORM_TYPE} (query=…) or "
                                         f"{QUERY_TYPE} (the query as the body), not {shown}")
            if charset not in (None, "utf-8", "utf8"):
                raise ProtocolError(415, f"the request must be UTF-8, not {charset}")
            body = await self._read_body(request, max_bytes)
            if content_type == FORM_TYPE:
                try:
                    form_text = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtocolError(400, "the form is not UTF-8") from None
                form = _parse_params(form_text, "form")
                params += form
                queries += [v for k, v in form if k == "query"]
                updates += [v for k, v in form if k == "update"]
            else:
                if queries:
                    raise ProtocolError(400, "the query is both in the body and in the URL's 'query' "
                                             "parameter: send one query")
                try:
                    queries = [body.decode("utf-8-sig")]  # a byte order mark is no part of the query
                except UnicodeDecodeError:
                    raise ProtocolError(400, "the query is not UTF-8") from None
        if len(queries) > 1:
            raise ProtocolError(400, f"the request carries {len(queries)} queries: send exactly one 'query'")
        if len(updates) > 1:
            raise ProtocolError(400, f"the request carries {len(updates)} updates; besides, this endpoint is "
                                     "read-only")
        if queries and updates:
            raise ProtocolError(400, "the request carries both a 'query' and an 'update': send one query")
        if updates:
            raise ProtocolError(403, "SPARQL Update is not accepted: this endpoint is read-only", "refused")
        default_graphs = tuple(v for k, v in params if k == "default-graph-uri")
        named_graphs = tuple(v for k, v in params if k == "named-graph-uri")
        formats = [v for k, v in params if k == "format"]
        if not queries:
            if method == "POST":
                raise ProtocolError(400, "no query: POST a 'query' form field or an application/sparql-query body")
            if default_graphs or named_graphs:
                raise ProtocolError(400, "default-graph-uri and named-graph-uri need a 'query' parameter")
            return await self._describe(request, formats)
        query = queries[0]
        if not query.strip():
            raise ProtocolError(400, "the query is empty")
        for iri in (*default_graphs, *named_graphs):
            try:
                ox.NamedNode(iri)
            except ValueError:
                raise ProtocolError(400, f"'{iri}' is not an absolute IRI (default-graph-uri, named-graph-uri)") \
                    from None
        form = query_form(query)
        if form not in (None, "SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            raise ProtocolError(403, f"SPARQL Update ({form}) is not accepted: this endpoint is read-only",
                                "refused")
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        offers = GRAPH_MEDIA_TYPES if graph_form else RESULT_MEDIA_TYPES
        media_type = self._choose(request, formats, offers, graph_form)
        sparql = SparqlRequest(query, media_type, default_graphs, named_graphs)
        try:
            answer = await self._run_while_connected(request, sparql)
        except EngineError as exc:
            raise _engine_error(exc) from None
        headers = {"Vary": "Accept"}
        if answer.truncated:
            headers[TRUNCATED_HEADER] = str(answer.limit)
        return Response(answer.body, media_type=_with_charset(answer.media_type), headers=headers)

    async def _run_while_connected(self, request: Request, sparql: SparqlRequest) -> SparqlResponse:
        """Run the query, and stop it if the client goes away first: a client that sends heavy
        queries and hangs up does not keep the workers busy for the whole time limit. The query
        runs in this task (a task of its own and asyncio.wait cost a tenth of a cheap query); a
        watcher cancels it when the client disconnects."""
        task = asyncio.current_task()
        assert task is not None
        left = False

        def client_left(watcher: asyncio.Future[None]) -> None:
            nonlocal left
            if not watcher.cancelled() and watcher.exception() is None:
                left = True
                task.cancel()  # the engine replaces the worker that was running the query

        gone = asyncio.ensure_future(_disconnected(request))
        gone.add_done_callback(client_left)
        try:
            answer = await self.engine.run(sparql)
            if left:  # the client left as the answer came: the cancel is still due, take it here
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            if not left:
                raise  # the server is stopping
            task.uncancel()
            raise ProtocolError(499, "the client closed the connection before the answer", "client-gone") \
                from None
        finally:
            gone.remove_done_callback(client_left)
            gone.cancel()
        return answer

    def _choose(self, request: Request, formats: Sequence[str], offers: Sequence[str], graph_form: bool) -> str:
        if formats:
            for value in formats:
                chosen = _format_value(value, offers, graph_form)
                if chosen:
                    return chosen
            known = ", ".join(k for k, v in FORMAT_TOKENS.items() if v[1 if graph_form else 0])
            raise ProtocolError(400 if not any(_known_format(v) for v in formats) else 406,
                                f"format={formats[0]!r} is not available for this query; use one of: {known}",
                                "format")
        accept = request.headers.get("accept")
        if prefers_html(accept, offers):
            return offers[0]  # a browser: JSON results, Turtle graphs
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise ProtocolError(406, f"none of the formats in Accept: {accept!r} is available for this query; "
                                     f"available: {', '.join(offers)}", "format")
        return chosen

    async def _read_body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise ProtocolError(400, "the Content-Length header is not a number") from None
            if size > limit:
                raise ProtocolError(413, f"the request body is larger than the limit of {limit} bytes", "too-large")
        chunks = []
        total = 0
        seconds = self.settings.body_timeout
        try:
            async with asyncio.timeout(seconds):  # a client trickling its body holds no slot for long
                async for chunk in request.stream():
                    total += len(chunk)
                    if total > limit:
                        raise ProtocolError(413, f"the request body is larger than the limit of {limit} bytes",
                                            "too-large")
                    chunks.append(chunk)
        except TimeoutError:
            raise ProtocolError(408, f"the request body did not arrive within {seconds:g} s", "slow-client",
                                {"Connection": "close"}) from None
        return b"".join(chunks)

    def _options(self, request: Request) -> Response:
        headers = {"Allow": ", ".join(ALLOWED_METHODS)}
        if request.headers.get("origin") and request.headers.get("access-control-request-method"):
            requested = request.headers.get("access-control-request-headers", "")
            allowed = requested if re.fullmatch(r"[A-Za-z0-9_\-, ]*", requested) and requested.strip() \
                else "Accept, Content-Type"
            headers.update({
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": allowed,
                "Access-Control-Max-Age": "86400",
            })
        return Response(status_code=204, headers=headers)

    async def _describe(self, request: Request, formats: Sequence[str]) -> Response:
        offers = (*_SD_FORMATS, HTML)
        accept = request.headers.get("accept")
        if formats:
            chosen = next((c for c in (_format_value(v, offers, True) for v in formats) if c), None)
            if chosen is None and "html" in (v.lower() for v in formats):
                chosen = HTML
            if chosen is None:
                raise ProtocolError(400, f"format={formats[0]!r} is not a format of the service description",
                                    "format")
        elif prefers_html(accept, _SD_FORMATS):
            chosen = HTML
        else:
            chosen = negotiate(accept, offers)
            if chosen is None:
                raise ProtocolError(406, f"none of the formats in Accept: {accept!r} is available for the "
                                         f"service description; available: {', '.join(offers)}", "format")
        headers = {"Vary": "Accept"}
        if chosen == HTML:
            if self.html_page is not None:
                page = self.html_page(request)
                response = await page if inspect.isawaitable(page) else page
                response.headers.setdefault("Vary", "Accept")
                return response
            return Response(_default_html(self.endpoint_url), media_type="text/html; charset=utf-8",
                            headers=headers)
        body = self._descriptions.get(chosen)
        if body is None:
            triples = service_description(self.settings, self.endpoint_url, await self._named_graphs())
            body = ox.serialize(triples, format=_SD_FORMATS[chosen], prefixes=_SD_PREFIXES
                                if chosen in (TURTLE, TRIG, RDF_XML) else None)
            self._descriptions[chosen] = body
        return Response(body, media_type=_with_charset(chosen), headers=headers)

    async def _named_graphs(self) -> list[str]:
        if self._graphs is None:
            try:
                graphs = internal_query(_HERE, "graphs")
                answer = await self.engine.run(SparqlRequest(graphs, SPARQL_JSON, limit=100_000))
            except EngineError as exc:
                raise _engine_error(exc) from None
            import json

            rows = json.loads(answer.body)["results"]["bindings"]
            self._graphs = [row["g"]["value"] for row in rows if row.get("g", {}).get("type") == "uri"]
        return self._graphs


async def _disconnected(request: Request) -> None:
    """Return when the client has closed the connection (the request body is read by then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _known_format(value: str) -> bool:
    value = value.strip().lower()
    return value in FORMAT_TOKENS or any(value == t or value in a for t, a in ALIASES.items())


def _format_value(value: str, offers: Sequence[str], graph_form: bool) -> str | None:
    """The offer a ``format=`` value names (a token or a media type), if it is one of ``offers``."""
    value = value.strip().lower()
    if value in FORMAT_TOKENS:
        chosen = FORMAT_TOKENS[value][1 if graph_form else 0]
        return chosen if chosen in offers else None
    media = value.partition(";")[0].strip()
    for offer in offers:
        if media == offer or media in ALIASES.get(offer, ()):
            return offer
    return None


def _with_charset(media_type: str) -> str:
    return media_type + "; charset=utf-8" if media_type.startswith("text/") else media_type


def sparql_routes(settings: ServeSettings, engine: QueryEngine, *, html_page: HtmlPage | None = None,
                  path: str = "/sparql") -> list[BaseRoute]:
    """The routes of the SPARQL endpoint at ``path``. ``html_page(request)`` (sync or async) answers
    a browser's ``GET /sparql`` without a query (a query UI); by default a minimal form. The
    engine must be started (and stopped) by the app's lifespan, in the server's event loop."""
    return [Route(path, SparqlEndpoint(settings, engine, path=path, html_page=html_page), name="sparql")]


def sparql_app(settings: ServeSettings, engine: QueryEngine | None = None, *,
               html_page: HtmlPage | None = None) -> Starlette:
    """A standalone app serving only the SPARQL endpoint; it starts and stops its engine."""
    engine = engine if engine is not None else create_engine(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with engine:
            yield

    app = Starlette(routes=sparql_routes(settings, engine, html_page=html_page), lifespan=lifespan)
    app.state.engine = engine
    return app
