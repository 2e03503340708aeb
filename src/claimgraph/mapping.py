"""Mapping typed source records to RDF: one named graph per article, one for the registry.

An article graph holds what the article and its annotations say, never facts about the world:
the article, its attributed claims and quotations anchored in the text, its stance, the dated
events it refers to, and links to registry entities (which are described only in the
entities graph). Each minted node remembers the source line it came from, so a validation
report can point the editor at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from claimgraph.namespaces import CG, DCTERMS, OA, PROV, RDF, RDFS, SCHEMA, WD, XSD, Iris, fragment
from claimgraph.onegraph import one_graph
from claimgraph.records import (
    Article,
    ClaimRecord,
    Entity,
    EventReference,
    QuotationRecord,
    SourceLocation,
    StanceRecord,
    TextAnchor,
)

STATEMENT_KINDS = {"factual": CG.Factual, "evaluative": CG.Evaluative,
                   "predictive": CG.Predictive, "normative": CG.Normative}
STANCE_POSITIONS = {"supports": CG.Supports, "opposes": CG.Opposes, "neutral": CG.Neutral,
                    "mixed": CG.Mixed}
WIKIDATA_STATUSES = {"no-item": CG.NoItem, "unreconciled": CG.NotYetReconciled}
LINK_METHODS = {"by-hand": CG.ByHand, "accepted-suggestion": CG.AcceptedSuggestion}
REGISTRY_LANGUAGE = "en"


@dataclass
class MappedGraph:
    """A named graph and, for the nodes it mints, the source line each came from."""

    iri: URIRef
    graph: Graph
    locations: dict[URIRef, SourceLocation] = field(default_factory=dict)


def _date_literal(value: str) -> Literal:
    # normalize=False keeps the editor's lexical form (and its timezone) exactly.
    if "T" in value:
        return Literal(value, datatype=XSD.dateTime, normalize=False)
    datatype = {4: XSD.gYear, 7: XSD.gYearMonth}.get(len(value), XSD.date)
    return Literal(value, datatype=datatype, normalize=False)


def map_registry(entities: Iterable[Entity], iris: Iris) -> MappedGraph:
    """The shared entities graph: each entity typed, named and linked (or given a status)."""
    mapped = MappedGraph(iris.entities_graph, one_graph())  # the lighter store: a large registry
    g = mapped.graph
    for entity in sorted(entities, key=lambda e: e.key):
        node = iris.entity(entity.key)
        mapped.locations[node] = entity.location
        g.add((node, RDF.type, SCHEMA[entity.type]))
        g.add((node, SCHEMA.name, Literal(entity.name, lang=REGISTRY_LANGUAGE)))
        g.add((node, SCHEMA.identifier, Literal(entity.key)))
        for name in entity.alternate_names:
            g.add((node, SCHEMA.alternateName, Literal(name, lang=REGISTRY_LANGUAGE)))
        if entity.description:
            g.add((node, SCHEMA.description, Literal(entity.description, lang=REGISTRY_LANGUAGE)))
        if entity.url:
            g.add((node, SCHEMA.url, URIRef(entity.url)))
        if entity.wikidata_id:
            g.add((node, SCHEMA.sameAs, WD[entity.wikidata_id]))
            g.add((node, CG.wikidataStatus, CG.Linked))
        else:
            g.add((node, CG.wikidataStatus, WIKIDATA_STATUSES[entity.wikidata]))
        if entity.link:  # who decided the link (or that there is no item), when and how
            g.add((node, CG.linkMethod, LINK_METHODS[entity.link.method]))
            g.add((node, CG.linkedBy, Literal(entity.link.by)))
            g.add((node, CG.linkDate, Literal(entity.link.date, datatype=XSD.date, normalize=False)))
    return mapped


# --------------------------------------------------------------------------- Wikidata cache

WIKIDATA_NAMES = (RDFS.label,)  # what an item a fact points to (a capital, a class) keeps


def wikidata_graph_iri(iris: Iris) -> URIRef:
    return URIRef(f"{iris.base}graph/wikidata")


def _from_oxigraph(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        # normalize=False keeps Wikidata's lexical form ("…T00:00:00Z") exactly
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    raise TypeError(f"the Wikidata graph holds no blank nodes: {term!r}")


def map_wikidata(triples: Iterable[ox.Triple], entities: Iterable[Entity], iris: Iris) -> MappedGraph:
    """Wikidata's facts about the linked items, from the cache, on the items' own IRIs (wd:Q…)
    and in their own graph: world facts never enter an article graph or a registry entity.
    Linked items keep everything the cache has; the items their facts point to, their names."""
    mapped = MappedGraph(wikidata_graph_iri(iris), Graph())
    linked = {str(WD[e.wikidata_id]) for e in entities if e.wikidata_id}
    cached = [t for t in triples if isinstance(t.subject, ox.NamedNode) and not isinstance(t.object, ox.BlankNode)]
    pointed = {t.object.value for t in cached if t.subject.value in linked and isinstance(t.object, ox.NamedNode)}
    names = {str(p) for p in WIKIDATA_NAMES}
    for t in cached:
        subject = t.subject.value
        if subject in linked or (subject in pointed and t.predicate.value in names):
            mapped.graph.add((URIRef(subject), URIRef(t.predicate.value), _from_oxigraph(t.object)))
    return mapped


def map_wikidata_provenance(iris: Iris, source: URIRef, retrieved_from: str | None,
                            retrieved_at: str | None) -> Graph:
    """Metadata of the Wikidata graph: derived from the cache file, itself retrieved from an
    endpoint at a time; CC0, as Wikidata's data is."""
    g = Graph()
    graph = wikidata_graph_iri(iris)
    g.add((graph, DCTERMS.title, Literal("Wikidata facts about the linked entities", lang="en")))
    g.add((graph, DCTERMS.source, URIRef("https://www.wikidata.org/")))
    g.add((graph, DCTERMS.license, URIRef("http://creativecommons.org/publicdomain/zero/1.0/")))
    g.add((graph, PROV.wasDerivedFrom, source))
    if retrieved_from:
        g.add((source, PROV.wasDerivedFrom, URIRef(retrieved_from)))
    if retrieved_at:
        g.add((source, PROV.generatedAtTime, Literal(retrieved_at, datatype=XSD.dateTime, normalize=False)))
    return g


Triple = tuple[Node, Node, Node]


@dataclass
class ArticleStatements:
    """An article's named graph as its statements, each once, before any graph indexes them:
    a build's batch converts them to pyoxigraph quads and adds them to the batch it validates,
    and indexing each article on its own as well was a tenth of the batch's time."""

    iri: URIRef
    triples: list[Triple]
    locations: dict[URIRef, SourceLocation] = field(default_factory=dict)

    def graph(self) -> MappedGraph:
        graph = one_graph()
        graph.add_triples(self.triples)
        return MappedGraph(self.iri, graph, self.locations)


class _Statements(dict[Triple, None]):
    """An ordered set of triples with a graph's ``add``, for the mapper to write to."""

    def add(self, triple: Triple) -> None:
        self[triple] = None


class _ArticleMapper:
    def __init__(self, article: Article, iris: Iris) -> None:
        self.article = article
        self.iris = iris
        self.node = iris.article(article.slug)
        self.mapped = ArticleStatements(iris.article_graph(article.slug), [])
        self.g = _Statements()
        self.lang = article.language

    def text(self, value: str) -> Literal:
        return Literal(value, lang=self.lang)

    def entity(self, key: str) -> URIRef:
        return self.iris.entity(key)

    def speaker(self, key: str) -> URIRef:
        party_keys = {p.key for p in self.article.parties}
        return self.iris.party(self.article.slug, key) if key in party_keys else self.entity(key)

    def links(self, node: URIRef, about: Iterable[str], mentions: Iterable[str] = ()) -> None:
        for key in about:
            self.g.add((node, SCHEMA.about, self.entity(key)))
        for key in mentions:
            self.g.add((node, SCHEMA.mentions, self.entity(key)))

    def anchor(self, owner: URIRef, anchor: TextAnchor) -> None:
        g = self.g
        target, quote, position = (fragment(owner, n) for n in ("anchor", "quote", "position"))
        g.add((owner, CG.anchor, target))
        g.add((target, RDF.type, OA.SpecificResource))
        g.add((target, OA.hasSource, self.node))
        g.add((target, OA.hasSelector, quote))
        g.add((target, OA.hasSelector, position))
        g.add((quote, RDF.type, OA.TextQuoteSelector))
        g.add((quote, OA.exact, Literal(anchor.exact)))
        if anchor.prefix:
            g.add((quote, OA.prefix, Literal(anchor.prefix)))
        if anchor.suffix:
            g.add((quote, OA.suffix, Literal(anchor.suffix)))
        g.add((position, RDF.type, OA.TextPositionSelector))
        g.add((position, OA.start, Literal(anchor.start, datatype=XSD.integer)))
        g.add((position, OA.end, Literal(anchor.end, datatype=XSD.integer)))

    def map(self) -> ArticleStatements:
        a, g, node = self.article, self.g, self.node
        self.mapped.locations[node] = a.location
        g.add((node, RDF.type, SCHEMA.OpinionNewsArticle))
        g.add((node, SCHEMA.headline, self.text(a.headline)))
        g.add((node, SCHEMA.datePublished, _date_literal(a.date_published)))
        g.add((node, SCHEMA.author, self.entity(a.author)))
        g.add((node, SCHEMA.publisher, self.entity(a.publisher)))
        g.add((node, SCHEMA.copyrightHolder, self.entity(a.copyright_holder)))
        g.add((node, SCHEMA.url, URIRef(a.url)))
        g.add((node, SCHEMA.inLanguage, Literal(a.language)))
        g.add((node, SCHEMA.identifier, Literal(a.slug)))
        g.add((node, SCHEMA.wordCount, Literal(len(a.body.split()), datatype=XSD.integer)))
        if a.section:
            g.add((node, SCHEMA.articleSection, self.text(a.section)))
        if a.publish_body:
            g.add((node, SCHEMA.articleBody, self.text(a.body)))
        if a.editor_note:
            note = fragment(node, "editor-note")
            g.add((node, SCHEMA.comment, note))
            g.add((note, RDF.type, SCHEMA.Comment))
            g.add((note, SCHEMA.text, self.text(a.editor_note)))
            g.add((note, SCHEMA.author, self.entity(a.publisher)))
        for party in a.parties:
            p = self.iris.party(a.slug, party.key)
            self.mapped.locations[p] = party.location
            g.add((p, RDF.type, CG.UnnamedParty))
            g.add((p, RDF.type, SCHEMA.Person if party.kind == "person" else SCHEMA.Organization))
            g.add((p, SCHEMA.description, self.text(party.description)))
        for event in a.events:
            self.map_event(event)
        for claim in a.claims:
            self.map_claim(claim)
        for quotation in a.quotations:
            self.map_quotation(quotation)
        for stance in a.stances:
            self.map_stance(stance)
        for key in sorted(self.mentioned_entities()):
            g.add((node, SCHEMA.mentions, self.entity(key)))
        self.mapped.triples = list(g)
        return self.mapped

    def mentioned_entities(self) -> set[str]:
        return mentioned_entities(self.article)

    def map_event(self, event: EventReference) -> None:
        node = self.iris.event(self.article.slug, event.key)
        self.mapped.locations[node] = event.location
        self.g.add((node, RDF.type, SCHEMA.Event))
        self.g.add((node, SCHEMA.name, self.text(event.name)))
        self.g.add((node, SCHEMA.startDate, _date_literal(event.date)))
        self.g.add((self.node, SCHEMA.mentions, node))
        if event.same_as:
            self.g.add((node, SCHEMA.sameAs, self.entity(event.same_as)))
        self.links(node, event.about)
        if event.anchor:
            self.anchor(node, event.anchor)

    def map_claim(self, claim: ClaimRecord) -> None:
        a, g = self.article, self.g
        node = self.iris.claim(a.slug, claim.key)
        self.mapped.locations[node] = claim.location
        g.add((node, RDF.type, SCHEMA.Claim))
        g.add((node, SCHEMA.text, self.text(claim.anchor.exact)))
        g.add((node, SCHEMA.appearance, self.node))
        g.add((node, CG.statementKind, STATEMENT_KINDS[claim.kind]))
        if claim.speaker is None:
            g.add((node, SCHEMA.author, self.entity(a.author)))
        else:
            g.add((node, SCHEMA.author, self.speaker(claim.speaker)))
            g.add((node, SCHEMA.claimInterpreter, self.entity(a.author)))
        if claim.event:
            g.add((node, SCHEMA.recordedAt, self.iris.event(a.slug, claim.event)))
        if claim.summary:
            g.add((node, SCHEMA.description, self.text(claim.summary)))
        self.links(node, claim.about, claim.mentions)
        self.anchor(node, claim.anchor)

    def map_quotation(self, quotation: QuotationRecord) -> None:
        a, g = self.article, self.g
        node = self.iris.quotation(a.slug, quotation.key)
        self.mapped.locations[node] = quotation.location
        g.add((node, RDF.type, SCHEMA.Quotation))
        g.add((node, SCHEMA.text, self.text(quotation.anchor.exact)))
        g.add((node, SCHEMA.creator, self.speaker(quotation.speaker)))
        g.add((node, SCHEMA.isPartOf, self.node))
        if quotation.event:
            g.add((node, SCHEMA.recordedAt, self.iris.event(a.slug, quotation.event)))
        self.links(node, quotation.about, quotation.mentions)
        self.anchor(node, quotation.anchor)

    def map_stance(self, stance: StanceRecord) -> None:
        node = self.iris.stance(self.article.slug, stance.key)
        self.mapped.locations[node] = stance.location
        self.g.add((self.node, CG.stance, node))
        self.g.add((node, RDF.type, CG.Stance))
        self.g.add((node, CG.position, STANCE_POSITIONS[stance.position]))
        self.g.add((node, CG.proposition, self.text(stance.proposition)))
        for key in stance.about:
            self.g.add((node, CG.topic, self.entity(key)))
        if stance.anchor:
            self.anchor(node, stance.anchor)


def mentioned_entities(article: Article) -> set[str]:
    """The registry keys an article's annotations refer to (not its author or publisher)."""
    party_keys = {p.key for p in article.parties}
    keys: set[str] = set()
    for item in (*article.claims, *article.quotations):
        keys.update(item.about, item.mentions)
        if item.speaker and item.speaker not in party_keys:
            keys.add(item.speaker)
    for event in article.events:
        keys.update(event.about)
        if event.same_as:
            keys.add(event.same_as)
    for stance in article.stances:
        keys.update(stance.about)
    return keys


def map_article_statements(article: Article, iris: Iris) -> ArticleStatements:
    """The statements of one article's named graph."""
    return _ArticleMapper(article, iris).map()


def map_article(article: Article, iris: Iris) -> MappedGraph:
    """The named graph of one article."""
    return map_article_statements(article, iris).graph()
