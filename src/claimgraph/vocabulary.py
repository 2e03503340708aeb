"""The vendored schema.org release (v30.0, http namespace), and checks of a graph against it.

Every schema.org class and property a graph uses must exist in the release; each property's
subject and value should fit its ``schema:domainIncludes`` and ``schema:rangeIncludes``. Unknown
terms are violations; domain and range misfits are warnings, as schema.org itself is lenient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from claimgraph.namespaces import RDF, RDFS, SCHEMA, XSD
from claimgraph.rdfterms import to_oxigraph, to_rdflib
from claimgraph.resources import SCHEMAORG_VOCAB, project_file

_S = str(SCHEMA)
_HTTPS_S = "https://schema.org/"
_RDF_TYPE = str(RDF.type)
_OX_TYPE = ox.NamedNode(_RDF_TYPE)
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal

# Which schema.org data types accept a literal of each XSD datatype.
_LITERAL_FITS: dict[str, set[str]] = {
    str(XSD.string): {"Text", "URL"},
    str(RDF.langString): {"Text"},
    str(XSD.date): {"Date"},
    str(XSD.gYear): {"Date"},
    str(XSD.gYearMonth): {"Date"},
    str(XSD.dateTime): {"DateTime"},
    str(XSD.time): {"Time"},
    str(XSD.integer): {"Integer", "Number"},
    str(XSD.nonNegativeInteger): {"Integer", "Number"},
    str(XSD.decimal): {"Number"},
    str(XSD.double): {"Number"},
    str(XSD.boolean): {"Boolean"},
    str(XSD.anyURI): {"URL", "Text"},
}


@dataclass(frozen=True)
class TermIssue:
    """One problem with a schema.org term in a triple."""

    severity: str  # "Violation" or "Warning"
    subject: Node
    predicate: URIRef
    value: Node | None
    rule: str
    message: str


class SchemaVocabulary:
    """Classes, properties and their domains and ranges, read from the release's Turtle."""

    def __init__(self, triples: Iterable[tuple[str, str, str]]) -> None:
        self.terms: set[str] = set()
        self.classes: set[str] = set()
        self.properties: set[str] = set()
        self.superclasses: dict[str, set[str]] = {}
        self.domains: dict[str, set[str]] = {}
        self.ranges: dict[str, set[str]] = {}
        self.labels: dict[str, str] = {}
        parents: dict[str, set[str]] = {}
        for s, p, o in triples:
            if not s.startswith(_S):
                continue
            self.terms.add(s)
            if p == _RDF_TYPE and o == str(RDFS.Class):
                self.classes.add(s)
            elif p == _RDF_TYPE and o == str(RDF.Property):
                self.properties.add(s)
            elif p == str(RDFS.subClassOf):
                parents.setdefault(s, set()).add(o)
            elif p == _S + "domainIncludes":
                self.domains.setdefault(s, set()).add(o)
            elif p == _S + "rangeIncludes":
                self.ranges.setdefault(s, set()).add(o)
            elif p == str(RDFS.label):
                self.labels[s] = o
        for cls in self.classes | set(parents):
            self.superclasses[cls] = _closure(cls, parents)

    @classmethod
    def load(cls) -> SchemaVocabulary:
        return _load_release()

    def is_class(self, local_name: str) -> bool:
        return _S + local_name in self.classes

    def is_a(self, cls: str, ancestor: str) -> bool:
        """Whether class ``cls`` is ``ancestor`` or one of its subclasses (full IRIs)."""
        return ancestor in self.superclasses.get(cls, {cls})

    def check_graph(self, graph: Graph, extra_superclasses: dict[str, set[str]] | None = None
                    ) -> list[TermIssue]:
        """Check every schema.org term used in ``graph`` (usually a dataset's union graph)."""
        return self.check_triples(((to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in graph),
                                  extra_superclasses)

    def check_triples(self, triples: Iterable[tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, OxTerm]]
                      | Iterable[ox.Quad], extra_superclasses: dict[str, set[str]] | None = None
                      ) -> list[TermIssue]:
        """:meth:`check_graph` over pyoxigraph terms (a batch's quads, already converted):
        their hashing and text are native, which makes this several times faster."""
        extra = extra_superclasses or {}
        rows = [(t[0], t[1], t[2]) for t in triples]  # a Quad or a tuple
        types: dict[OxTerm, frozenset[str]] = {}
        for s, p, o in rows:
            if p == _OX_TYPE:
                types[s] = types.get(s, frozenset()) | {o.value}
        # A verdict depends only on the terms and the types involved, which repeat across a
        # corpus: judge each combination once. Nearly every term is fine, and skipped at once.
        # (Keyed by the terms themselves, never by their text: reading a pyoxigraph term's
        # text makes a new string each time.)
        subject_verdicts: dict[OxTerm, list[tuple[str, str, str]]] = {}
        term_verdicts: dict[OxTerm, list[tuple[str, str, str]]] = {}
        is_property: dict[ox.NamedNode, bool] = {}
        pair_verdicts: dict[tuple[ox.NamedNode, object, object], list[tuple[str, str, bool]]] = {}
        found: list[tuple[OxTerm, ox.NamedNode, OxTerm | None, str, str, str]] = []
        named = ox.NamedNode
        for s, p, o in rows:
            if type(s) is named:
                verdict = subject_verdicts.get(s)
                if verdict is None:
                    verdict = subject_verdicts[s] = self._judge_term(s.value, False)
                for severity, rule, message in verdict:
                    found.append((s, p, s, severity, rule, message))
            for term in (p, o) if type(o) is named else (p,):
                verdict = term_verdicts.get(term)
                if verdict is None:
                    verdict = term_verdicts[term] = self._judge_term(term.value, True)
                for severity, rule, message in verdict:
                    found.append((s, p, term, severity, rule, message))
            known = is_property.get(p)
            if known is None:
                known = is_property[p] = p.value in self.properties
            if not known:
                continue
            value_kind: object = o.datatype if isinstance(o, ox.Literal) else types.get(o)
            key = (p, types.get(s), value_kind)
            misfits = pair_verdicts.get(key)
            if misfits is None:
                misfits = pair_verdicts[key] = self._check_domain_range(
                    p.value, types.get(s, frozenset()), o, types.get(o, frozenset()), extra)
            found.extend((s, p, o if on_value else None, "Warning", rule, message)
                         for rule, message, on_value in misfits)
        issues = [TermIssue(severity, to_rdflib(s), URIRef(p.value), None if v is None else to_rdflib(v),
                            rule, message) for s, p, v, severity, rule, message in found]
        return sorted(issues, key=lambda i: (str(i.subject), str(i.predicate), str(i.value), i.rule))

    def _judge_term(self, term: str, used_as_term: bool) -> list[tuple[str, str, str]]:
        """What is wrong with one IRI of the graph: https://schema.org/, or (as a predicate or
        object) a schema.org name that is not in the release."""
        verdict = []
        if term.startswith(_HTTPS_S):
            verdict.append(("Violation", "schemaorg-http-namespace",
                            f"<{term}> uses https://schema.org/; the graph's namespace is http://schema.org/ "
                            "(as the JSON-LD context and Wikidata use it)"))
        if used_as_term and term.startswith(_S) and term not in self.terms and term != _S:
            verdict.append(("Violation", "schemaorg-term-exists",
                            f"<{term}> is not a term of schema.org v30.0 (check the spelling, or "
                            "use a term of the release or of the claimgraph ontology)"))
        return verdict

    def _ancestors(self, cls: str, extra: dict[str, set[str]]) -> set[str]:
        found = set(self.superclasses.get(cls, {cls}))
        for parent in extra.get(cls, ()):
            found |= self.superclasses.get(parent, {parent})
        return found

    def _fits(self, node_types: Iterable[str], wanted: set[str], extra: dict[str, set[str]]) -> bool:
        return any(self._ancestors(t, extra) & wanted for t in node_types)

    def _check_domain_range(self, prop: str, subject_types: frozenset[str], o: OxTerm,
                            value_types: frozenset[str], extra: dict[str, set[str]]
                            ) -> list[tuple[str, str, bool]]:
        """(rule, message, whether the finding names the value) for one property use."""
        issues = []
        name = prop.removeprefix(_S)
        domain = self.domains.get(prop, set())
        if domain and subject_types and not self._fits(subject_types, domain, extra):
            issues.append(("schemaorg-domain",
                           f"schema:{name} is expected on {_names(domain)}, not on {_names(subject_types)}", False))
        rng = self.ranges.get(prop, set())
        if not rng:
            return issues
        range_names = {r.removeprefix(_S) for r in rng}
        if isinstance(o, ox.Literal):
            datatype = o.datatype.value
            if not (_LITERAL_FITS.get(datatype, set()) & range_names):
                issues.append(("schemaorg-range",
                               f"schema:{name} expects {_names(rng)}; the value is a literal of <{datatype}>", True))
        elif "URL" not in range_names and (not value_types or not self._fits(value_types, rng, extra)):
            issues.append(("schemaorg-range",
                           f"schema:{name} expects {_names(rng)}; the value is "
                           f"{_names(value_types) if value_types else 'an untyped resource'}", True))
        return issues


def _names(iris: Iterable[str]) -> str:
    return ", ".join(sorted(i.replace(_S, "schema:") for i in iris))


def _closure(cls: str, parents: dict[str, set[str]]) -> set[str]:
    seen = {cls}
    todo = [cls]
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


@cache
def _load_release() -> SchemaVocabulary:
    path = project_file(SCHEMAORG_VOCAB)
    triples = ((q.subject.value, q.predicate.value, q.object.value)
               for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
               if isinstance(q.subject, ox.NamedNode))
    return SchemaVocabulary(triples)
