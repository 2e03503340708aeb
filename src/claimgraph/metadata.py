"""The dataset's own description: VoID and DCAT metadata, and PROV provenance.

Dates never come from the clock, so that two builds of the same sources are byte-identical:
the build time is ``SOURCE_DATE_EPOCH`` when set, otherwise the latest date the sources give.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF

from claimgraph import __version__
from claimgraph.errors import SourceError
from claimgraph.mapping import Triple
from claimgraph.namespaces import (
    CG,
    DCAT,
    DCTERMS,
    OA,
    OWL,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    VOID,
    XSD,
    Iris,
    fragment,
)
from claimgraph.records import Article, Corpus, CorpusFiles, SourceFile


@dataclass(frozen=True)
class Distribution:
    filename: str
    media_type: str
    title: str


DISTRIBUTIONS = (
    Distribution("dataset.trig", "application/trig", "All named graphs, TriG"),
    Distribution("dataset.nq", "application/n-quads", "All named graphs, N-Quads"),
    Distribution("dataset.ttl", "text/turtle", "All graphs merged, Turtle"),
    Distribution("dataset.nt", "application/n-triples", "All graphs merged, N-Triples"),
    Distribution("dataset.jsonld", "application/ld+json",
                 "All named graphs, JSON-LD compacted with the schema.org context"),
)


def build_time(corpus: Corpus | CorpusFiles, published: Iterable[str] = (),
               environ: Mapping[str, str] = os.environ) -> datetime:
    """``SOURCE_DATE_EPOCH`` if set, else the latest date found in the sources (UTC midnight):
    the dataset's creation or an article's publication (``published``, or the loaded articles')."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError):
            raise SourceError(f"SOURCE_DATE_EPOCH='{epoch}' is not a whole number of seconds") from None
    if isinstance(corpus, Corpus):
        published = [a.date_published for a in corpus.articles]
    dates = [corpus.dataset.created] + [day[:10] for day in published]
    return datetime.fromisoformat(max(dates)).replace(tzinfo=UTC)


def _timestamp(moment: datetime) -> Literal:
    # The canonical lexical form (Z for UTC), which stores such as Oxigraph keep unchanged;
    # rdflib would otherwise rewrite it to +00:00.
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Literal(text, datatype=XSD.dateTime, normalize=False)


def map_metadata(corpus: Corpus | CorpusFiles, iris: Iris, graph_sizes: Mapping[URIRef, int],
                 built_at: datetime) -> Iterator[Triple]:
    """VoID/DCAT/PROV description of the dataset, statement by statement;
    ``graph_sizes`` excludes this graph itself. Yielded rather than gathered in a graph: it
    describes every graph and source file (six statements an article), and at 100,000
    articles a graph of them held hundreds of MB more than the quads the build makes of them."""
    ds, cfg = iris.dataset, corpus.dataset
    build, software, publisher = (fragment(ds, n) for n in ("build", "software", "publisher"))
    yield (ds, RDF.type, VOID.Dataset)
    yield (ds, RDF.type, DCAT.Dataset)
    yield (ds, DCTERMS.title, Literal(cfg.title, lang="en"))
    yield (ds, DCTERMS.description, Literal(cfg.description, lang="en"))
    yield (ds, DCTERMS.license, URIRef(cfg.license))
    yield (ds, DCTERMS.created, Literal(cfg.created, datatype=XSD.date))
    yield (ds, DCTERMS.modified, _timestamp(built_at))
    yield (ds, DCTERMS.publisher, publisher)
    yield (publisher, RDF.type, FOAF.Agent)
    yield (publisher, FOAF.name, Literal(cfg.publisher))
    yield (ds, VOID.triples, Literal(sum(graph_sizes.values()), datatype=XSD.integer))
    yield (ds, VOID.uriSpace, Literal(cfg.base_iri))
    yield (ds, VOID.sparqlEndpoint, iris.sparql)
    for vocabulary in (SCHEMA, OA, CG):
        yield (ds, VOID.vocabulary, URIRef(str(vocabulary)))
    for dist in DISTRIBUTIONS:
        node = iris.download(dist.filename)
        yield (ds, VOID.dataDump, node)
        yield (ds, DCAT.distribution, node)
        yield (node, RDF.type, DCAT.Distribution)
        yield (node, DCTERMS.title, Literal(dist.title, lang="en"))
        yield (node, DCAT.downloadURL, node)
        yield (node, DCAT.mediaType,
               URIRef(f"http://www.iana.org/assignments/media-types/{dist.media_type}"))
        yield (node, DCTERMS.format, Literal(dist.media_type))
        yield (node, DCTERMS.license, URIRef(cfg.license))
    for graph_iri, size in sorted(graph_sizes.items()):
        yield (ds, VOID.subset, graph_iri)
        yield (graph_iri, RDF.type, VOID.Dataset)
        yield (graph_iri, VOID.triples, Literal(size, datatype=XSD.integer))
        yield (graph_iri, PROV.wasGeneratedBy, build)
    entity_sources = [s for s in corpus.sources if s.relative_path.startswith("entities")]
    for source in entity_sources:
        yield (iris.entities_graph, PROV.wasDerivedFrom, iris.source(source.relative_path))
    yield (build, RDF.type, PROV.Activity)
    yield (build, RDFS.label, Literal(f"claimgraph build of {cfg.title}", lang="en"))
    yield (build, PROV.endedAtTime, _timestamp(built_at))
    yield (build, PROV.wasAssociatedWith, software)
    yield (software, RDF.type, PROV.SoftwareAgent)
    yield (software, RDFS.label, Literal(f"claimgraph {__version__}"))
    yield (software, OWL.versionInfo, Literal(__version__))
    article_sources = {s.relative_path for a in corpus.articles for s in a.sources}
    for source in corpus.sources:
        node = iris.source(source.relative_path)
        yield (build, PROV.used, node)
        if source.relative_path not in article_sources:  # those are described in their article's graph
            yield from _source_triples(node, source)
    yield (ds, PROV.wasGeneratedBy, build)


def _source_triples(node: URIRef, source: SourceFile) -> list[Triple]:
    return [(node, RDF.type, PROV.Entity), (node, DCTERMS.title, Literal(source.relative_path)),
            (node, CG.sha256, Literal(source.sha256))]


def map_article_provenance(article: Article, iris: Iris) -> Graph:
    """Where an article's graph came from, kept in that graph: its source files and their
    SHA-256. Keeping it there (not in the metadata graph) means that editing one article
    changes one graph, so a re-publish sends one graph."""
    g = Graph()
    graph_iri = iris.article_graph(article.slug)
    g.add((graph_iri, RDF.type, PROV.Entity))
    g.add((graph_iri, FOAF.primaryTopic, iris.article(article.slug)))
    for source in article.sources:
        node = iris.source(source.relative_path)
        g.add((graph_iri, PROV.wasDerivedFrom, node))
        g.addN((*triple, g) for triple in _source_triples(node, source))
    return g
