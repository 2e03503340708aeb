"""The ASGI app: one process serving the built dataset.

It reads only the build output (the store, the dumps, the search index, build.json), never
the sources. Everything that depends on the dataset's size is loaded once at start-up; a
request does work proportional to what it returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from claimgraph.documents.catalog import Catalog, load_catalog
from claimgraph.documents.describe import ONTOLOGY_IRI, SUMMARIES_KEPT, Describer
from claimgraph.documents.formats import FORMATS, negotiate
from claimgraph.documents.graphfiles import GraphFiles
from claimgraph.documents.site_pages import (
    articles_page,
    downloads_page,
    entities_page,
    home_page,
    search_page,
    site_context,
    sparql_ui_page,
)
from claimgraph.documents.view import Linker
from claimgraph.errors import OutputError
from claimgraph.metadata import DISTRIBUTIONS
from claimgraph.namespaces import Iris
from claimgraph.publishing import GRAPHS_DIR, STORE_DIR
from claimgraph.queries import list_queries
from claimgraph.search import SEARCH_FILE, SearchIndex
from claimgraph.site import sitemap
from claimgraph.web import named_queries
from claimgraph.web.doc_cache import DocumentCache
from claimgraph.web.engine import QueryEngine, create_engine
from claimgraph.web.resources import dereference, description_response, not_found, split_extension
from claimgraph.web.settings import ServeSettings
from claimgraph.web.sparql import sparql_routes

JSON_TYPES = ("application/json", "application/ld+json")


@dataclass
class Dataset:
    """What the server loaded at start-up."""

    store: ox.Store  # or anything with its quads_for_pattern (a remote store)
    iris: Iris
    catalog: Catalog
    search: SearchIndex
    site: dict
    manifest: dict
    describe: Describer
    graphs: GraphFiles | None = None  # the build's article graph files, read before the store


def read_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError("no readable build here (build.json): run 'claimgraph build' first",
                          out_dir / "build.json") from exc


def open_dataset(settings: ServeSettings) -> Dataset:
    manifest = read_manifest(settings.out_dir)
    iris = Iris(settings.base_iri)
    if settings.endpoint:  # the dataset lives in a remote store; the build gives search and downloads
        from claimgraph.web.remote_engine import RemoteQuadSource, RemoteQueryStore

        store = RemoteQuadSource(RemoteQueryStore(settings.endpoint, settings.query_timeout))
    else:
        store = ox.Store.read_only(str(settings.out_dir / STORE_DIR))
    graphs = None
    if not settings.endpoint and (settings.out_dir / GRAPHS_DIR).is_dir():
        graphs = GraphFiles(settings.out_dir / GRAPHS_DIR)  # opened with the store: the same build
    catalog = load_catalog(store, iris, manifest.get("version", ""))
    site = site_context(catalog, settings.base_iri, static=False)
    # The embedded store is opened read-only for the server's lifetime: what describing
    # looks up of linked resources can be kept (a remote store may be republished meanwhile).
    describer = Describer(store, iris, graphs, keep=0 if settings.endpoint else SUMMARIES_KEPT)
    return Dataset(store, iris, catalog, SearchIndex(settings.out_dir / SEARCH_FILE), site, manifest,
                   describer, graphs)


def wants_json(request: Request, extension: str | None = None) -> bool:
    if extension == "json" or request.query_params.get("format") == "json":
        return True
    if extension or request.query_params.get("format"):
        return False
    # Pages are for people: JSON only when the client prefers it to HTML (*/* gets the page).
    accept = request.headers.get("accept", "")
    best = negotiate(accept, tuple(f for f in FORMATS if f.extension in ("html", "jsonld")),
                     preference=("text/html", "application/ld+json"))
    return best is not None and best.extension == "jsonld"


def create_app(settings: ServeSettings, engine: QueryEngine | None = None) -> Starlette:
    data = open_dataset(settings)
    # The named queries get a worker of their own: public /sparql queries running into the time
    # limit on every worker must not keep the site's own query pages waiting.
    pages_engine = engine or (create_engine(dataclasses.replace(settings, workers=1))
                              if not settings.endpoint else None)
    engine = engine or create_engine(settings)
    pages_engine = pages_engine or engine
    linker = Linker(settings.base_iri, settings.base_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        try:
            if pages_engine is not engine:
                await pages_engine.start()
            yield
        finally:
            if pages_engine is not engine:
                await pages_engine.stop()
            await engine.stop()
            data.search.close()
            if data.graphs is not None:
                data.graphs.close()

    def home(request: Request) -> Response:
        if wants_json(request):
            c = data.catalog
            return JSONResponse({"title": c.title, "description": c.description, "license": c.license,
                                 "version": c.version, "built_at": c.built_at, "figures": c.figures,
                                 "articles": settings.base_url + "article/",
                                 "sparql": settings.base_url + "sparql"})
        return HTMLResponse(home_page(data.catalog, linker, data.site))

    def article_list(request: Request) -> Response:
        params = request.query_params
        filters = {k: params[k] for k in ("outlet", "author", "entity", "from", "to") if params.get(k)}
        chosen = data.catalog.filter_articles(
            outlet=settings.from_public(filters["outlet"]) if "outlet" in filters else None,
            author=settings.from_public(filters["author"]) if "author" in filters else None,
            entity=settings.from_public(filters["entity"]) if "entity" in filters else None,
            date_from=filters.get("from"), date_to=filters.get("to"))
        if wants_json(request):
            return JSONResponse({"filters": filters, "count": len(chosen), "articles": [
                {"iri": settings.to_public(a.iri), "headline": a.headline, "datePublished": a.date,
                 "author": {"iri": settings.to_public(a.author[0]), "name": a.author[1]},
                 "publisher": {"iri": settings.to_public(a.publisher[0]), "name": a.publisher[1]},
                 "claims": a.claims, "quotations": a.quotations} for a in chosen]})
        return HTMLResponse(articles_page(data.catalog, linker, data.site, filters, chosen))

    def entity_list(request: Request) -> Response:
        if wants_json(request):
            return JSONResponse({"entities": [
                {"iri": settings.to_public(e.iri), "key": e.key, "name": e.name, "types": list(e.types),
                 "wikidata": e.wikidata, "status": e.status, "articles": e.articles}
                for e in data.catalog.entities]})
        return HTMLResponse(entities_page(data.catalog, linker, data.site))

    def search(request: Request) -> Response:
        text = request.query_params.get("q", "")[:200]
        kind = request.query_params.get("kind") or None
        hits = data.search.search(text, kind=kind) if text.strip() else []
        if wants_json(request):
            return JSONResponse({"q": text, "results": [
                {"iri": settings.to_public(h.iri), "kind": h.kind, "label": h.label,
                 "snippet": h.snippet.replace("\x02", "").replace("\x03", ""), "score": -h.score}
                for h in hits]})
        return HTMLResponse(search_page(text, hits, linker, data.site))

    def downloads(request: Request) -> Response:
        if wants_json(request):
            return JSONResponse({"downloads": [
                {"url": settings.base_url + "download/" + d.filename, "mediaType": d.media_type,
                 "title": d.title, "bytes": (settings.out_dir / d.filename).stat().st_size}
                for d in DISTRIBUTIONS if (settings.out_dir / d.filename).is_file()]})
        return HTMLResponse(downloads_page(settings.out_dir, linker, data.site))

    def download(request: Request) -> Response:
        name = request.path_params["name"]
        allowed = {d.filename: d.media_type for d in DISTRIBUTIONS}
        if name not in allowed:  # only the published dumps: no path is ever built from the request
            return not_found(f"download/{name}")
        return FileResponse(settings.out_dir / name, media_type=allowed[name],
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def void(request: Request) -> Response:
        description = data.describe(str(data.iris.dataset))
        return description_response(request, description, settings, data.site, None,
                                    settings.base_url + ".well-known/void")

    def ontology(request: Request) -> Response:
        _, extension = split_extension(request.url.path.lstrip("/"))
        description = data.describe(ONTOLOGY_IRI)
        if extension is None and "html" in request.headers.get("accept", "") and not request.query_params:
            return FileResponse(settings.out_dir / "ontology.html", media_type="text/html")
        return description_response(request, description, settings, data.site, extension,
                                    settings.base_url + "ontology")

    def shapes(request: Request) -> Response:
        return FileResponse(settings.out_dir / "shapes.ttl", media_type="text/turtle; charset=utf-8",
                            headers={"Vary": "Accept"})

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": data.catalog.version,
                             "articles": len(data.catalog.articles)})

    def sitemap_xml(request: Request) -> Response:
        pages = [settings.base_url, settings.base_url + "article/", settings.base_url + "entity/"]
        pages += [settings.to_public(a.iri) for a in data.catalog.articles]
        pages += [settings.to_public(e.iri) for e in data.catalog.entities]
        return Response(sitemap(data.iris, pages), media_type="application/xml")

    # A remote store may be republished while the server runs: only the embedded store, fixed
    # for the server's lifetime, has documents worth keeping.
    documents = DocumentCache(settings.document_cache_bytes) \
        if settings.document_cache_bytes > 0 and not settings.endpoint else None

    async def resource(request: Request) -> Response:
        return await dereference(request, data.describe, settings, data.site, request.path_params["path"],
                                 documents)

    queries = list_queries()

    def sparql_ui(request: Request) -> Response:
        return HTMLResponse(sparql_ui_page(queries, settings.base_url + "sparql", settings.query_timeout,
                                           settings.result_limit, linker, data.site))

    routes = [
        # the SPARQL endpoint first: Starlette tries routes in turn, and it takes most requests
        *sparql_routes(settings, engine, html_page=sparql_ui),
        Route("/", home),
        Route("/healthz", healthz),
        Route("/sitemap.xml", sitemap_xml),
        Route("/.well-known/void", void),
        Route("/search", search),
        Route("/article/", article_list),
        Route("/entity/", entity_list),
        Route("/download/", downloads),
        Route("/download/{name}", download),
        Route("/ontology", ontology),
        Route("/ontology.{ext}", ontology),
        Route("/shapes", shapes),
        *named_queries.routes(settings, pages_engine, queries, linker, data.site),
        Route("/{path:path}", resource),
    ]
    return Starlette(routes=routes, lifespan=lifespan)

