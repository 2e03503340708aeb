"""The static site: every page and every resource document in every format, as plain files.

It works from any plain file server (links are relative and name the file), for publishers
who host on static hosting; ``claimgraph serve`` serves the same documents with content
negotiation. Written by the build from the freshly loaded store.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pyoxigraph as ox

from claimgraph.documents.catalog import Catalog, load_catalog
from claimgraph.documents.describe import SUMMARIES_KEPT, Describer, Description, describe
from claimgraph.documents.formats import FORMATS
from claimgraph.documents.graphfiles import GraphFiles
from claimgraph.documents.pages import article_page, entity_page, resource_page
from claimgraph.documents.rdf import serialize, serialize_description
from claimgraph.documents.site_pages import (
    articles_page,
    downloads_page,
    entities_page,
    home_page,
    queries_page,
    site_context,
)
from claimgraph.documents.view import Linker, QuadView, site_file
from claimgraph.metadata import DISTRIBUTIONS
from claimgraph.namespaces import Iris
from claimgraph.publishing import GRAPHS_DIR
from claimgraph.queries import list_queries

SITE_DIR = "site"


def resource_iris(store: ox.Store, iris: Iris) -> list[str]:
    """Every IRI the dataset mints that a document stands for (hash parts are in their
    resource's document)."""
    found: set[str] = set()
    for quad in store.quads_for_pattern(None, None, None, None):
        for term in (quad.subject, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode) and term.value.startswith(iris.base) and "#" not in term.value:
                found.add(term.value)
    return sorted(i for i in found if not i.startswith(iris.base + "download/") and i != str(iris.sparql))


def page_for(description: Description, linker: Linker, site: dict) -> str:
    view = QuadView(description.quads)
    if description.kind == "article":
        return article_page(view, description.iri, linker, site)
    if description.kind == "entity":
        return entity_page(view, description.iri, linker, site)
    return resource_page(view, description.iri, linker, site)


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def sitemap(iris: Iris, pages: list[str]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    lines += [f"  <url><loc>{xml_escape(page)}</loc></url>" for page in pages]
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def write_site(store: ox.Store, iris: Iris, out_dir: Path, version: str) -> Catalog:
    """Write ``out_dir/site``; returns the catalog it was made from."""
    root = out_dir / SITE_DIR
    catalog = load_catalog(store, iris, version)
    site = site_context(catalog, iris.base, static=True)

    def linker(page: str) -> Linker:
        return Linker(iris.base, iris.base, static_from=page)

    _write(root / "index.html", home_page(catalog, linker("index.html"), site))
    _write(root / "article/index.html", articles_page(catalog, linker("article/index.html"), site, {}))
    _write(root / "entity/index.html", entities_page(catalog, linker("entity/index.html"), site))
    _write(root / "queries/index.html", queries_page(list_queries(), linker("queries/index.html"), site))
    downloads = root / "download"
    downloads.mkdir(parents=True, exist_ok=True)
    for dist in DISTRIBUTIONS:
        source = out_dir / dist.filename
        if source.is_file():
            try:
                os.link(source, downloads / dist.filename)  # same bytes, no second copy on disk
            except OSError:
                shutil.copyfile(source, downloads / dist.filename)
    _write(downloads / "index.html", downloads_page(out_dir, linker("download/index.html"), site))
    pages = [iris.base, iris.base + "article/", iris.base + "entity/", iris.base + "queries/"]
    graphs = GraphFiles(out_dir / GRAPHS_DIR) if (out_dir / GRAPHS_DIR).is_dir() else None
    try:
        # the store is not written while the site is: what describing looks up is kept
        describer = Describer(store, iris, graphs, keep=SUMMARIES_KEPT)
        for iri in resource_iris(store, iris):
            description = describer(iri)
            if not description.found:
                continue
            path = iri[len(iris.base):]
            for fmt in FORMATS:
                target = site_file(path, fmt.extension)
                if fmt.rdf_format is None:
                    _write(root / target, page_for(description, linker(target), site))
                else:
                    _write(root / target, serialize_description(description, fmt, iris.base))
            pages.append(iri)
    finally:
        if graphs:
            graphs.close()
    void = describe(store, str(iris.dataset), iris)
    _write(root / ".well-known/void", serialize(void.quads, FORMATS[1], iris.base))
    _write(root / "sitemap.xml", sitemap(iris, pages))
    return catalog
