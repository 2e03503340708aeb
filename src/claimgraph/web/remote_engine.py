"""Serving from a remote SPARQL store (``claimgraph serve --endpoint URL``).

The local engine's request handling (refusing updates and SERVICE, mapping public URLs,
capping and writing results) works on anything with pyoxigraph's ``Store.query`` signature.
:class:`RemoteQueryStore` offers that signature over a SPARQL 1.1 endpoint: it asks in lossless
formats (SPARQL JSON results, N-Triples) and hands back pyoxigraph objects, so answers from a
remote store go through exactly the same code as answers from the embedded one. Resource
descriptions use :class:`RemoteQuadSource`, the store's ``quads_for_pattern`` as a query.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from claimgraph.queries import internal_query
from claimgraph.remote.sparql import bind_values
from claimgraph.web.engine import (
    EngineUnavailable,
    QueryEngine,
    QueryEvaluationError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    QueryTooComplex,
    SparqlRequest,
    SparqlResponse,
)
from claimgraph.web.query_worker import (
    execute,
)
from claimgraph.web.settings import ServeSettings

USER_AGENT = "claimgraph (serving a dataset from a remote store)"
_HERE = Path(__file__).resolve().parent  # quads_for_pattern.rq


class RemoteQueryStore:
    """``query(text, **options)`` like pyoxigraph's Store, answered by a remote endpoint."""

    def __init__(self, endpoint: str, timeout: float, client: httpx.Client | None = None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.client = client or httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT},
                                             follow_redirects=False)

    def query(self, text: str, *, base_iri: str | None = None, use_default_graph_as_union: bool = False,
              default_graph: list[ox.NamedNode] | None = None, named_graphs: list[ox.NamedNode] | None = None,
              substitutions: dict[ox.Variable, Any] | None = None) -> Any:
        if substitutions:
            text = bind_values(text, {v.value: t for v, t in substitutions.items()})
        params: list[tuple[str, str]] = [("query", text)]
        params += [("default-graph-uri", g.value) for g in default_graph or ()]
        params += [("named-graph-uri", g.value) for g in named_graphs or ()]
        accept = "application/sparql-results+json, application/n-triples;q=0.9"
        try:
            response = self.client.post(self.endpoint, content=urlencode(params).encode(),
                                        headers={"Accept": accept,
                                                 "Content-Type": "application/x-www-form-urlencoded"})
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"{self.endpoint} did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise OSError(f"{self.endpoint} cannot be reached: {exc}") from exc
        if response.status_code == 400:
            raise SyntaxError(f"{self.endpoint} refused the query: {response.text[:500]}")
        if response.status_code >= 300:
            raise OSError(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type in ("application/sparql-results+json", "application/json"):
            try:
                return ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
            except SyntaxError as exc:
                raise OSError(f"{self.endpoint} sent SPARQL results that do not parse: {exc}") from exc
        fmt = ox.RdfFormat.from_media_type(media_type)
        if fmt is None:
            raise OSError(f"{self.endpoint} answered in {media_type or 'no media type'}, not SPARQL results or RDF")
        return iter([q.triple for q in ox.parse(response.content, format=fmt)])


def _pattern_query() -> str:
    return internal_query(_HERE, "quads_for_pattern")


class RemoteQuadSource:
    """``quads_for_pattern`` over a remote endpoint, for describing resources, and ``query``
    for the catalog's queries."""

    def __init__(self, store: RemoteQueryStore) -> None:
        self.store = store

    def query(self, text: str, **options: Any) -> Any:
        return self.store.query(text, **options)

    def quads_for_pattern(self, subject: Any = None, predicate: Any = None, object: Any = None,
                          graph_name: Any = None) -> Iterator[ox.Quad]:
        bindings = {name: term for name, term in (("s", subject), ("p", predicate), ("o", object),
                                                  ("g", graph_name)) if term is not None}
        solutions = self.store.query(_pattern_query(), substitutions={ox.Variable(k): v for k, v in bindings.items()})
        for row in solutions:
            yield ox.Quad(subject or row["s"], predicate or row["p"], object or row["o"], graph_name or row["g"])


class RemoteEngine(QueryEngine):
    """Answers /sparql and the named queries from a remote endpoint, with the same refusals,
    caps and formats as the embedded engine. Calls run in threads, bounded by the time limit."""

    def __init__(self, settings: ServeSettings) -> None:
        assert settings.endpoint
        self.settings = settings
        self.store = RemoteQueryStore(settings.endpoint, settings.query_timeout)
        from claimgraph.namespaces import PREFIXES

        public = (settings.base_iri, settings.base_url) if settings.base_url != settings.base_iri else None
        self.config = {"base_iri": settings.base_iri + "sparql", "public_base": public, "prefixes": PREFIXES,
                       "allow_service": False}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.store.client.close()

    async def run(self, request: SparqlRequest) -> SparqlResponse:
        timeout = request.timeout if request.timeout is not None else self.settings.query_timeout
        limit = request.limit if request.limit is not None else self.settings.result_limit
        message = {"query": request.query, "media_type": request.result_media_type,
                   "default_graphs": tuple(request.default_graph_uris),
                   "named_graphs": tuple(request.named_graph_uris),
                   "substitutions": {k.value if isinstance(k, ox.Variable) else str(k): v
                                     for k, v in request.substitutions.items()},
                   "limit": limit}
        started = time.perf_counter()
        try:
            reply = await asyncio.wait_for(asyncio.to_thread(self._execute, message), timeout + 1)
        except TimeoutError:
            raise QueryTimeout(f"the remote store did not answer within the time limit of {timeout:g} s",
                               timeout) from None
        if not reply["ok"]:
            kind = reply["kind"]
            error = {"syntax": QuerySyntaxError, "refused": QueryRefused, "too-complex": QueryTooComplex,
                     "evaluation": QueryEvaluationError}.get(kind, EngineUnavailable)
            raise error(reply["message"])
        return SparqlResponse(reply["body"], reply["media_type"], reply["form"], reply["truncated"],
                              reply["count"], limit, time.perf_counter() - started)

    def _execute(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            return execute(self.store, self.config, message)  # type: ignore[arg-type]
        except TimeoutError as exc:
            return {"ok": False, "kind": "unavailable", "message": str(exc)}
        except Exception as exc:
            kind = getattr(exc, "kind", "unavailable")
            return {"ok": False, "kind": kind, "message": getattr(exc, "message", str(exc))}
