"""The incremental build cache: an article whose sources, registry and rules are unchanged
is not mapped or validated again; its graph file is reused from the previous output.

The cache lives in the build output (``cache/``), so it is swapped in and out with it
atomically, and a failed build never leaves a half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from functools import cache, lru_cache
from pathlib import Path

from claimgraph import __version__
from claimgraph.graphparts import PARTS_SUFFIX
from claimgraph.publishing import GRAPHS_DIR
from claimgraph.records import ArticleFiles, Corpus, CorpusFiles, SourceLocation
from claimgraph.resources import DATASET_CHECKS, ONTOLOGY, SCHEMAORG_VOCAB, SHAPES, project_file
from claimgraph.validation import Finding

CACHE_DIR = "cache"
INDEX = "cache/index.json"


# the files a graph leaves in the cache: its N-Quads, and its dump parts and search rows
GRAPH_FILES = (".nq", PARTS_SUFFIX)


def rules_digest(corpus: Corpus | CorpusFiles, base: str) -> str:
    """What every article's result depends on besides its own files: the registry, the
    shapes, the vocabularies, the base IRI and claimgraph's version."""
    digest = hashlib.sha256(f"{__version__}\n{base}\n{_code_digest()}\n".encode())
    for source in corpus.sources:
        if not source.relative_path.startswith("articles/"):
            digest.update(f"{source.relative_path}:{source.sha256}\n".encode())
    for relative in (SHAPES, DATASET_CHECKS, ONTOLOGY, SCHEMAORG_VOCAB):
        digest.update(hashlib.sha256(project_file(relative).read_bytes()).hexdigest().encode())
    return digest.hexdigest()


# code that never shapes a cached graph, its dump parts or its search rows: of documents/,
# only jsonld_doc.py does (it compacts the JSON-LD dump's parts); the rest describes and
# renders resources for the server and the site
_NOT_GRAPH_CODE = ("web/", "remote/", "linking/", "cli.py", "site.py", "build.py", "dumps.py", "dumps_ahead.py",
                   "publishing.py",
                   "query_pages.py", "__main__.py", "ontology_page.py", "documents/")
_GRAPH_CODE_AMONG_THOSE = ("documents/__init__.py", "documents/jsonld_doc.py")


def graph_code() -> list[Path]:
    """claimgraph's own modules that make graphs, their dump parts or their search rows."""
    package = Path(__file__).parent
    return [path for path in sorted(package.rglob("*.py"))
            if not (name := path.relative_to(package).as_posix()).startswith(_NOT_GRAPH_CODE)
            or name in _GRAPH_CODE_AMONG_THOSE]


@cache
def _code_digest() -> str:
    """claimgraph's own code that makes graphs: a cached graph is reused only by such code as
    made it (serving or publishing code may change without a rebuild)."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in graph_code():
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def article_key(article: ArticleFiles, rules: str) -> str:
    parts = [rules] + [f"{s.relative_path}:{s.sha256}" for s in article.sources]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def finding_to_json(finding: Finding) -> dict:
    data = asdict(finding)
    if finding.location:
        data["location"] = [str(finding.location.path), finding.location.line]
    return data


def finding_from_json(data: dict) -> Finding:
    location = data.pop("location", None)
    return Finding(**data, location=SourceLocation(Path(location[0]), location[1]) if location else None)


def _read_index_file(out_dir: Path) -> object:
    """The parsed ``cache/index.json`` of ``out_dir`` (None if unreadable). Parsed once per
    version of the file: a rebuild asks it for its sources, articles and registry, and at
    10,000 articles each parse takes a seventh of a second."""
    path = out_dir / INDEX
    try:
        info = path.stat()
    except OSError:
        return None
    return _parsed_index(str(path), info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=2)
def _parsed_index(path: str, size: int, mtime_ns: int) -> object:
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def read_index(out_dir: Path) -> dict[str, dict]:
    """The previous build's cache entries whose graph files are still there."""
    index = _read_index_file(out_dir)
    entries = index.get("articles", {}) if isinstance(index, dict) else {}
    return {slug: entry for slug, entry in entries.items()
            if isinstance(entry, dict) and _intact(out_dir / GRAPHS_DIR / f"{slug}.nq", entry)}


def file_stamps(graph_file: Path) -> dict[str, list[int]]:
    """Each cached file of a graph with its size and modification time (nanoseconds)."""
    stem = str(graph_file)[: -len(".nq")]
    stamps = {}
    for suffix in GRAPH_FILES:
        info = os.stat(stem + suffix)
        stamps[suffix.lstrip(".")] = [info.st_size, info.st_mtime_ns]
    return stamps


def _intact(path: Path, entry: dict) -> bool:
    """A cached graph is reused only if its files are as the build wrote them (hard links
    keep a file's size and time from build to build; an edited, truncated or replaced file
    changes them): a damaged file is mapped again rather than published. Checking the
    files' stamps rather than hashing their bytes keeps a rebuild's cost to the articles
    that changed."""
    try:
        return (isinstance(entry.get("sha256"), str) and isinstance(entry.get("date"), str)
                and file_stamps(path) == entry.get("files"))
    except OSError:
        return False


def reuse(previous_out: Path, new_out: Path, slug: str) -> Path:
    """Bring a cached graph's files into the new output (hard links: no copy of the bytes)."""
    source, target = f"{previous_out}/{GRAPHS_DIR}/{slug}", f"{new_out}/{GRAPHS_DIR}/{slug}"
    for suffix in GRAPH_FILES:
        try:
            os.link(source + suffix, target + suffix)
        except OSError:
            shutil.copyfile(source + suffix, target + suffix)
    return Path(f"{target}.nq")


def read_registry_entry(out_dir: Path) -> dict | None:
    """The previous build's registry validation (its rules digest and warnings)."""
    index = _read_index_file(out_dir)
    entry = index.get("registry") if isinstance(index, dict) else None
    return entry if isinstance(entry, dict) else None


def read_source_stamps(out_dir: Path) -> tuple[dict[str, list], int]:
    """The previous build's source stamps (see :func:`claimgraph.sources.scan_corpus`) and
    when its scan began; none when there is no readable index."""
    index = _read_index_file(out_dir)
    try:
        entry = index.get("sources")  # type: ignore[union-attr]
        files, scanned_ns = entry["files"], int(entry["scanned_ns"])
    except (ValueError, AttributeError, KeyError, TypeError):
        return {}, 0
    return (files, scanned_ns) if isinstance(files, dict) else ({}, 0)


def write_index(out_dir: Path, entries: dict[str, dict], registry: dict,
                stamps: dict[str, list] | None = None, scanned_ns: int = 0) -> None:
    path = out_dir / INDEX
    path.parent.mkdir(parents=True, exist_ok=True)
    # one entry per line, by json's C encoder (the indenting one takes seconds at 10,000 articles)
    lines = [json.dumps(slug) + ":" + json.dumps(entry, sort_keys=True, separators=(",", ":"))
             for slug, entry in sorted(entries.items())]
    sources = {"scanned_ns": scanned_ns, "files": stamps or {}}
    path.write_text('{"articles":{\n' + ",\n".join(lines) + '\n},"registry":' +
                    json.dumps(registry, sort_keys=True, separators=(",", ":")) + ',"sources":' +
                    json.dumps(sources, sort_keys=True, separators=(",", ":")) + "}\n", encoding="utf-8")
