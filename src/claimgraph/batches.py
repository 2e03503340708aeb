"""Mapping and validating articles in batches, possibly in worker processes.

A batch of articles is mapped to their named graphs, validated together (pyshacl's node
shapes, the dataset checks as queries, the schema.org check) with the registry entities they
link to, and each article graph is written as sorted N-Quads to a file of its own. Batches
are independent, so they run in parallel over the machine's cores, and memory is bounded by
the batch size, not the corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from claimgraph.mapping import map_article, map_registry, mentioned_entities
from claimgraph.metadata import map_article_provenance
from claimgraph.namespaces import Iris
from claimgraph.rdfterms import graph_quads, sort_quads
from claimgraph.records import Article, Entity, SourceLocation
from claimgraph.validation import Finding, validate_graph

BATCH_SIZE = 100


@dataclass(frozen=True)
class ArticleGraph:
    """One article's named graph, on disk."""

    slug: str
    graph_iri: str
    path: Path
    size: int


@dataclass
class BatchResult:
    graphs: list[ArticleGraph] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    locations: dict[str, SourceLocation] = field(default_factory=dict)


def referenced_entities(articles: Iterable[Article]) -> set[str]:
    """The registry keys a batch of articles links to, author, publisher and holder included."""
    keys: set[str] = set()
    for article in articles:
        keys.update(mentioned_entities(article))
        keys.update((article.author, article.publisher, article.copyright_holder))
    return keys


def write_graph(quads: list[ox.Quad], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ox.serialize(sort_quads(quads), str(path), format=ox.RdfFormat.N_QUADS)


def process_batch(articles: list[Article], entities: dict[str, Entity], base: str, out_dir: Path,
                  keep_locations: bool = True) -> BatchResult:
    """Map, validate and write one batch of articles; returns what a build needs to know."""
    iris = Iris(base)
    result = BatchResult()
    data = Graph()
    keys = referenced_entities(articles) & set(entities)
    registry = map_registry((entities[k] for k in sorted(keys)), iris)
    for triple in registry.graph:
        data.add(triple)
    locations: dict[str, SourceLocation] = {str(k): v for k, v in registry.locations.items()}
    for article in articles:
        mapped = map_article(article, iris)
        mapped.graph += map_article_provenance(article, iris)
        locations.update({str(k): v for k, v in mapped.locations.items()})
        path = out_dir / f"{article.slug}.nq"
        write_graph(graph_quads(mapped.graph, mapped.iri), path)
        result.graphs.append(ArticleGraph(article.slug, str(mapped.iri), path, len(mapped.graph)))
        for triple in mapped.graph:
            data.add(triple)
    result.findings = validate_graph(data, (), locations).findings
    if keep_locations:
        result.locations = locations
    return result
