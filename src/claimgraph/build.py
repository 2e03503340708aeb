"""The build pipeline: load sources → map to RDF → validate → publish.

``assemble`` runs the first three stages and returns everything a caller needs to inspect
(tests, ``claimgraph validate``); ``build`` adds publishing. Neither prints.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from claimgraph import __version__
from claimgraph.dumps import write_dumps
from claimgraph.errors import ValidationFailed
from claimgraph.linking.cache import CACHE_FILE, load_cache
from claimgraph.mapping import MappedGraph, map_article, map_registry, map_wikidata, map_wikidata_provenance
from claimgraph.metadata import build_time, map_article_provenance, map_metadata
from claimgraph.namespaces import Iris, fragment
from claimgraph.ontology_page import render_ontology_page
from claimgraph.publishing import STORE_DIR, load_store, write_atomically
from claimgraph.rdfterms import graph_quads
from claimgraph.records import Corpus, SourceLocation
from claimgraph.resources import ONTOLOGY, SHAPES, project_file
from claimgraph.search import SEARCH_FILE, build_index
from claimgraph.site import write_site
from claimgraph.sources import load_corpus
from claimgraph.validation import ValidationReport, ontology_graph, validate_graph


@dataclass
class Assembled:
    """A corpus mapped to named graphs and validated, not yet written anywhere."""

    corpus: Corpus
    iris: Iris
    graphs: list[MappedGraph]
    report: ValidationReport
    built_at: datetime

    def quads(self) -> list[ox.Quad]:
        return [q for mapped in self.graphs for q in graph_quads(mapped.graph, mapped.iri)]

    def graph(self, iri: str) -> Graph:
        return next(m.graph for m in self.graphs if str(m.iri) == iri)


@dataclass
class BuildResult:
    assembled: Assembled
    out_dir: Path
    files: dict[str, Path]
    quad_count: int


def assemble(data_dir: Path, base_iri: str | None = None) -> Assembled:
    """Load, map and validate the sources under ``data_dir``."""
    corpus = load_corpus(Path(data_dir))
    iris = Iris(base_iri or corpus.dataset.base_iri)
    articles = [map_article(article, iris) for article in corpus.articles]
    for article, mapped in zip(corpus.articles, articles, strict=True):
        mapped.graph += map_article_provenance(article, iris)
    registry = map_registry(corpus.entities.values(), iris)
    ontology = MappedGraph(iris.ontology_graph, ontology_graph())
    content = [*articles, registry]
    locations: dict[str, SourceLocation] = {}
    union = Graph()
    for mapped in content:
        locations.update({str(k): v for k, v in mapped.locations.items()})
        for triple in mapped.graph:
            union.add(triple)
    # Wikidata's facts from the committed cache (never the network), in their own graph. It is
    # Wikidata's modelling, not ours, so the shapes and the schema.org check do not judge it.
    cache_path = Path(data_dir) / CACHE_FILE
    cache = load_cache(cache_path) if cache_path.is_file() else None
    mapped_cache = map_wikidata(cache.triples if cache else (), corpus.entities.values(), iris)
    wikidata = [mapped_cache] if len(mapped_cache.graph) else []
    sizes = {m.iri: len(m.graph) for m in (*content, ontology, *wikidata)}
    built_at = build_time(corpus)
    metadata = MappedGraph(iris.metadata_graph, map_metadata(corpus, iris, sizes, built_at))
    if cache and wikidata:
        origin = cache.provenance
        metadata.graph += map_wikidata_provenance(iris, iris.source(CACHE_FILE), origin and origin.source,
                                                  origin and origin.retrieved)
    report = validate_graph(union, (ontology.graph, metadata.graph), locations)
    return Assembled(corpus, iris, [*content, ontology, *wikidata, metadata], report, built_at)


def _manifest(assembled: Assembled, files: dict[str, Path], quad_count: int) -> dict[str, object]:
    return {
        "claimgraph": __version__,
        "base_iri": assembled.iris.base,
        "built_at": assembled.built_at.isoformat().replace("+00:00", "Z"),
        "articles": [a.slug for a in assembled.corpus.articles],
        "entities": len(assembled.corpus.entities),
        "quads": quad_count,
        "graphs": {str(m.iri): len(m.graph) for m in assembled.graphs},
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()},
        "sources": {s.relative_path: s.sha256 for s in assembled.corpus.sources},
    }


def build(data_dir: Path, out_dir: Path, base_iri: str | None = None) -> BuildResult:
    """Build and publish into ``out_dir``; a violation raises before anything is written."""
    assembled = assemble(data_dir, base_iri)
    if not assembled.report.conforms:
        first = assembled.report.violations[0]
        where = first.location
        raise ValidationFailed(
            f"{len(assembled.report.violations)} violation(s) of the shapes; nothing was written",
            assembled.report, where.path if where else None, where.line if where else None)
    quads = assembled.quads()
    files: dict[str, Path] = {}

    def write(tmp: Path) -> None:
        files.update(write_dumps(quads, tmp))
        report_path = tmp / "validation.ttl"
        report_graph = assembled.report.to_graph(fragment(assembled.iris.dataset, "validation"))
        report_path.write_bytes(report_graph.serialize(format="turtle", encoding="utf-8"))
        files["validation"] = report_path
        shutil.copyfile(project_file(ONTOLOGY), tmp / "ontology.ttl")
        files["ontology"] = tmp / "ontology.ttl"
        (tmp / "ontology.html").write_text(render_ontology_page(ontology_graph()), encoding="utf-8")
        files["ontology-page"] = tmp / "ontology.html"
        load_store(quads, tmp / STORE_DIR)
        version = hashlib.sha256(files["nq"].read_bytes()).hexdigest()[:12]
        store = ox.Store(str(tmp / STORE_DIR))
        try:
            write_site(store, assembled.iris, tmp, version)
        finally:
            del store
        build_index(quads, assembled.iris, tmp / SEARCH_FILE)
        files["search"] = tmp / SEARCH_FILE
        shutil.copyfile(project_file(SHAPES), tmp / "shapes.ttl")
        files["shapes"] = tmp / "shapes.ttl"
        manifest = _manifest(assembled, dict(files), len(quads))
        manifest["version"] = version
        (tmp / "build.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")

    write_atomically(Path(out_dir), write)
    out = Path(out_dir)
    final = {name: out / path.name for name, path in files.items()}
    final["manifest"] = out / "build.json"
    return BuildResult(assembled, out, final, len(quads))
