"""Reading a description's quads the way a page needs them: values, labels, links."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph.namespaces import PREFIXES

S = "http://schema.org/"
LABEL_PREDICATES = (S + "name", S + "headline", "http://www.w3.org/2000/01/rdf-schema#label",
                    "http://www.w3.org/2004/02/skos/core#prefLabel")


class QuadView:
    """An index of quads by subject and predicate, and by object for backlinks."""

    def __init__(self, quads: Iterable[ox.Quad]) -> None:
        self.quads = list(quads)
        self.out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.into: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for q in self.quads:
            bucket = self.out[q.subject.value][q.predicate.value]
            if q.object not in bucket:
                bucket.append(q.object)
            link = (q.subject.value, q.predicate.value)
            if isinstance(q.object, ox.NamedNode) and link not in self.into[q.object.value]:
                self.into[q.object.value].append(link)

    def objects(self, subject: str, predicate: str) -> list:
        return self.out.get(subject, {}).get(predicate, [])

    def value(self, subject: str, predicate: str) -> str | None:
        found = self.objects(subject, predicate)
        return found[0].value if found else None

    def iris(self, subject: str, predicate: str) -> list[str]:
        return [o.value for o in self.objects(subject, predicate) if isinstance(o, ox.NamedNode)]

    def types(self, subject: str) -> list[str]:
        return self.iris(subject, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

    def has_type(self, subject: str, type_iri: str) -> bool:
        return type_iri in self.types(subject)

    def subjects(self, predicate: str, obj: str) -> list[str]:
        return [s for s, p in self.into.get(obj, []) if p == predicate]

    def subjects_of_type(self, type_iri: str) -> list[str]:
        return self.subjects("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", type_iri)

    def label(self, iri: str, language: str = "en") -> str:
        for predicate in LABEL_PREDICATES:
            found = self.objects(iri, predicate)
            if found:
                preferred = [o for o in found if isinstance(o, ox.Literal) and o.language == language]
                return (preferred or found)[0].value
        description = self.value(iri, S + "description")
        return description or compact_iri(iri)


def compact_iri(iri: str) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


@dataclass(frozen=True)
class Linker:
    """Turns the dataset's IRIs into links: absolute URLs on the serving host, or (for the
    static site) paths relative to the current page with a file extension, so the site works
    from any plain file server."""

    base_iri: str
    public_base: str
    static_from: str | None = None  # the current page's path under the site root (static mode)

    def public(self, iri: str) -> str:
        if iri.startswith(self.base_iri):
            return self.public_base + iri[len(self.base_iri):]
        return iri

    def href(self, iri: str, extension: str = "html") -> str:
        """A link to ``iri`` (its HTML page by default)."""
        if not iri.startswith(self.base_iri):
            return iri
        path, hash_, fragment = iri[len(self.base_iri):].partition("#")
        if self.static_from is None:
            url = self.public_base + path
            if extension != "html":
                url += f".{extension}"
            return url + (hash_ + fragment)
        return self.path(site_file(path, extension)) + (hash_ + fragment)

    def path(self, site_path: str) -> str:
        """A link to a file of the site (``download/dataset.ttl``, ``search.html``)."""
        if self.static_from is None:
            return self.public_base + site_path
        start = posixpath.dirname(self.static_from) or "."
        return posixpath.relpath(site_path, start)


def site_file(path: str, extension: str) -> str:
    """Where the static site keeps the document of a resource path in a format."""
    path = path.rstrip("/")
    return f"{path or 'index'}.{extension}"
