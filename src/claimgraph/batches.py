"""Loading, mapping and validating articles in batches, possibly in worker processes.

A batch of articles is read from its source files, mapped to their named graphs, validated
together (pyshacl's node shapes, the dataset checks as queries, the schema.org check) with the
registry entities they link to, and each article graph is written as sorted N-Quads to a file
of its own, with its parts of the dumps and its search rows beside it. Batches are
independent, so they run in parallel over the machine's cores, and memory is bounded by the
batch size, not the corpus.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF

from claimgraph.graphparts import sorted_nquads, write_parts
from claimgraph.mapping import map_article_statements, map_registry, mentioned_entities
from claimgraph.metadata import map_article_provenance
from claimgraph.namespaces import Iris
from claimgraph.onegraph import one_graph
from claimgraph.rdfterms import graph_quads
from claimgraph.records import Article, ArticleFiles, Entity, SourceLocation
from claimgraph.search import index_rows
from claimgraph.sources import load_article
from claimgraph.validation import Finding, validate_graph
from claimgraph.vocabulary import SchemaVocabulary

BATCH_SIZE = 100
_RDF_TYPE = ox.NamedNode(str(RDF.type))


@dataclass(frozen=True)
class ArticleGraph:
    """One article's named graph, on disk (with its dump parts and search rows beside it)."""

    slug: str
    graph_iri: str
    path: Path
    size: int
    sha256: str
    date_published: str


@dataclass
class BatchResult:
    graphs: list[ArticleGraph] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def referenced_entities(articles: Iterable[Article]) -> set[str]:
    """The registry keys a batch of articles links to, author, publisher and holder included."""
    keys: set[str] = set()
    for article in articles:
        keys.update(mentioned_entities(article))
        keys.update((article.author, article.publisher, article.copyright_holder))
    return keys


def write_graph(quads: Iterable[ox.Quad], path: Path, search: bytes) -> str:
    """Write a graph's sorted N-Quads file and its ``.parts`` file (its dump parts and
    ``search`` rows); returns the N-Quads file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered, data = sorted_nquads(quads)
    path.write_bytes(data)
    write_parts(path, ordered, search=search)
    return hashlib.sha256(data).hexdigest()


def process_batch(files: list[ArticleFiles], data_dir: Path, entities: dict[str, Entity], base: str,
                  out_dir: Path) -> BatchResult:
    """Load, map, validate and write one batch of articles; returns what a build needs to know.
    A source error is raised as it is (the build stops on the first, in article order)."""
    vocab = SchemaVocabulary.load()
    articles = [load_article(f.text_path, data_dir, entities, vocab, f.sources) for f in files]
    iris = Iris(base)
    result = BatchResult()
    # The batch's data: its articles, and the types of the registry entities they link to (for
    # sh:class), validated together. The entities themselves are validated once, with the whole
    # registry: of the rest of what is known of them only the dataset checks read anything
    # (their status and names), and judging them again in every batch was a tenth of its shapes'
    # time. addN: rdflib's add() costs several times more per triple. A store of its own for
    # the one graph: pyshacl's lookups in it cost a third less than in rdflib's default store,
    # which tracks every triple's graphs.
    data = one_graph()
    keys = referenced_entities(articles) & set(entities)
    registry = map_registry((entities[k] for k in sorted(keys)), iris)
    linked = graph_quads(registry.graph, registry.iri)
    all_quads = [q for q in linked if q.predicate == _RDF_TYPE]
    data.add_triples(registry.graph.triples((None, RDF.type, None)))
    locations: dict[str, SourceLocation] = {str(k): v for k, v in registry.locations.items()}
    for article in articles:
        mapped = map_article_statements(article, iris)
        triples = list(dict.fromkeys([*mapped.triples, *map_article_provenance(article, iris)]))
        locations.update({str(k): v for k, v in mapped.locations.items()})
        path = out_dir / f"{article.slug}.nq"
        quads = graph_quads(triples, mapped.iri)
        digest = write_graph(quads, path, json.dumps(index_rows(quads, iris), ensure_ascii=False).encode())
        result.graphs.append(ArticleGraph(article.slug, str(mapped.iri), path, len(triples), digest,
                                          article.date_published))
        data.add_triples(triples)
        all_quads += quads
    # each finding carries its source location; the nodes' locations stay here (at 100,000
    # articles they would be millions of entries in the build's main process)
    result.findings = validate_graph(data, (), locations, in_place=True, quads=all_quads, linked=linked).findings
    return result
