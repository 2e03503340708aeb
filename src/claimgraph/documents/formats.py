"""The formats a resource is published in, and choosing one from an HTTP Accept header."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    rdf_format: ox.RdfFormat | None  # None: not an RDF serialization (HTML)
    quads: bool = False  # keeps named graphs


FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", None),
    Format("ttl", "text/turtle", ox.RdfFormat.TURTLE),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD),
    Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES),
    Format("trig", "application/trig", ox.RdfFormat.TRIG, quads=True),
    Format("nq", "application/n-quads", ox.RdfFormat.N_QUADS, quads=True),
    Format("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML),
)
BY_EXTENSION = {f.extension: f for f in FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
# Other names clients use for the same formats.
ALIASES = {
    "application/xhtml+xml": "text/html",
    "application/json": "application/ld+json",
    "application/x-turtle": "text/turtle",
    "text/n3": "text/turtle",
    "text/plain": "application/n-triples",
    "application/x-trig": "application/trig",
    "text/x-nquads": "application/n-quads",
    "application/xml": "application/rdf+xml",
    "text/xml": "application/rdf+xml",
}
EXTENSION_ALIASES = {"json": "jsonld", "turtle": "ttl", "xml": "rdf", "ntriples": "nt",
                     "nquads": "nq", "htm": "html"}
# Which format wins when a client accepts several equally (e.g. */*): a machine format
# first, because browsers always name text/html explicitly and curl sends */*.
PREFERENCE = ("text/turtle", "application/ld+json", "text/html", "application/n-triples",
              "application/trig", "application/n-quads", "application/rdf+xml")


def format_for_extension(name: str) -> Format | None:
    name = name.lower()
    return BY_EXTENSION.get(EXTENSION_ALIASES.get(name, name))


def parse_accept(header: str) -> list[tuple[str, float, int]]:
    """(media range, q, specificity) for each entry of an Accept header; bad entries skipped."""
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        _, _, sub = media.partition("/")
        specificity = 0 if media == "*/*" else 1 if sub == "*" else 2
        ranges.append((media, q, specificity))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float, int]]) -> float:
    """The q a client gives a media type: that of the most specific range matching it."""
    best: tuple[int, float] | None = None
    aliases = [m for m, target in ALIASES.items() if target == media_type]
    for media, q, specificity in ranges:
        kind = media.split("/", 1)[0]
        if media == media_type or media in aliases:
            match = (3 if media == media_type else 2, q)
        elif specificity == 1 and media_type.startswith(kind + "/"):
            match = (1, q)
        elif specificity == 0:
            match = (0, q)
        else:
            continue
        if best is None or match[0] > best[0] or (match[0] == best[0] and match[1] > best[1]):
            best = match
    return best[1] if best else 0.0


def negotiate(accept: str | None, available: tuple[Format, ...] = FORMATS,
              preference: tuple[str, ...] = PREFERENCE) -> Format | None:
    """The best format for an Accept header, or None when none is acceptable (406); ties go
    to the earliest media type in ``preference``."""
    if not accept or not accept.strip():
        accept = "*/*"
    ranges = parse_accept(accept)
    if not ranges:
        ranges = [("*/*", 1.0, 0)]
    scored = []
    for fmt in available:
        q = _quality(fmt.media_type, ranges)
        if q > 0:
            rank = preference.index(fmt.media_type) if fmt.media_type in preference else len(preference)
            scored.append((-q, rank, fmt))
    if not scored:
        return None
    scored.sort(key=lambda item: (item[0], item[1]))
    return scored[0][2]
