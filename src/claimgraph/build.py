"""The build: assemble the corpus (:mod:`claimgraph.assembly`), then publish it — dumps,
validation report, ontology, embedded store, static site, search index and manifest — into
the output folder, atomically. An unchanged previous output is reused where it can be: the
store and the search index are updated graph by graph rather than rewritten. ``build`` does
not print: progress goes to an optional callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import pyoxigraph as ox

from claimgraph import __version__
from claimgraph.assembly import SHARED_SEARCH, SHARED_STEM, Assembled, Progress, assemble
from claimgraph.batches import ArticleGraph
from claimgraph.buildcache import GRAPHS_DIR
from claimgraph.dumps import DumpStart, file_sha256, write_dumps
from claimgraph.dumps_ahead import DumpStream, PreviousDumpsCopy, reused_prefix, write_dump_start
from claimgraph.errors import ValidationFailed
from claimgraph.graphparts import read_part
from claimgraph.namespaces import fragment
from claimgraph.ontology_page import render_ontology_page
from claimgraph.publishing import STORE_DIR, write_atomically, write_store
from claimgraph.resources import ONTOLOGY, SHAPES, project_file
from claimgraph.search import SEARCH_FILE, Row, write_search_index
from claimgraph.site import write_site
from claimgraph.validation import ontology_graph


@dataclass
class BuildResult:
    assembled: Assembled
    out_dir: Path
    files: dict[str, Path]
    quad_count: int


def _manifest(assembled: Assembled, files: dict[str, Path], quad_count: int, version: str,
              dumps: set[Path]) -> dict[str, object]:
    """build.json. Every file but the dumps with its SHA-256; the dumps (gigabytes for a large
    corpus: hashing them would cost a one-article rebuild more than everything else) with
    their size, and each graph's N-Quads with its SHA-256 in cache/index.json."""
    return {
        "claimgraph": __version__,
        "base_iri": assembled.iris.base,
        "built_at": assembled.built_at.isoformat().replace("+00:00", "Z"),
        "version": version,
        "articles": [a.slug for a in assembled.files.articles],
        "entities": len(assembled.files.entities),
        "quads": quad_count,
        "graphs": dict(sorted(assembled.sizes.items())),
        "files": {p.name: file_sha256(p) for p in files.values() if p not in dumps},
        "dumps": {p.name: p.stat().st_size for p in files.values() if p in dumps},
        "sources": {s.relative_path: s.sha256 for s in assembled.files.sources},
    }


@contextmanager
def _open_store(path: Path) -> Iterator[ox.Store]:
    store = ox.Store(str(path))
    try:
        yield store
    finally:
        del store  # closes the RocksDB files before the output folder is moved


def _version(assembled: Assembled) -> str:
    """A short name for the data: it changes when any graph's bytes do."""
    digest = hashlib.sha256()
    for iri in sorted(assembled.graph_files):
        digest.update(f"{iri} {assembled.digests.get(iri, '')}\n".encode())
    return digest.hexdigest()[:12]


def _previous_manifest(out_dir: Path, base: str) -> dict | None:
    """The previous build's manifest, when its store can be updated rather than reloaded."""
    try:
        manifest = json.loads((out_dir / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("base_iri") != base or not (out_dir / STORE_DIR).is_dir():
        return None
    return manifest if isinstance(manifest.get("graphs"), dict) else None


def _publish_index(assembled: Assembled, tmp: Path, previous: Path | None, gone: set[str]) -> None:
    """The search index: from the previous one with the changed graphs' rows replaced, or whole."""
    def parsed(data: bytes) -> list[Row]:
        return [tuple(row) for row in json.loads(data)]

    def rows(graph_file: Path) -> list[Row]:
        return parsed(read_part(graph_file, "search"))

    shared = ("shared", parsed((tmp / GRAPHS_DIR / SHARED_SEARCH).read_bytes()))
    articles = {iri: path for iri, path in assembled.graph_files.items() if not path.name.startswith(SHARED_STEM)}
    if previous is not None and (previous / SEARCH_FILE).is_file():
        try:
            write_search_index(tmp / SEARCH_FILE, [shared, *((iri, rows(articles[iri]))
                                                       for iri in sorted(assembled.changed & set(articles)))],
                        previous=previous / SEARCH_FILE, dropped=gone)
            return
        except sqlite3.Error:
            pass  # an index from an older claimgraph: write it whole
    # a graph's rows are read as the index takes them, not all first
    write_search_index(tmp / SEARCH_FILE,
                       chain([shared], ((iri, rows(path)) for iri, path in sorted(articles.items()))))


def _write_the_rest(assembled: Assembled, tmp: Path, out_dir: Path, previous: Path | None, site: bool,
                    progress: Progress | None) -> tuple[dict[str, Path], int, str]:
    """Everything of a build's output but the dumps and the manifest, into ``tmp``: the
    validation report, the ontology and shapes, the store, the site and the search index.
    Returns the files written, the store's quad count and the data's version."""
    files: dict[str, Path] = {}
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
    before = _previous_manifest(out_dir, assembled.iris.base) if previous else None
    if before and len(assembled.changed) > len(assembled.graph_files) // 5:
        before = None  # most graphs changed (new rules or registry): a bulk load is faster
    gone = set(before["graphs"]) - set(assembled.graph_files) if before else set()
    replace = ({iri: assembled.graph_files[iri] for iri in assembled.changed} | dict.fromkeys(gone)
               if before else None)
    # The search index is written while the store loads: the store's last step (compaction)
    # keeps one core busy, and the index (seconds at 10,000 articles) fills the other.
    with ThreadPoolExecutor(1) as index_pool:
        index_written = index_pool.submit(_in_background, _publish_index, assembled, tmp,
                                          out_dir if before else None, gone)
        quad_count = write_store(tmp / STORE_DIR, [path for _, path in sorted(assembled.graph_files.items())],
                                 sum(assembled.sizes.values()),
                                 out_dir / STORE_DIR if before else None, replace)
    index_written.result()  # re-raises a failed index here
    files["search"] = tmp / SEARCH_FILE
    version = _version(assembled)
    if site:
        if progress:
            progress("writing the site", 0, 1)
        with _open_store(tmp / STORE_DIR) as store:
            write_site(store, assembled.iris, tmp, version)
    return files, quad_count, version


def _in_background(work: Callable[..., None], *args: object) -> None:
    """``work(*args)`` in the calling thread at a lower scheduling priority (Linux's is per
    thread), so that it takes a core the foreground leaves idle rather than one it needs."""
    with contextlib.suppress(AttributeError, OSError):  # no setpriority, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + 10)
    work(*args)


def build(data_dir: Path, out_dir: Path, base_iri: str | None = None, site: bool = True,
          progress: Progress | None = None) -> BuildResult:
    """Build and publish into ``out_dir``, atomically: a violation or any failure leaves the
    previous output as it was."""
    out_dir = Path(out_dir)
    holder: dict[str, object] = {}

    def write(tmp: Path) -> None:
        previous = out_dir if out_dir.is_dir() else None
        # A rebuild writes the start of its dumps ahead, in threads: the previous dumps from
        # their start while the sources are scanned, cut at the first changed graph once that
        # is known, then all the article graphs while the shared graphs are made. The dumps
        # are otherwise the longest stage after the assembly.
        copy = PreviousDumpsCopy(previous, tmp) if previous is not None else None
        prefill_pool = ThreadPoolExecutor(1)
        starts: list[Future[DumpStart | None]] = []

        def start_dumps(reused: dict[str, Path]) -> None:
            if previous is not None and copy is not None:
                starts.append(prefill_pool.submit(lambda: copy.stop_at(reused_prefix(previous, reused))))

        def go_on_with_dumps(articles: dict[str, Path]) -> None:
            if previous is not None and starts:
                earlier = starts[-1]
                starts.append(prefill_pool.submit(
                    lambda: write_dump_start(sorted(articles.items()), tmp, previous, earlier.result())))

        # With no previous output, the dumps are written as the graphs are made (DumpStream).
        stream = DumpStream(tmp) if previous is None else None
        try:
            assembled = assemble(data_dir, base_iri, work_dir=tmp, previous=previous, progress=progress,
                                 on_reused=start_dumps, on_articles=go_on_with_dumps,
                                 on_made=stream.add if stream else None)
            holder["assembled"] = assembled
            if not assembled.report.conforms:
                first = assembled.report.violations[0]
                where = first.location
                raise ValidationFailed(
                    f"{len(assembled.report.violations)} violation(s) of the shapes; nothing was written",
                    assembled.report, where.path if where else None, where.line if where else None)
        except BaseException:
            for closing in (stream, copy):
                if closing:
                    closing.close()  # before a failed build's folder is removed
            prefill_pool.shutdown(wait=True, cancel_futures=True)  # likewise
            raise
        prefill_pool.shutdown(wait=False)  # its last start of the dumps is awaited below
        if progress:
            progress("writing dumps", 0, 1)
        # The dumps are copied in the kernel (sendfile), so they are written while the store and
        # the search index are updated: a rebuild's dumps are gigabytes of copying however few
        # graphs changed (most of it in a few long ranges of the previous dumps).
        dumps_pool = ThreadPoolExecutor(1)

        def rest_of_dumps() -> dict[str, Path]:
            start = starts[-1].result() if starts else None  # the store is updated meanwhile
            if copy:
                copy.close()  # (its threads have ended unless it was never cut)
            return write_dumps(list(assembled.graph_files.items()), tmp, previous, start)

        dumps_written = (dumps_pool.submit(stream.finish, list(assembled.graph_files.items())) if stream else
                         dumps_pool.submit(rest_of_dumps))
        try:
            files, quad_count, version = _write_the_rest(assembled, tmp, out_dir, previous, site, progress)
        finally:
            dumps_pool.shutdown(wait=True)
        dumps = dumps_written.result()  # re-raises a failed dump (a full disk) here
        files = {**dumps, **files}
        manifest = _manifest(assembled, files, quad_count, version, set(dumps.values()))
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
