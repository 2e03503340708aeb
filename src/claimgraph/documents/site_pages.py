"""Dataset-level pages: home, article and entity lists, named queries, search, downloads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

from claimgraph.documents.catalog import Catalog
from claimgraph.documents.formats import FORMATS
from claimgraph.documents.pages import render
from claimgraph.documents.view import Linker
from claimgraph.metadata import DISTRIBUTIONS
from claimgraph.queries import NamedQuery
from claimgraph.search import Hit


def site_context(catalog: Catalog, base_iri: str, static: bool) -> dict:
    return {"title": catalog.title, "license": catalog.license, "built_at": catalog.built_at,
            "base_iri": base_iri, "static": static, "version": catalog.version,
            "formats": [(f.extension, f.media_type) for f in FORMATS if f.extension != "html"]}


def home_page(catalog: Catalog, linker: Linker, site: dict) -> str:
    return render("home.html", linker, site=site, catalog=catalog, recent=catalog.articles[:20],
                  queries_href=linker.path("queries/index.html") if site["static"]
                  else linker.public(site["base_iri"] + "queries/"))


def articles_page(catalog: Catalog, linker: Linker, site: dict, filters: dict[str, str],
                  articles: list | None = None) -> str:
    chosen = catalog.articles if articles is None else articles
    outlets = sorted({a.publisher for a in catalog.articles}, key=lambda p: p[1])
    authors = sorted({a.author for a in catalog.articles}, key=lambda p: p[1])
    return render("articles.html", linker, site=site, articles=chosen, filters=filters,
                  outlets=outlets, authors=authors, entities=catalog.entities, total=len(catalog.articles))


def entities_page(catalog: Catalog, linker: Linker, site: dict) -> str:
    return render("entities.html", linker, site=site, entities=catalog.entities)


def queries_page(queries: list[NamedQuery], linker: Linker, site: dict) -> str:
    return render("queries.html", linker, site=site, queries=queries)


@dataclass
class QueryAnswer:
    variables: list[str]
    rows: list[dict[str, dict]]  # SPARQL JSON bindings
    error: str | None = None
    truncated: bool = False
    page: str | None = None  # e.g. "page 2 of 6: articles 21–40 of 120", for a paged listing
    links: dict[str, str] = field(default_factory=dict)  # rel (first, prev, next, last) → URL


def query_page(query: NamedQuery, values: dict[str, str], answer: QueryAnswer | None, linker: Linker,
               site: dict, permalink: str, pinned_version: str | None) -> str:
    return render("query.html", linker, site=site, query=query, values=values, answer=answer,
                  permalink=permalink, pinned_version=pinned_version,
                  stale=pinned_version is not None and pinned_version != site["version"])


def highlight(snippet: str) -> Markup:
    return Markup(str(escape(snippet)).replace("\x02", "<mark>").replace("\x03", "</mark>"))


def search_page(text: str, hits: list[Hit], linker: Linker, site: dict) -> str:
    return render("search.html", linker, site=site, query_text=text,
                  hits=[(h, highlight(h.snippet)) for h in hits])


def downloads_page(out_dir: Path, linker: Linker, site: dict) -> str:
    files = []
    for dist in DISTRIBUTIONS:
        path = out_dir / dist.filename
        if path.is_file():
            files.append({"name": dist.filename, "title": dist.title, "media_type": dist.media_type,
                          "size": path.stat().st_size})
    return render("downloads.html", linker, site=site, files=files)


def sparql_ui_page(queries: list[NamedQuery], endpoint: str, timeout: float, limit: int, linker: Linker,
                   site: dict) -> str:
    """The query editor: a form over the endpoint, prefilled with the project's queries."""
    examples = [{"name": q.name, "title": q.title, "text": q.text} for q in queries]
    examples_json = Markup(json.dumps(examples, ensure_ascii=False).replace("<", "\\u003c"))
    initial = next((q.text for q in queries if q.name == "article-overview"), queries[0].text if queries else "")
    return render("sparql.html", linker, site=site, endpoint=endpoint, timeout=timeout, limit=limit,
                  examples=examples, examples_json=examples_json, initial=initial)
