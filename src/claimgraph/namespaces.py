"""RDF namespaces, and the IRIs claimgraph mints under a dataset's base IRI.

IRIs are readable and stable across rebuilds: they are made only from the base IRI, the
article slug and the annotation keys an editor chose, never from counters or hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, VOID, XSD, Namespace

SCHEMA = Namespace("http://schema.org/")
CG = Namespace("https://claimgraph.example/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
WD = Namespace("http://www.wikidata.org/entity/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

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
           "SD", "SH", "SKOS", "VOID", "WD", "XSD", "Iris"]


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
