"""Every vocabulary term the code and the shapes name exists in its vocabulary.

claimgraph's namespaces (``claimgraph.namespaces``) hand out a term for any attribute, as
rdflib's open namespaces do: ``RDF.tpye`` or ``SCHEMA.headlien`` would silently become an IRI
that nothing else uses, and a shape on a misspelled property never fires. Closing them at run
time would load schema.org's vocabulary in every command; this test reads the code instead and
checks each ``NS.name`` it writes (``NS["name"]`` stays the way to name a term on purpose
outside a vocabulary, as the tests of unknown terms do), and each IRI the shapes use.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import namespace as rdflib_namespaces

from claimgraph import namespaces
from claimgraph.resources import DATASET_CHECKS, ONTOLOGY, SHAPES, project_file
from claimgraph.vocabulary import SchemaVocabulary

SOURCE = Path(namespaces.__file__).parent
# rdflib's definitions of the W3C vocabularies: their terms are what rdflib's closed
# namespaces accept
W3C = {"RDF": rdflib_namespaces.RDF, "RDFS": rdflib_namespaces.RDFS, "XSD": rdflib_namespaces.XSD,
       "OWL": rdflib_namespaces.OWL, "SKOS": rdflib_namespaces.SKOS, "SH": rdflib_namespaces.SH,
       "PROV": rdflib_namespaces.PROV, "DCTERMS": rdflib_namespaces.DCTERMS, "DCAT": rdflib_namespaces.DCAT,
       "VOID": rdflib_namespaces.VOID}


def _ontology_terms() -> set[str]:
    return {q.subject.value for q in ox.parse(path=str(project_file(ONTOLOGY)), format=ox.RdfFormat.TURTLE)
            if isinstance(q.subject, ox.NamedNode)}


def _known_terms() -> dict[str, set[str]]:
    """Namespace name in the code → the local names its vocabulary defines."""
    known = {name: set(getattr(ns, "__annotations__", {})) | set(getattr(ns, "_extras", []))
             for name, ns in W3C.items()}
    schema = str(namespaces.SCHEMA)
    known["SCHEMA"] = {t[len(schema):] for t in SchemaVocabulary.load().terms if t.startswith(schema)}
    cg = str(namespaces.CG)
    known["CG"] = {t[len(cg):] for t in _ontology_terms() if t.startswith(cg)}
    # the Web Annotation Vocabulary (W3C Recommendation, 23 February 2017), which rdflib does
    # not define: its classes and properties
    known["OA"] = {"Annotation", "SpecificResource", "TextualBody", "Choice", "ResourceSelection",
                   "Selector", "TextQuoteSelector", "TextPositionSelector", "DataPositionSelector",
                   "FragmentSelector", "CssSelector", "XPathSelector", "RangeSelector", "SvgSelector",
                   "State", "TimeState", "HttpRequestState", "CssStyle", "Motivation", "Direction",
                   "hasSource", "hasSelector", "hasTarget", "hasBody", "bodyValue", "exact", "prefix", "suffix",
                   "start", "end", "refinedBy", "hasStartSelector", "hasEndSelector", "motivatedBy",
                   "hasPurpose", "hasScope", "hasState", "styledBy", "styleClass", "textDirection",
                   "renderedVia", "canonical", "via", "processingLanguage", "cachedSource", "sourceDate",
                   "sourceDateStart", "sourceDateEnd"}
    return known


def _attribute_uses(path: Path) -> Iterator[tuple[str, str, int]]:
    """(namespace, name, line) of each ``NS.name`` in a module, NS one of claimgraph's."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                isinstance(getattr(namespaces, node.value.id, None), namespaces.TermNamespace):
            yield node.value.id, node.attr, node.lineno


def test_the_code_names_only_terms_of_its_vocabularies() -> None:
    known = _known_terms()
    used = [(path, ns, name, line) for path in sorted(SOURCE.rglob("*.py")) for ns, name, line in _attribute_uses(path)]
    assert len(used) > 200, "the walk found the code's terms"
    unknown = [f"{path.relative_to(SOURCE)}:{line}: {ns}.{name}" for path, ns, name, line in used
               if ns in known and name not in known[ns]]
    assert not unknown, "terms no vocabulary defines:\n" + "\n".join(unknown)
    assert {ns for _, ns, _, _ in used} <= set(known), "a namespace this test does not know"


def test_a_misspelled_term_is_found(tmp_path: Path) -> None:
    """The walk sees what a typo looks like, and leaves NS["name"] alone."""
    module = tmp_path / "typo.py"
    module.write_text("from claimgraph.namespaces import RDF, SCHEMA\n"
                      "TYPE = RDF.tpye\nOK = SCHEMA.headline\nON_PURPOSE = SCHEMA['spokesperson']\n",
                      encoding="utf-8")
    known = _known_terms()
    found = [(ns, name, line) for ns, name, line in _attribute_uses(module) if name not in known[ns]]
    assert found == [("RDF", "tpye", 2)]


@pytest.mark.parametrize("shapes", [SHAPES, DATASET_CHECKS])
def test_the_shapes_name_only_terms_of_schema_org_and_the_ontology(shapes: str) -> None:
    schema, cg = str(namespaces.SCHEMA), str(namespaces.CG)
    vocabulary = SchemaVocabulary.load().terms
    ontology = _ontology_terms()
    iris = {term.value for q in ox.parse(path=str(project_file(shapes)), format=ox.RdfFormat.TURTLE)
            for term in (q.subject, q.predicate, q.object) if isinstance(term, ox.NamedNode)}
    text = project_file(shapes).read_text(encoding="utf-8")  # and the terms inside the SPARQL
    iris |= {schema + local for local in _prefixed(text, "schema")} | {cg + local for local in _prefixed(text, "cg")}
    assert any(i.startswith(schema) for i in iris) and any(i.startswith(cg) for i in iris)
    unknown = sorted(i for i in iris if (i.startswith(schema) and i not in vocabulary and i != schema)
                     or (i.startswith(cg) and i not in ontology))
    assert not unknown, f"{shapes} names terms no vocabulary defines: {unknown}"


def _prefixed(text: str, prefix: str) -> set[str]:
    return set(re.findall(rf"(?<![\w/#]){prefix}:([A-Za-z]\w*)", text))
