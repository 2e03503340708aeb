"""Named queries as pages and API: ``/queries/<name>`` runs ``queries/<name>.rq`` with the
parameters in the URL, as an HTML table, SPARQL JSON or CSV, with a permalink pinned to the
dataset version so an answer can be cited.

A long listing (``claimgraph.query_pages``) answers a page at a time: ``page=N`` (1 when left
out; ``page=all`` for the whole answer, within the time and row limits). Every format carries
``Link`` headers to the first, previous, next and last pages (RFC 8288), and the HTML page the
same links."""

from __future__ import annotations

import json
from collections import OrderedDict
from urllib.parse import urlencode

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from claimgraph.documents.site_pages import QueryAnswer, queries_page, query_page
from claimgraph.documents.view import Linker
from claimgraph.errors import QueryError
from claimgraph.queries import NamedQuery, QueryResult, bind_parameters
from claimgraph.query_pages import Page, is_paged, key_bindings, keys_query, page_of, page_rows, read_keys
from claimgraph.remote.sparql import bind_values
from claimgraph.web.engine import QueryEngine, SparqlRequest
from claimgraph.web.protocol import TSV
from claimgraph.web.settings import ServeSettings

RESULT_TYPES = {"json": "application/sparql-results+json", "csv": "text/csv", "html": "html"}
KEYS_LIMIT = 10_000_000  # page keys a listing may have (the keys query is ours, not a client's)
# Keys lists are kept while the embedded store is served (it does not change under the
# server), up to this many keys in all (about 150 MB of IRIs); a remote store may change.
KEYS_KEPT = 1_000_000


def routes(settings: ServeSettings, engine: QueryEngine, queries: list[NamedQuery], linker: Linker,
           site: dict) -> list[BaseRoute]:
    by_name = {q.name: q for q in queries}
    kept_keys: OrderedDict[tuple, list] = OrderedDict()

    async def page_keys(query: NamedQuery, bindings: dict) -> list:
        assert query.page is not None
        wanted = key_bindings(query, bindings)
        cache_key = (query.page.keys, tuple(sorted((v.value, str(t)) for v, t in wanted.items())))
        if cache_key in kept_keys:
            kept_keys.move_to_end(cache_key)
            return kept_keys[cache_key]
        keys_of = keys_query(query.page.keys)
        answer = await engine.run(SparqlRequest(query=keys_of.text, result_media_type=TSV, substitutions=wanted,
                                                timeout=settings.query_timeout, limit=KEYS_LIMIT))
        solutions = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.TSV)
        variables = [v.value for v in solutions.variables] if isinstance(solutions, ox.QuerySolutions) else []
        rows = [{v: s[v] for v in variables if s[v] is not None} for s in solutions] if variables else []
        keys = read_keys(QueryResult(variables, rows), query)
        if not settings.endpoint:
            kept_keys[cache_key] = keys
            while sum(len(kept) for kept in kept_keys.values()) > KEYS_KEPT:
                kept_keys.popitem(last=False)
        return keys

    def index(request: Request) -> Response:
        if request.query_params.get("format") == "json" or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"queries": [
                {"name": q.name, "title": q.title, "description": q.description,
                 "url": settings.base_url + "queries/" + q.name,
                 "parameters": [{"name": p.name, "type": p.type, "required": p.required,
                                 "default": p.default, "description": p.description} for p in q.parameters],
                 "pages": {"by": q.page.variable, "size": q.page.size, "of": q.page.description}
                 if q.page else None}
                for q in queries]})
        return HTMLResponse(queries_page(queries, linker, site))

    async def run(request: Request) -> Response:
        query = by_name.get(request.path_params["name"])
        if query is None:
            return PlainTextResponse(f"404 Not Found: no query named '{request.path_params['name']}'. "
                                     f"The queries are listed at {settings.base_url}queries/\n", status_code=404)
        params = request.query_params
        fmt = params.get("format") or ("json" if "application/sparql-results+json" in request.headers.get("accept", "")
                                       else "csv" if "text/csv" in request.headers.get("accept", "") else "html")
        if fmt not in RESULT_TYPES:
            return PlainTextResponse("400 Bad Request: format must be html, json or csv\n", status_code=400)
        values = {p.name: settings.from_public(params[p.name]) for p in query.parameters
                  if params.get(p.name)}
        pinned = params.get("v")
        permalink = settings.base_url + "queries/" + query.name + "?" + urlencode(
            {**{p.name: params[p.name] for p in query.parameters if params.get(p.name)},
             "v": site["version"]})
        missing = [p.name for p in query.parameters if p.required and p.name not in values]
        if missing and fmt == "html":
            return HTMLResponse(query_page(query, values, None, linker, site, permalink, pinned))
        try:
            bindings = bind_parameters(query, values, settings.base_iri)
        except QueryError as exc:
            if fmt == "html":
                answer = QueryAnswer([], [], error=exc.message)
                return HTMLResponse(query_page(query, values, answer, linker, site, permalink, pinned),
                                    status_code=400)
            return PlainTextResponse(f"400 Bad Request: {exc.message}\n", status_code=400)
        wanted = "application/sparql-results+json" if fmt == "html" else RESULT_TYPES[fmt]

        def failed(message: str, status: int) -> Response:
            if fmt == "html":
                answer = QueryAnswer([], [], error=message)
                return HTMLResponse(query_page(query, values, answer, linker, site, permalink, pinned),
                                    status_code=status)
            return PlainTextResponse(f"{status}: {message}\n", status_code=status)

        page: Page | None = None
        text, substitutions = query.text, bindings
        listing = permalink
        try:
            number = _page_number(params.get("page"))
        except QueryError as exc:
            return failed(exc.message, 400)
        if number is None and query.page is not None:
            permalink = f"{listing}&page=all"
        try:
            if number is not None and is_paged(query, bindings):
                keys = await page_keys(query, bindings)
                try:
                    page = page_of(query, keys, number)
                except QueryError as exc:
                    return failed(exc.message, 404)
                permalink = f"{listing}&page={page.number}"
                rows = page_rows(query, bindings, keys, page)
                if rows:  # no keys: the listing is empty, and the unpaged query says so as fast
                    text, substitutions = bind_values(query.text, rows), {}
            result = await engine.run(SparqlRequest(query=text, result_media_type=wanted, substitutions=substitutions,
                                                    timeout=settings.query_timeout, limit=settings.result_limit))
        except QueryError as exc:
            return failed(exc.message, getattr(exc, "status", 500))
        links = _page_links(listing, page)
        headers = {"Link": ", ".join([f'<{permalink}>; rel="bookmark"',
                                      *(f'<{url}>; rel="{rel}"' for rel, url in links.items())]),
                   "Claimgraph-Dataset-Version": site["version"]}
        if page is not None:
            headers["Claimgraph-Page"] = f"{page.number}/{page.count}"
        if fmt != "html":
            return Response(result.body, media_type=result.media_type, headers=headers)
        document = json.loads(result.body)
        answer = QueryAnswer(document["head"].get("vars", []), document.get("results", {}).get("bindings", []),
                             truncated=result.truncated,
                             page=page.label(query.page.description) if page and query.page else None,
                             links=links)
        return HTMLResponse(query_page(query, values, answer, linker, site, permalink, pinned), headers=headers)

    return [Route("/queries/", index), Route("/queries/{name}", run)]


def _page_number(raw: str | None) -> int | None:
    """``page=N`` as a number; None for ``page=all``. Left out, it is the first page."""
    if raw is None or raw == "":
        return 1
    if raw == "all":
        return None
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise QueryError(f"page must be a page number (1, 2, …) or 'all', not {raw!r}")
    return int(raw)


def _page_links(permalink: str, page: Page | None) -> dict[str, str]:
    """rel → URL of the first, previous, next and last pages around ``page``."""
    if page is None:
        return {}
    numbers = {"first": 1, "prev": page.number - 1, "next": page.number + 1, "last": page.count}
    return {rel: f"{permalink}&page={n}" for rel, n in numbers.items()
            if 1 <= n <= page.count and n != page.number}
