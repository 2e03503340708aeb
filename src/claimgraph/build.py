"""The build pipeline: load sources → map to RDF → validate → publish.

Articles are mapped and validated in batches (in parallel over the machine's cores when there
are several), each article graph written to its own sorted N-Quads file; an article whose
sources, registry and rules are unchanged since the previous build reuses that build's file.
``assemble`` runs these stages into a folder and returns everything a caller needs to inspect
(tests, ``claimgraph validate``); ``build`` adds publishing. Neither prints: progress goes to
an optional callback.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from claimgraph import __version__
from claimgraph.batches import BATCH_SIZE, ArticleGraph, BatchResult, process_batch, write_graph
from claimgraph.buildcache import (
    GRAPHS_DIR,
    article_key,
    file_sha256,
    finding_from_json,
    finding_to_json,
    read_index,
    read_registry_entry,
    reuse,
    rules_digest,
    write_index,
)
from claimgraph.dumps import write_dumps
from claimgraph.errors import ValidationFailed
from claimgraph.linking.cache import CACHE_FILE, load_cache
from claimgraph.mapping import MappedGraph, map_registry, map_wikidata, map_wikidata_provenance
from claimgraph.metadata import build_time, map_metadata
from claimgraph.namespaces import Iris, fragment
from claimgraph.ontology_page import render_ontology_page
from claimgraph.publishing import STORE_DIR, write_atomically
from claimgraph.rdfterms import graph_quads
from claimgraph.records import Article, Corpus, SourceLocation
from claimgraph.resources import ONTOLOGY, SHAPES, project_file
from claimgraph.search import SEARCH_FILE, build_index
from claimgraph.site import write_site
from claimgraph.sources import load_corpus
from claimgraph.validation import Finding, ValidationReport, ontology_graph, validate_graph

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Assembled:
    """A corpus mapped to named graphs (one N-Quads file each) and validated."""

    corpus: Corpus
    iris: Iris
    graph_files: dict[str, Path]  # graph IRI → its sorted N-Quads file
    sizes: dict[str, int]  # graph IRI → triples
    report: ValidationReport
    built_at: datetime
    reused: int = 0  # articles taken from the previous build's cache
    locations: dict[str, SourceLocation] = field(default_factory=dict)

    def quads(self) -> list[ox.Quad]:
        return [q for iri in sorted(self.graph_files) for q in
                ox.parse(path=str(self.graph_files[iri]), format=ox.RdfFormat.N_QUADS)]

    @property
    def graphs(self) -> list[MappedGraph]:
        """Every named graph as an rdflib graph (for inspection; loads them all)."""
        out = []
        for iri in sorted(self.graph_files):
            g = Graph()
            for q in ox.parse(path=str(self.graph_files[iri]), format=ox.RdfFormat.N_QUADS):
                g.parse(data=str(ox.Triple(q.subject, q.predicate, q.object)) + " .", format="nt")
            out.append(MappedGraph(URIRef(iri), g, dict(self.locations)))
        return out

    def graph(self, iri: str) -> Graph:
        return next(m.graph for m in self.graphs if str(m.iri) == iri)


@dataclass
class BuildResult:
    assembled: Assembled
    out_dir: Path
    files: dict[str, Path]
    quad_count: int


def _batches(articles: list[Article], size: int) -> Iterator[list[Article]]:
    for start in range(0, len(articles), size):
        yield articles[start:start + size]


def _run_batches(batches: list[list[Article]], corpus: Corpus, base: str, graphs_dir: Path,
                 progress: Progress | None, total: int) -> Iterator[BatchResult]:
    done = 0
    workers = min(len(batches), os.cpu_count() or 1)
    if workers <= 1:
        for batch in batches:
            result = process_batch(batch, corpus.entities, base, graphs_dir)
            done += len(batch)
            if progress:
                progress("mapping and validating", done, total)
            yield result
        return
    # fork: the workers start with everything already imported (rdflib, pyshacl, the shapes)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(process_batch, batch, corpus.entities, base, graphs_dir) for batch in batches]
        for batch, future in zip(batches, futures, strict=True):
            result = future.result()
            done += len(batch)
            if progress:
                progress("mapping and validating", done, total)
            yield result


def assemble(data_dir: Path, base_iri: str | None = None, work_dir: Path | None = None,
             previous: Path | None = None, progress: Progress | None = None) -> Assembled:
    """Load, map and validate the sources under ``data_dir``, writing each named graph to
    ``work_dir`` (a temporary folder when not given); ``previous`` is an earlier build output
    whose cache may be reused."""
    corpus = load_corpus(Path(data_dir))
    iris = Iris(base_iri or corpus.dataset.base_iri)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="claimgraph-"))
    graphs_dir = work / GRAPHS_DIR
    graphs_dir.mkdir(parents=True, exist_ok=True)
    rules = rules_digest(corpus, iris.base)
    cached = read_index(previous) if previous else {}
    findings: list[Finding] = []
    files: dict[str, Path] = {}
    sizes: dict[str, int] = {}
    index: dict[str, dict] = {}
    locations: dict[str, SourceLocation] = {}
    fresh: list[Article] = []
    for article in corpus.articles:
        key = article_key(article, rules)
        entry = cached.get(article.slug)
        graph_iri = str(iris.article_graph(article.slug))
        if entry and entry.get("key") == key and previous is not None:
            files[graph_iri] = reuse(previous, work, article.slug)
            sizes[graph_iri] = int(entry["size"])
            findings += [finding_from_json(dict(f)) for f in entry.get("findings", [])]
            index[article.slug] = entry
        else:
            fresh.append(article)
    reused = len(corpus.articles) - len(fresh)
    keys = {a.slug: article_key(a, rules) for a in fresh}
    for result in _run_batches(list(_batches(fresh, BATCH_SIZE)), corpus, iris.base, graphs_dir, progress,
                               len(fresh)):
        findings += result.findings
        locations.update(result.locations)
        by_slug: dict[str, list[Finding]] = {}
        for finding in result.findings:
            where = finding.location.path.name if finding.location else ""
            by_slug.setdefault(where.split(".")[0], []).append(finding)
        for graph in result.graphs:
            files[graph.graph_iri] = graph.path
            sizes[graph.graph_iri] = graph.size
            index[graph.slug] = {"key": keys[graph.slug], "size": graph.size, "sha256": file_sha256(graph.path),
                                 "findings": [finding_to_json(f) for f in by_slug.get(graph.slug, [])
                                              if f.severity != "Violation"]}
    # The shared graphs: the registry (validated on its own), the ontology, Wikidata's facts
    # from the committed cache (never the network; Wikidata's modelling, which the shapes and
    # the schema.org check do not judge), and the metadata describing all of them.
    registry = map_registry(corpus.entities.values(), iris)
    locations.update({str(k): v for k, v in registry.locations.items()})
    previous_registry = read_registry_entry(previous) if previous else None
    if previous_registry and previous_registry.get("key") == rules:  # the registry and rules are unchanged
        registry_findings = [finding_from_json(dict(f)) for f in previous_registry.get("findings", [])]
    else:
        registry_findings = validate_graph(registry.graph, (),
                                           {str(k): v for k, v in registry.locations.items()}).findings
    findings += registry_findings
    ontology = MappedGraph(iris.ontology_graph, ontology_graph())
    cache_path = Path(data_dir) / CACHE_FILE
    cache = load_cache(cache_path) if cache_path.is_file() else None
    wikidata = map_wikidata(cache.triples if cache else (), corpus.entities.values(), iris)
    shared = [registry, ontology] + ([wikidata] if len(wikidata.graph) else [])
    for mapped in shared:
        sizes[str(mapped.iri)] = len(mapped.graph)
    built_at = build_time(corpus)
    metadata = MappedGraph(iris.metadata_graph,
                           map_metadata(corpus, iris, {URIRef(k): v for k, v in sizes.items()}, built_at))
    if cache and len(wikidata.graph):
        origin = cache.provenance
        metadata.graph += map_wikidata_provenance(iris, iris.source(CACHE_FILE), origin and origin.source,
                                                  origin and origin.retrieved)
    findings += validate_graph(Graph(), (ontology.graph, metadata.graph), {}).findings
    for mapped in (*shared, metadata):
        path = work / GRAPHS_DIR / ("_" + str(mapped.iri).rsplit("/", 1)[-1] + ".nq")
        write_graph(graph_quads(mapped.graph, mapped.iri), path)
        files[str(mapped.iri)] = path
    write_index(work, index, {"key": rules, "findings": [finding_to_json(f) for f in registry_findings
                                                          if f.severity != "Violation"]})
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    report = ValidationReport(sorted(set(findings), key=lambda f: (
        order[f.severity], str(f.location or ""), f.focus, f.rule, f.path or "", f.value or "")))
    return Assembled(corpus, iris, files, sizes, report, built_at, reused, locations)


def _manifest(assembled: Assembled, files: dict[str, Path], quad_count: int, version: str) -> dict[str, object]:
    return {
        "claimgraph": __version__,
        "base_iri": assembled.iris.base,
        "built_at": assembled.built_at.isoformat().replace("+00:00", "Z"),
        "version": version,
        "articles": [a.slug for a in assembled.corpus.articles],
        "entities": len(assembled.corpus.entities),
        "quads": quad_count,
        "graphs": dict(sorted(assembled.sizes.items())),
        "files": {p.name: _sha256(p) for p in files.values()},
        "sources": {s.relative_path: s.sha256 for s in assembled.corpus.sources},
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _open_store(path: Path) -> Iterator[ox.Store]:
    store = ox.Store(str(path))
    try:
        yield store
    finally:
        del store  # closes the RocksDB files before the output folder is moved


def build(data_dir: Path, out_dir: Path, base_iri: str | None = None, site: bool = True,
          progress: Progress | None = None) -> BuildResult:
    """Build and publish into ``out_dir``, atomically: a violation or any failure leaves the
    previous output as it was."""
    out_dir = Path(out_dir)
    holder: dict[str, object] = {}

    def write(tmp: Path) -> None:
        assembled = assemble(data_dir, base_iri, work_dir=tmp, previous=out_dir if out_dir.is_dir() else None,
                             progress=progress)
        holder["assembled"] = assembled
        if not assembled.report.conforms:
            first = assembled.report.violations[0]
            where = first.location
            raise ValidationFailed(
                f"{len(assembled.report.violations)} violation(s) of the shapes; nothing was written",
                assembled.report, where.path if where else None, where.line if where else None)
        shared = {iri for iri in assembled.graph_files if "/graph/article/" not in iri}
        if progress:
            progress("writing dumps", 0, 1)
        files = dict(write_dumps(list(assembled.graph_files.items()), shared, tmp))
        report_graph = assembled.report.to_graph(fragment(assembled.iris.dataset, "validation"))
        files["validation"] = tmp / "validation.ttl"
        files["validation"].write_bytes(report_graph.serialize(format="turtle", encoding="utf-8"))
        shutil.copyfile(project_file(ONTOLOGY), tmp / "ontology.ttl")
        files["ontology"] = tmp / "ontology.ttl"
        (tmp / "ontology.html").write_text(render_ontology_page(ontology_graph()), encoding="utf-8")
        files["ontology-page"] = tmp / "ontology.html"
        shutil.copyfile(project_file(SHAPES), tmp / "shapes.ttl")
        files["shapes"] = tmp / "shapes.ttl"
        if progress:
            progress("loading the store", 0, 1)
        with _open_store(tmp / STORE_DIR) as store:
            store.bulk_load(path=str(files["nq"]), format=ox.RdfFormat.N_QUADS)
            store.optimize()
            version = _sha256(files["nq"])[:12]
            if site:
                if progress:
                    progress("writing the site", 0, 1)
                write_site(store, assembled.iris, tmp, version)
            quad_count = len(store)
        build_index(ox.parse(path=str(files["nq"]), format=ox.RdfFormat.N_QUADS), assembled.iris,
                    tmp / SEARCH_FILE)
        files["search"] = tmp / SEARCH_FILE
        manifest = _manifest(assembled, files, quad_count, version)
        (tmp / "build.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        holder["files"] = files
        holder["quads"] = quad_count

    write_atomically(out_dir, write)
    assembled = holder["assembled"]
    assert isinstance(assembled, Assembled)
    # the work folder became out_dir: point the graph files there
    assembled.graph_files = {iri: out_dir / GRAPHS_DIR / path.name for iri, path in assembled.graph_files.items()}
    files = holder["files"]
    assert isinstance(files, dict)
    final = {name: out_dir / path.name for name, path in files.items()}
    final["manifest"] = out_dir / "build.json"
    return BuildResult(assembled, out_dir, final, int(holder["quads"]))  # type: ignore[arg-type]


__all__ = ["ArticleGraph", "Assembled", "BuildResult", "Progress", "assemble", "build"]
