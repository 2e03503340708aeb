"""Dereferencing: every IRI the dataset mints, in the format the client asks for."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from claimgraph.documents.describe import Describer, Description
from claimgraph.documents.formats import FORMATS, Format, format_for_extension, negotiate
from claimgraph.documents.rdf import Rebase, serialize_description
from claimgraph.documents.view import Linker
from claimgraph.site import page_for
from claimgraph.web.doc_cache import Document, DocumentCache
from claimgraph.web.settings import ServeSettings


def requested_format(request: Request, extension: str | None) -> Format | str | None:
    """The format a request wants: ``?format=``, then a file extension, then Accept.
    Returns a Format, None (nothing acceptable: 406) or "unknown" for a bad ?format=."""
    explicit = request.query_params.get("format")
    if explicit:
        return format_for_extension(explicit) or "unknown"
    if extension:
        return format_for_extension(extension)
    return negotiate(request.headers.get("accept"))


def split_extension(path: str) -> tuple[str, str | None]:
    """'article/x.ttl' → ('article/x', 'ttl') when the extension names a format."""
    head, dot, tail = path.rpartition(".")
    if dot and "/" not in tail and format_for_extension(tail):
        return head, tail
    return path, None


def alternates(public_url: str) -> str:
    return ", ".join(f'<{public_url}.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS)


def not_acceptable(public_url: str) -> PlainTextResponse:
    lines = ["406 Not Acceptable: this resource is available as"]
    lines += [f"  {f.media_type}  ({public_url}.{f.extension})" for f in FORMATS]
    return PlainTextResponse("\n".join(lines) + "\n", status_code=406,
                             headers={"Vary": "Accept", "Link": alternates(public_url)})


def not_found(what: str) -> PlainTextResponse:
    return PlainTextResponse(f"404 Not Found: {what} is not a resource of this dataset.\n", status_code=404)


def render(description: Description, fmt: Format, settings: ServeSettings, site: dict,
           public_url: str) -> Document:
    """``description`` as a document in ``fmt``, with the headers every copy of it carries."""
    headers = {"Vary": "Accept", "Link": alternates(public_url),
               "Content-Location": f"{public_url}.{fmt.extension}"}
    if fmt.rdf_format is None:
        linker = Linker(settings.base_iri, settings.base_url)
        return Document.of(page_for(description, linker, site).encode("utf-8"), "text/html", headers)
    rebase = Rebase(settings.base_iri, settings.base_url) if settings.base_url != settings.base_iri else None
    body = serialize_description(description, fmt, settings.base_url, rebase)
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.extension in ("ttl", "nt", "nq", "trig") else "")
    return Document.of(body, media_type, headers)


def description_response(request: Request, description: Description, settings: ServeSettings,
                         site: dict, extension: str | None, public_url: str) -> Response:
    fmt = requested_format(request, extension)
    if fmt == "unknown":
        return bad_format()
    if fmt is None:
        return not_acceptable(public_url)
    assert isinstance(fmt, Format)
    return render(description, fmt, settings, site, public_url).response(request)


def bad_format() -> PlainTextResponse:
    return PlainTextResponse("400 Bad Request: ?format= must be one of "
                             + ", ".join(f.extension for f in FORMATS) + "\n", status_code=400)


def _describe_and_render(describer: Describer, settings: ServeSettings, site: dict, iri: str,
                         fmt: Format | str | None, public_url: str) -> Document | Response:
    """The document of ``iri`` in ``fmt``, or the error response (404 before 406 and 400)."""
    try:
        ox.NamedNode(iri)
    except ValueError:  # a path no IRI of the dataset can have (NUL, an undecodable byte…)
        return not_found(f"<{public_url}>")
    description = describer(iri)
    if not description.found:
        return not_found(f"<{public_url}>")
    if fmt == "unknown":
        return bad_format()
    if fmt is None:
        return not_acceptable(public_url)
    assert isinstance(fmt, Format)
    return render(description, fmt, settings, site, public_url)


async def dereference(request: Request, describer: Describer, settings: ServeSettings, site: dict,
                      path: str, cache: DocumentCache | None = None) -> Response:
    """The resource at ``path`` in the negotiated format: from ``cache`` when it was rendered
    before (in the event loop, without a thread hop); an article's RDF, which takes a few
    milliseconds, described and rendered in the event loop too; anything else in a worker
    thread, so the event loop keeps serving meanwhile."""
    resource_path, extension = split_extension(path)
    iri = describer.iris.base + resource_path
    public_url = settings.base_url + quote(resource_path, safe="/:@-._~!$&'()*+,;=")
    fmt = requested_format(request, extension)
    key = (iri, fmt.extension) if isinstance(fmt, Format) else None
    if cache is not None and key is not None and (kept := cache.get(key)) is not None:
        return kept.response(request)
    if isinstance(fmt, Format) and fmt.rdf_format is not None and describer.quick(iri):
        # An article's RDF from its build files: a few milliseconds of Python that hold the GIL
        # throughout, so in a worker thread the event loop could do nothing more meanwhile, and
        # handing the work over and back cost more than the work (at 10,000 articles, a p50 of
        # 5.4 ms in a thread against 3.0 ms here).
        outcome = _describe_and_render(describer, settings, site, iri, fmt, public_url)
    else:
        outcome = await run_in_threadpool(_describe_and_render, describer, settings, site, iri, fmt, public_url)
    if not isinstance(outcome, Document):
        return outcome
    if cache is not None and key is not None:
        cache.keep(key, outcome)
    return outcome.response(request)
