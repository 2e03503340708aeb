"""Validation: the project's SHACL shapes (pyshacl) plus the schema.org vocabulary check.

``validate_graph`` returns a :class:`ValidationReport`; it never prints or raises on a
non-conforming graph. Each finding names the node, the rule, the value and, through the
mapping's source locations, the file and line the node came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import pyoxigraph as ox
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from claimgraph.errors import ValidationFailed
from claimgraph.namespaces import CG, RDF, RDFS, SH, XSD, intern_iri
from claimgraph.rdfterms import to_oxigraph
from claimgraph.records import SourceLocation
from claimgraph.resources import DATASET_CHECKS, ONTOLOGY, SHAPES, project_file
from claimgraph.vocabulary import SchemaVocabulary

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
THE_DATA = URIRef("https://claimgraph.example/shapes#TheData")


@dataclass(frozen=True)
class Finding:
    severity: str  # "Violation", "Warning" or "Info"
    focus: str
    rule: str
    message: str
    path: str | None = None
    value: str | None = None
    location: SourceLocation | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        parts = [f"{where}{self.severity}: {self.message}", f"  node: <{self.focus}>",
                 f"  rule: {self.rule}"]
        if self.path:
            parts.append(f"  property: <{self.path}>")
        if self.value is not None:
            parts.append(f"  value: {self.value}")
        return "\n".join(parts)


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def to_graph(self, report_iri: URIRef) -> Graph:
        """The report as SHACL results, with stable IRIs so the file is byte-stable."""
        g = Graph()
        g.bind("sh", SH)
        g.bind("cg", CG)
        g.add((report_iri, RDF.type, SH.ValidationReport))
        g.add((report_iri, SH.conforms, Literal(self.conforms)))
        for number, f in enumerate(self.findings, start=1):
            node = URIRef(f"{report_iri}-result-{number}")
            g.add((report_iri, SH.result, node))
            g.add((node, RDF.type, SH.ValidationResult))
            g.add((node, SH.resultSeverity, SH[f.severity]))
            g.add((node, SH.focusNode, URIRef(f.focus)))
            g.add((node, SH.resultMessage, Literal(f.message)))
            g.add((node, SH.sourceShape, Literal(f.rule)))
            if f.path:
                g.add((node, SH.resultPath, URIRef(f.path)))
            if f.value is not None:
                g.add((node, SH.value, Literal(f.value)))
            if f.location:
                g.add((node, RDFS.seeAlso, Literal(str(f.location))))
        return g


@cache
def load_shapes() -> Graph:
    """The node shapes pyshacl runs (shapes/claimgraph.ttl), with their IRIs the interned
    objects the mapping uses (see :func:`intern_iri`)."""
    parsed = Graph().parse(project_file(SHAPES), format="turtle")
    shapes = Graph()
    shapes.namespace_manager = parsed.namespace_manager
    shapes.addN((*(intern_iri(t) if isinstance(t, URIRef) else t for t in triple), shapes) for triple in parsed)
    return shapes


@dataclass(frozen=True)
class DatasetCheck:
    name: str
    query: str  # the constraint's SELECT, with its declared prefixes
    message: str


@cache
def dataset_checks() -> tuple[DatasetCheck, ...]:
    """The SHACL-SPARQL constraints of shapes/dataset-checks.ttl, ready to run as queries."""
    shapes = Graph().parse(project_file(DATASET_CHECKS), format="turtle")
    checks = []
    for shape in shapes.subjects(SH.targetNode, THE_DATA):
        for constraint in sorted(shapes.objects(shape, SH.sparql)):
            prefixes = []
            for holder in shapes.objects(constraint, SH.prefixes):
                for declaration in shapes.objects(holder, SH.declare):
                    prefixes.append(f"PREFIX {shapes.value(declaration, SH.prefix)}: "
                                    f"<{shapes.value(declaration, SH.namespace)}>")
            select = str(shapes.value(constraint, SH.select))
            checks.append(DatasetCheck(str(constraint).rsplit("#", 1)[-1], "\n".join([*prefixes, select]),
                                       str(shapes.value(constraint, SH.message))))
    return tuple(checks)


def _fill(message: str, row: ox.QuerySolution, variables: list[str]) -> str:
    for name in variables:
        term = row[name]
        message = message.replace("{?" + name + "}", term.value if term is not None else "")
    return message


def run_dataset_checks(data: Graph, locations: Mapping[str, SourceLocation],
                       quads: Iterable[ox.Quad] | None = None) -> list[Finding]:
    """The whole-graph checks, as queries over an in-memory pyoxigraph copy of ``data`` (or
    over ``quads``, the same statements already converted, in whatever graphs they are)."""
    store = ox.Store()
    if quads is None:
        quads = (ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in data)
    # Queried as the union of their graphs: copying every quad into the default graph first
    # took longer than loading them.
    store.extend(quads)
    findings = []
    for check in dataset_checks():
        solutions = store.query(check.query, substitutions={ox.Variable("this"): ox.NamedNode(str(THE_DATA))},
                                use_default_graph_as_union=True)
        variables = [v.value for v in solutions.variables]
        for row in solutions:
            node = row["value"]
            path = row["path"] if "path" in variables else None
            findings.append(Finding("Violation", node.value, check.name, _fill(check.message, row, variables),
                                    path.value if path is not None else None, None,
                                    _locate(node.value, locations)))
    return findings


def _class_hierarchy(data: Graph) -> list[tuple[URIRef, URIRef, URIRef]]:
    """rdfs:subClassOf edges from each class used in ``data`` to its schema.org ancestors, so
    that sh:class follows subclasses without loading the whole vocabulary into the data."""
    vocab = SchemaVocabulary.load()
    extra = ontology_superclasses()
    edges = []
    for cls in {str(o) for o in data.objects(None, RDF.type)}:
        for ancestor in vocab._ancestors(cls, extra) - {cls}:
            edges.append((URIRef(cls), RDFS.subClassOf, URIRef(ancestor)))
    return edges


@cache
def ontology_graph() -> Graph:
    return Graph().parse(project_file(ONTOLOGY), format="turtle")


def ontology_superclasses() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s, o in ontology_graph().subject_objects(RDFS.subClassOf):
        out.setdefault(str(s), set()).add(str(o))
    return out


def _display(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        text = str(node)
        shown = repr(text if len(text) <= 120 else text[:117] + "...")
        return shown + (f"@{node.language}" if node.language else
                        f"^^<{node.datatype}>" if node.datatype and node.datatype != XSD.string else "")
    return f"<{node}>"


def _locate(node: str, locations: Mapping[str, SourceLocation]) -> SourceLocation | None:
    return locations.get(node) or locations.get(node.split("#", 1)[0])


def _rule_name(results: Graph, result: Node) -> str:
    constraint = results.value(result, SH.sourceConstraint)
    if isinstance(constraint, URIRef):
        return str(constraint).rsplit("#", 1)[-1]
    shape = results.value(result, SH.sourceShape)
    if isinstance(shape, URIRef):
        return str(shape).rsplit("#", 1)[-1]
    component = results.value(result, SH.sourceConstraintComponent)
    return str(component).rsplit("#", 1)[-1] if component else "shape"


def _shacl_findings(data: Graph, locations: Mapping[str, SourceLocation]) -> list[Finding]:
    _, results, text = pyshacl.validate(data, shacl_graph=load_shapes(), inference="none",
                                        allow_warnings=True)
    if not isinstance(results, Graph):  # pyshacl could not run the shapes at all
        raise ValidationFailed(f"the SHACL shapes could not be run: {text}", None,
                               project_file(SHAPES))
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage)
        value = results.value(result, SH.value)
        if isinstance(focus, BNode):
            continue  # a nested result; pyshacl also reports it on its named focus node
        if focus == THE_DATA and isinstance(value, URIRef):
            focus, value = value, None  # a whole-graph check: the value is the offending node
        findings.append(Finding(
            severity=SEVERITIES.get(results.value(result, SH.resultSeverity), "Violation"),
            focus=str(focus), rule=_rule_name(results, result),
            message=str(message) if message else "the node does not fit its shape",
            path=str(path) if isinstance(path, URIRef) else None,
            value=_display(value),
            location=_locate(str(focus), locations)))
    return findings


def validate_graph(content: Graph, everything: Iterable[Graph | Sequence[ox.Quad]] = (),
                   locations: Mapping[str, SourceLocation] | None = None,
                   in_place: bool = False, quads: Iterable[ox.Quad] | None = None,
                   linked: Sequence[ox.Quad] = ()) -> ValidationReport:
    """Validate ``content`` (article graphs + entities) with the shapes, and every graph in
    ``everything`` (plus ``content``) against schema.org v30.0. ``in_place``: the caller's
    ``content`` is a scratch graph, which may receive the class hierarchy instead of a copy.
    ``quads``: the content as pyoxigraph quads, when the caller has them (saves a conversion).
    ``linked``: what is known of the resources ``content`` links to, validated on their own
    (a batch's registry entities): the dataset checks read it, and neither the shapes nor the
    schema.org check judge it again (``content`` holds the types that sh:class needs)."""
    locations = locations or {}
    quads = None if quads is None else list(quads)
    hierarchy = _class_hierarchy(content)
    if in_place:
        data = content
    else:
        data = Graph()
        data.addN((s, p, o, data) for s, p, o in content)
    data.addN((s, p, o, data) for s, p, o in hierarchy)
    findings = _shacl_findings(data, locations)
    hierarchy_quads = None if quads is None else [
        *quads, *linked, *(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in hierarchy)]
    findings += run_dataset_checks(data, locations, hierarchy_quads)
    if in_place:  # the schema.org check judges the content, not the hierarchy added to it
        for triple in hierarchy:
            data.remove(triple)
    vocab = SchemaVocabulary.load()
    extra = ontology_superclasses()
    issues = vocab.check_graph(content, extra) if quads is None else vocab.check_triples(quads, extra)
    for graph in everything:  # an rdflib graph, or one already converted to quads
        issues += vocab.check_graph(graph, extra) if isinstance(graph, Graph) else vocab.check_triples(graph, extra)
    for issue in issues:
        findings.append(Finding(issue.severity, str(issue.subject), issue.rule, issue.message,
                                str(issue.predicate), _display(issue.value),
                                _locate(str(issue.subject), locations)))
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    unique = sorted(set(findings), key=lambda f: (order[f.severity], str(f.location or ""), f.focus,
                                                  f.rule, f.path or "", f.value or ""))
    return ValidationReport(unique)


