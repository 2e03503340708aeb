"""Named queries as pages and API: ``/queries/<name>`` runs ``queries/<name>.rq`` with the
parameters in the URL, as an HTML table, SPARQL JSON or CSV, with a permalink pinned to the
dataset version so an answer can be cited."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from claimgraph.documents.site_pages import QueryAnswer, queries_page, query_page
from claimgraph.documents.view import Linker
from claimgraph.errors import QueryError
from claimgraph.queries import NamedQuery, bind_parameters
from claimgraph.web.engine import QueryEngine, SparqlRequest
from claimgraph.web.settings import ServeSettings

RESULT_TYPES = {"json": "application/sparql-results+json", "csv": "text/csv", "html": "html"}


def routes(settings: ServeSettings, engine: QueryEngine, queries: list[NamedQuery], linker: Linker,
           site: dict) -> list[BaseRoute]:
    by_name = {q.name: q for q in queries}

    def index(request: Request) -> Response:
        if request.query_params.get("format") == "json" or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"queries": [
                {"name": q.name, "title": q.title, "description": q.description,
                 "url": settings.base_url + "queries/" + q.name,
                 "parameters": [{"name": p.name, "type": p.type, "required": p.required,
                                 "default": p.default, "description": p.description} for p in q.parameters]}
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
        request_ = SparqlRequest(query=query.text, result_media_type=wanted, substitutions=bindings,
                                 timeout=settings.query_timeout, limit=settings.result_limit)
        try:
            result = await engine.run(request_)
        except QueryError as exc:
            status = getattr(exc, "status", 500)
            if fmt == "html":
                answer = QueryAnswer([], [], error=exc.message)
                return HTMLResponse(query_page(query, values, answer, linker, site, permalink, pinned),
                                    status_code=status)
            return PlainTextResponse(f"{status}: {exc.message}\n", status_code=status)
        headers = {"Link": f'<{permalink}>; rel="bookmark"', "Claimgraph-Dataset-Version": site["version"]}
        if fmt != "html":
            return Response(result.body, media_type=result.media_type, headers=headers)
        document = json.loads(result.body)
        answer = QueryAnswer(document["head"].get("vars", []), document.get("results", {}).get("bindings", []),
                             truncated=result.truncated)
        return HTMLResponse(query_page(query, values, answer, linker, site, permalink, pinned), headers=headers)

    return [Route("/queries/", index), Route("/queries/{name}", run)]
