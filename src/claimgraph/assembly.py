"""Assembling a corpus: load sources → map to RDF → validate, into one file per named graph.

Articles are read, mapped and validated in batches (in parallel over the machine's cores when
there are several), each article graph written to its own sorted N-Quads file with its parts
of the dumps and its search rows beside it; an article whose sources, registry and rules are
unchanged since the previous build is not even read: its files are reused from that build.
``assemble`` returns everything a caller needs to inspect (tests, ``claimgraph validate``)
and publish (:mod:`claimgraph.build`). It does not print: progress goes to an optional callback.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import chain
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from claimgraph.batches import BATCH_SIZE, BatchResult, process_batch
from claimgraph.buildcache import (
    GRAPHS_DIR,
    article_key,
    file_stamps,
    finding_from_json,
    finding_to_json,
    read_index,
    read_registry_entry,
    read_source_stamps,
    reuse,
    rules_digest,
    write_index,
)
from claimgraph.graphparts import parts_path, sorted_nquads, write_parts
from claimgraph.linking.cache import CACHE_FILE, load_cache
from claimgraph.mapping import MappedGraph, map_article, map_registry, map_wikidata, map_wikidata_provenance
from claimgraph.metadata import build_time, map_metadata
from claimgraph.namespaces import Iris
from claimgraph.rdfterms import graph_quads, to_rdflib
from claimgraph.records import ArticleFiles, Corpus, CorpusFiles, SourceLocation
from claimgraph.search import index_rows
from claimgraph.sources import load_corpus, scan_corpus
from claimgraph.validation import Finding, ValidationReport, ontology_graph, validate_graph

Progress = Callable[[str, int, int], None]  # (stage, done, total)
SHARED_STEM = "_"  # shared graphs' files are named _<name>.nq, apart from any article slug
SHARED_SEARCH = SHARED_STEM + "shared.search.json"  # the search rows of all the shared graphs


@dataclass
class Assembled:
    """A corpus mapped to named graphs (one N-Quads file each, with its dump parts) and validated."""

    files: CorpusFiles
    iris: Iris
    graph_files: dict[str, Path]  # graph IRI → its sorted N-Quads file
    sizes: dict[str, int]  # graph IRI → triples
    report: ValidationReport
    built_at: datetime
    reused: int = 0  # articles taken from the previous build's cache
    changed: set[str] = field(default_factory=set)  # graphs that differ from the previous build's
    digests: dict[str, str] = field(default_factory=dict)  # graph IRI → SHA-256 of its file

    @cached_property
    def locations(self) -> dict[str, SourceLocation]:
        """The source line of every node the build minted (for inspection: maps the corpus again)."""
        found = {str(k): v for k, v in map_registry(self.files.entities.values(), self.iris).locations.items()}
        for article in self.corpus.articles:
            found.update({str(k): v for k, v in map_article(article, self.iris).locations.items()})
        return found

    @cached_property
    def corpus(self) -> Corpus:
        """Every article loaded (for inspection: the build itself reads only changed ones)."""
        return load_corpus(self.files.data_dir)

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
                g.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
            out.append(MappedGraph(URIRef(iri), g, dict(self.locations)))
        return out

    def graph(self, iri: str) -> Graph:
        return next(m.graph for m in self.graphs if str(m.iri) == iri)


def _batches(articles: list[ArticleFiles], size: int) -> Iterator[list[ArticleFiles]]:
    for start in range(0, len(articles), size):
        yield articles[start:start + size]


def _run_batches(batches: list[list[ArticleFiles]], files: CorpusFiles, base: str, graphs_dir: Path,
                 progress: Progress | None, total: int) -> Iterator[BatchResult]:
    done = 0
    workers = min(len(batches), os.cpu_count() or 1)
    if workers <= 1:
        for batch in batches:
            result = process_batch(batch, files.data_dir, files.entities, base, graphs_dir)
            done += len(batch)
            if progress:
                progress("mapping and validating", done, total)
            yield result
        return
    # fork: the workers start with everything already imported (rdflib, pyshacl, the shapes).
    # Frozen first, so the cycle collector in a worker never walks what it inherited (the
    # schema.org vocabulary, the registry): only each batch's own garbage.
    gc.freeze()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_process_and_collect, batch, files.data_dir, files.entities, base, graphs_dir)
                   for batch in batches]
        try:
            for batch, future in zip(batches, futures, strict=True):
                result = future.result()
                done += len(batch)
                if progress:
                    progress("mapping and validating", done, total)
                yield result
        finally:
            for future in futures:  # a source error: stop at once, not after every other batch
                future.cancel()
            gc.unfreeze()


def _process_and_collect(files: list[ArticleFiles], data_dir: Path, entities: dict, base: str,
                         graphs_dir: Path) -> BatchResult:
    """:func:`process_batch` in a worker, with the cycle collector off, then one collection of
    the batch's reference cycles (rdflib graphs, pyshacl's shapes and reports). Collecting
    as the batch went (even at the build's raised threshold) walked its live statements
    again and again: 0.09 s of CPU a batch, against 0.016 s for the one collection at its
    end, and no more memory (a batch is a hundred articles)."""
    gc.disable()
    try:
        return process_batch(files, data_dir, entities, base, graphs_dir)
    finally:
        gc.enable()
        gc.collect()


def _by_slug(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        where = finding.location.path.name if finding.location else ""
        grouped.setdefault(where.split(".")[0], []).append(finding)
    return grouped


def assemble(data_dir: Path, base_iri: str | None = None, work_dir: Path | None = None,
             previous: Path | None = None, progress: Progress | None = None,
             on_reused: Callable[[dict[str, Path]], None] | None = None,
             on_articles: Callable[[dict[str, Path]], None] | None = None,
             on_made: Callable[[list[tuple[str, Path]]], None] | None = None) -> Assembled:
    """Load, map and validate the sources under ``data_dir``, writing each named graph to
    ``work_dir`` (a temporary folder when not given); ``previous`` is an earlier build output
    whose cache may be reused: an article whose sources, registry and rules are unchanged is
    not even read. ``on_reused`` is given the graphs taken from ``previous`` (IRI → file) as
    soon as they are known, before the others are made; ``on_made`` each batch's new article
    graphs ((IRI, file) pairs, in the order of the articles), as soon as they are made;
    ``on_articles`` every article graph (IRI → file) once all are made, before the shared
    graphs are."""
    known, known_at = read_source_stamps(previous) if previous else ({}, 0)
    files = scan_corpus(Path(data_dir), known=known, known_at_ns=known_at)
    iris = Iris(base_iri or files.dataset.base_iri)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="claimgraph-"))
    graphs_dir = work / GRAPHS_DIR
    graphs_dir.mkdir(parents=True, exist_ok=True)
    rules = rules_digest(files, iris.base)
    cached = read_index(previous) if previous else {}
    findings: list[Finding] = []
    graph_files: dict[str, Path] = {}
    sizes: dict[str, int] = {}
    index: dict[str, dict] = {}
    digests: dict[str, str] = {}
    published: list[str] = []
    fresh: list[ArticleFiles] = []
    keys = {a.slug: article_key(a, rules) for a in files.articles}
    for article in files.articles:
        entry = cached.get(article.slug)
        graph_iri = str(iris.article_graph(article.slug))
        if previous is not None and entry and entry.get("key") == keys[article.slug]:
            graph_files[graph_iri] = reuse(previous, work, article.slug)
            sizes[graph_iri] = int(entry["size"])
            digests[graph_iri] = str(entry["sha256"])
            findings += [finding_from_json(dict(f)) for f in entry.get("findings", [])]
            published.append(str(entry["date"]))
            index[article.slug] = entry
        else:
            fresh.append(article)
    changed = {str(iris.article_graph(a.slug)) for a in fresh}
    if on_reused is not None and previous is not None:
        on_reused(dict(graph_files))
    for result in _run_batches(list(_batches(fresh, BATCH_SIZE)), files, iris.base, graphs_dir, progress,
                               len(fresh)):
        if on_made is not None:
            on_made([(graph.graph_iri, graph.path) for graph in result.graphs])
        findings += result.findings
        by_slug = _by_slug(result.findings)
        for graph in result.graphs:
            graph_files[graph.graph_iri] = graph.path
            sizes[graph.graph_iri] = graph.size
            digests[graph.graph_iri] = graph.sha256
            published.append(graph.date_published)
            index[graph.slug] = {"key": keys[graph.slug], "size": graph.size, "sha256": graph.sha256,
                                 "date": graph.date_published, "files": file_stamps(graph.path),
                                 "findings": [finding_to_json(f) for f in by_slug.get(graph.slug, [])
                                              if f.severity != "Violation"]}
    if on_articles is not None:
        on_articles(dict(graph_files))
    # The shared graphs: the registry (validated on its own), the ontology, Wikidata's facts
    # from the committed cache (never the network; Wikidata's modelling, which the shapes and
    # the schema.org check do not judge), and the metadata describing all of them.
    registry = map_registry(files.entities.values(), iris)
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
    wikidata = map_wikidata(cache.triples if cache else (), files.entities.values(), iris)
    shared = [registry, ontology] + ([wikidata] if len(wikidata.graph) else [])
    for mapped in shared:
        sizes[str(mapped.iri)] = len(mapped.graph)
    shared_quads = {str(m.iri): graph_quads(m.graph, m.iri) for m in shared}  # converted once
    built_at = build_time(files, published)
    origin = cache.provenance if cache and len(wikidata.graph) else None
    metadata_iri = str(iris.metadata_graph)
    metadata_key = _metadata_key(rules, files, sizes, built_at, origin)
    kept = _kept_metadata(previous, previous_registry, metadata_key, metadata_iri)
    if kept:
        shared_quads[metadata_iri], metadata_size, shared_findings = kept
    else:
        statements = map_metadata(files, iris, {URIRef(k): v for k, v in sizes.items()}, built_at)
        if cache and len(wikidata.graph):
            statements = chain(statements, map_wikidata_provenance(
                iris, iris.source(CACHE_FILE), origin and origin.source, origin and origin.retrieved))
        # converted as they come, each once (a graph's statements are a set)
        shared_quads[metadata_iri] = list(dict.fromkeys(graph_quads(statements, iris.metadata_graph)))
        metadata_size = len(shared_quads[metadata_iri])
        shared_findings = validate_graph(Graph(), (shared_quads[str(ontology.iri)], shared_quads[metadata_iri]),
                                         {}).findings
    findings += shared_findings
    sizes[metadata_iri] = metadata_size  # after map_metadata: VoID counts the graphs it describes
    shared_digests = _write_shared(sorted([*(str(m.iri) for m in shared), metadata_iri]), shared_quads,
                                   graphs_dir, iris, previous, (previous_registry or {}).get("graphs", {}))
    for iri, (path, digest) in shared_digests.items():
        graph_files[iri] = path
        digests[iri] = digest
        previous_digest = previous_registry.get("graphs", {}).get(iri) if previous_registry else None
        if digest != previous_digest:
            changed.add(iri)
    write_index(work, index, {"key": rules, "graphs": {iri: d for iri, (_, d) in shared_digests.items()},
                              "findings": [finding_to_json(f) for f in registry_findings
                                           if f.severity != "Violation"],
                              "metadata": {"key": metadata_key, "size": metadata_size,
                                           "findings": [finding_to_json(f) for f in shared_findings]}},
                files.stamps, files.scanned_ns)
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    report = ValidationReport(sorted(set(findings), key=lambda f: (
        order[f.severity], str(f.location or ""), f.focus, f.rule, f.path or "", f.value or "")))
    return Assembled(files, iris, graph_files, sizes, report, built_at, len(files.articles) - len(fresh),
                     changed, digests)


def _shared_file(graph_iri: str) -> str:
    return SHARED_STEM + graph_iri.rsplit("/", 1)[-1] + ".nq"


def _metadata_key(rules: str, files: CorpusFiles, sizes: dict[str, int], built_at: datetime,
                  origin: object) -> str:
    """Everything the metadata graph is made of besides the rules (which cover the dataset's
    settings, the non-article sources and the code): the graphs' sizes, the build time, the
    source files' names and the Wikidata cache's origin. Editing an article's text changes none
    of them, and the graph (tens of thousands of statements) is then taken from the previous build."""
    article_sources = sorted(s.relative_path for a in files.articles for s in a.sources)
    inputs = [rules, built_at.isoformat(), sorted(sizes.items()), [s.relative_path for s in files.sources],
              article_sources, [str(getattr(origin, name, "")) for name in ("source", "retrieved")]]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def _kept_metadata(previous: Path | None, entry: dict | None, key: str, graph_iri: str
                   ) -> tuple[list[ox.Quad], int, list[Finding]] | None:
    """The previous build's metadata graph (its quads, size and schema.org check findings),
    when it was made of the same inputs (``key``) and its file is intact."""
    record = (entry or {}).get("metadata")
    digest = (entry or {}).get("graphs", {}).get(graph_iri)
    if previous is None or not isinstance(record, dict) or record.get("key") != key:
        return None
    try:
        data = (previous / GRAPHS_DIR / _shared_file(graph_iri)).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS, lenient=True))
        return quads, int(record["size"]), [finding_from_json(dict(f)) for f in record.get("findings", [])]
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return None


def _write_shared(graphs: list[str], quads_of: dict[str, list[ox.Quad]], graphs_dir: Path, iris: Iris,
                  previous: Path | None, before: dict[str, str]) -> dict[str, tuple[Path, str]]:
    """Write the shared graphs (``graphs``, their IRIs in order: the merged dumps keep a triple
    that several of them hold in the first) with their dump parts and one group of search rows.
    A graph whose bytes, and those of the graphs before it, are as in the ``previous`` build
    keeps its parts."""
    # A triple that several graphs hold is in one of the smaller ones: only theirs are kept to
    # find repeats (the metadata graph has six statements an article, millions of triples' worth
    # of memory at 100,000 articles).
    largest = max(graphs, key=lambda iri: len(quads_of[iri]))
    repeatable = {q.triple for iri in graphs if iri != largest for q in quads_of[iri]}
    written: set[ox.Triple] = set()
    out: dict[str, tuple[Path, str]] = {}
    rows_source: list[ox.Quad] = []
    unchanged_so_far = previous is not None
    for graph_iri in graphs:
        quads = quads_of[graph_iri]
        path = graphs_dir / _shared_file(graph_iri)
        ordered, data = sorted_nquads(quads)
        # in the order of the graph's sorted N-Quads, which is that of the triples' text (its
        # lines differ only by a trailing graph name, after a space no term's text holds)
        merged = [t for t in (q.triple for q in ordered) if t not in written]
        written.update(t for t in merged if t in repeatable)
        digest = hashlib.sha256(data).hexdigest()
        unchanged_so_far = unchanged_so_far and before.get(graph_iri) == digest
        path.write_bytes(data)
        del data
        if not (unchanged_so_far and previous is not None and _link_parts(previous / GRAPHS_DIR / path.name, path)):
            write_parts(path, ordered, merged)
        del merged, ordered
        out[graph_iri] = (path, digest)
        rows_source += quads
    (graphs_dir / SHARED_SEARCH).write_text(
        json.dumps(index_rows(rows_source, iris), ensure_ascii=False), encoding="utf-8")
    return out


def _link_parts(source: Path, target: Path) -> bool:
    """Hard-link a previous graph's parts; on failure leave none (a later write to a link
    would change the previous output's file too)."""
    try:
        os.link(parts_path(source), parts_path(target))
    except OSError:
        parts_path(target).unlink(missing_ok=True)
        return False
    return True
