"""The human-readable page of the claimgraph ontology, generated from its Turtle."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from claimgraph.namespaces import CG


@dataclass(frozen=True)
class TermDoc:
    iri: str
    name: str
    label: str
    comment: str
    extra: tuple[tuple[str, str], ...] = ()


@cache
def templates() -> Environment:
    return Environment(loader=PackageLoader("claimgraph", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def _short(iri: object) -> str:
    text = str(iri)
    for prefix, ns in (("cg:", str(CG)), ("schema:", "http://schema.org/"),
                       ("oa:", "http://www.w3.org/ns/oa#"), ("skos:", str(SKOS)),
                       ("rdf:", str(RDF)), ("xsd:", "http://www.w3.org/2001/XMLSchema#"),
                       ("prov:", "http://www.w3.org/ns/prov#")):
        if text.startswith(ns):
            return prefix + text[len(ns):]
    return text


def _doc(g: Graph, term: URIRef, fields: tuple[tuple[str, URIRef], ...]) -> TermDoc:
    label = g.value(term, RDFS.label) or g.value(term, SKOS.prefLabel) or _short(term)
    comment = g.value(term, RDFS.comment) or g.value(term, SKOS.definition) or ""
    extra = tuple((name, ", ".join(sorted(_short(v) for v in g.objects(term, pred))))
                  for name, pred in fields if (term, pred, None) in g)
    return TermDoc(str(term), _short(term), str(label), str(comment), extra)


def render_ontology_page(g: Graph) -> str:
    ontology = next(iter(g.subjects(RDF.type, OWL.Ontology)))
    in_ns = lambda t: isinstance(t, URIRef) and str(t).startswith(str(CG))  # noqa: E731
    classes = sorted({t for t in g.subjects(RDF.type, OWL.Class) if in_ns(t)})
    properties = sorted({t for t in g.subjects(RDF.type, RDF.Property) if in_ns(t)})
    schemes = sorted({t for t in g.subjects(RDF.type, SKOS.ConceptScheme) if in_ns(t)})
    return templates().get_template("ontology.html").render(
        title=str(g.value(ontology, RDFS.label)),
        description=str(g.value(ontology, URIRef("http://purl.org/dc/terms/description"))),
        version=str(g.value(ontology, OWL.versionInfo)),
        namespace=str(CG),
        classes=[_doc(g, c, (("subclass of", RDFS.subClassOf),)) for c in classes],
        properties=[_doc(g, p, (("domain", RDFS.domain), ("range", RDFS.range))) for p in properties],
        schemes=[(_doc(g, s, ()), [_doc(g, c, ()) for c in sorted(g.subjects(SKOS.inScheme, s))])
                 for s in schemes],
    )
