"""RDF namespaces, and the IRIs claimgraph mints under a dataset's base IRI.

IRIs are readable and stable across rebuilds: they are made only from the base IRI, the
article slug and the annotation keys an editor chose, never from counters or hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef, namespace
from rdflib.namespace import Namespace

_INTERNED: dict[str, URIRef] = {}


def intern_iri(iri: str) -> URIRef:
    """The one ``URIRef`` object for a vocabulary IRI (a class, a property, a constant).

    rdflib compares two distinct but equal terms in Python, after their hashes match; the
    same object is recognised at once. The mapping, the shapes and so pyshacl's look-ups
    share these objects, which saves a sixth of pyshacl's time on a batch. Only vocabulary IRIs
    belong here: the table lives as long as the process."""
    text = str(iri)  # keyed by plain text: rdflib holds a URIRef unequal to its own text
    term = _INTERNED.get(text)
    if term is None:
        term = _INTERNED[text] = URIRef(text)
    return term


_STR_METHODS = [name for name in dir(str) if not name.startswith("_") and name != "title"]  # rdflib: title


class TermNamespace(Namespace):
    """rdflib's ``Namespace``, handing out one interned ``URIRef`` per name, remembered on
    the namespace itself: a repeated ``SCHEMA.text`` is then a plain attribute read.

    As with rdflib's closed namespaces, every public attribute is a term, including names
    that are also methods of ``str`` (``DCTERMS.format``): use ``str(ns)`` for the text."""

    def __init__(self, value: str) -> None:
        for name in _STR_METHODS:
            self.__dict__[name] = intern_iri(self + name)

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        term = intern_iri(str(self) + name)
        self.__dict__[name] = term
        return term


SCHEMA = TermNamespace("http://schema.org/")
CG = TermNamespace("https://claimgraph.example/ontology#")
OA = TermNamespace("http://www.w3.org/ns/oa#")
WD = TermNamespace("http://www.wikidata.org/entity/")
SD = TermNamespace("http://www.w3.org/ns/sparql-service-description#")
# rdflib's closed namespaces make a new URIRef on every attribute read, after checking the name
RDF, RDFS, XSD, OWL, SKOS, SH, PROV, DCTERMS, DCAT, VOID = (
    TermNamespace(str(ns)) for ns in (namespace.RDF, namespace.RDFS, namespace.XSD, namespace.OWL,
                                      namespace.SKOS, namespace.SH, namespace.PROV, namespace.DCTERMS,
                                      namespace.DCAT, namespace.VOID))

PREFIXES: dict[str, str] = {
    "schema": str(SCHEMA),
    "cg": str(CG),
    "oa": str(OA),
    "wd": str(WD),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "owl": str(OWL),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "dcat": str(DCAT),
    "void": str(VOID),
    "prov": str(PROV),
    "sh": str(SH),
}

__all__ = ["CG", "DCAT", "DCTERMS", "OA", "OWL", "PREFIXES", "PROV", "RDF", "RDFS", "SCHEMA",
           "SD", "SH", "SKOS", "VOID", "WD", "XSD", "Iris", "TermNamespace", "intern_iri"]


@dataclass(frozen=True)
class Iris:
    """Mints every IRI of a dataset from its base IRI (which ends with '/')."""

    base: str

    def _iri(self, path: str) -> URIRef:
        return URIRef(self.base + path)

    def article(self, slug: str) -> URIRef:
        return self._iri(f"article/{slug}")

    def article_graph(self, slug: str) -> URIRef:
        return self._iri(f"graph/article/{slug}")

    def claim(self, slug: str, key: str) -> URIRef:
        return self._iri(f"claim/{slug}/{key}")

    def quotation(self, slug: str, key: str) -> URIRef:
        return self._iri(f"quotation/{slug}/{key}")

    def event(self, slug: str, key: str) -> URIRef:
        return self._iri(f"event/{slug}/{key}")

    def stance(self, slug: str, key: str) -> URIRef:
        return self._iri(f"stance/{slug}/{key}")

    def party(self, slug: str, key: str) -> URIRef:
        return self._iri(f"party/{slug}/{key}")

    def entity(self, key: str) -> URIRef:
        return self._iri(f"entity/{key}")

    def source(self, relative_path: str) -> URIRef:
        return self._iri(f"source/{relative_path}")

    def download(self, filename: str) -> URIRef:
        return self._iri(f"download/{filename}")

    @property
    def dataset(self) -> URIRef:
        return self._iri("dataset")

    @property
    def sparql(self) -> URIRef:
        return self._iri("sparql")

    @property
    def entities_graph(self) -> URIRef:
        return self._iri("graph/entities")

    @property
    def ontology_graph(self) -> URIRef:
        return self._iri("graph/ontology")

    @property
    def metadata_graph(self) -> URIRef:
        return self._iri("graph/metadata")


def fragment(iri: URIRef, name: str) -> URIRef:
    """A hash IRI under ``iri``: the parts of a resource (anchors, selectors) dereference with it."""
    return URIRef(f"{iri}#{name}")
