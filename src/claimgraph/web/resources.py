"""Dereferencing: every IRI the dataset mints, in the format the client asks for."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from claimgraph.documents.describe import Description, describe
from claimgraph.documents.formats import FORMATS, Format, format_for_extension, negotiate
from claimgraph.documents.rdf import serialize
from claimgraph.documents.view import Linker
from claimgraph.namespaces import Iris
from claimgraph.site import page_for
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


def description_response(request: Request, description: Description, settings: ServeSettings,
                         site: dict, extension: str | None, public_url: str) -> Response:
    fmt = requested_format(request, extension)
    if fmt == "unknown":
        return PlainTextResponse("400 Bad Request: ?format= must be one of "
                                 + ", ".join(f.extension for f in FORMATS) + "\n", status_code=400)
    if fmt is None:
        return not_acceptable(public_url)
    assert isinstance(fmt, Format)
    headers = {"Vary": "Accept", "Link": alternates(public_url),
               "Content-Location": f"{public_url}.{fmt.extension}"}
    if fmt.rdf_format is None:
        linker = Linker(settings.base_iri, settings.base_url)
        return HTMLResponse(page_for(description, linker, site), headers=headers)
    rewrite = settings.to_public if settings.base_url != settings.base_iri else None
    body = serialize(description.quads, fmt, settings.base_url, rewrite)
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.extension in ("ttl", "nt", "nq", "trig") else "")
    return Response(body, media_type=media_type, headers=headers)


def dereference(request: Request, store: ox.Store, iris: Iris, settings: ServeSettings, site: dict,
                path: str) -> Response:
    resource_path, extension = split_extension(path)
    iri = iris.base + resource_path
    public_url = settings.base_url + quote(resource_path, safe="/:@-._~!$&'()*+,;=")
    try:
        ox.NamedNode(iri)
    except ValueError:  # a path no IRI of the dataset can have (NUL, an undecodable byte…)
        return not_found(f"<{public_url}>")
    description = describe(store, iri, iris)
    if not description.found:
        return not_found(f"<{public_url}>")
    return description_response(request, description, settings, site, extension, public_url)
