"""The benchmark tools: the synthetic corpus generator and ``bench.py --quick``.

The generator must write a data folder the real build accepts with no violation and no
warning, the same bytes for the same arguments, every excerpt verbatim in its body, and entity
mentions skewed the way real coverage is (a few entities everywhere, most rarely). The bench
script is run end to end at its smallest size, to prove it works (its figures are not judged).
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from claimgraph.build import build
from claimgraph.sources import load_corpus

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
SMALL_REGISTRY = {"outlets": 8, "authors": 30, "pool": 250}


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_corpus", BENCHMARKS / "generate_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_corpus", module)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _annotations(folder: Path):
    """(body, annotations) of each article, read without claimgraph's loader."""
    for text_path in sorted((folder / "articles").glob("*.txt")):
        raw = text_path.read_text(encoding="utf-8")
        _, front, body = raw.split("---\n", 2)
        annotations = yaml.load((text_path.with_name(text_path.name[:-4] + ".annotations.yaml")
                                 ).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        yield yaml.load(front, Loader=yaml.BaseLoader), body.strip("\n").rstrip(), annotations


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generator.generate(first, 30, seed=7)
    generator.generate(second, 30, seed=7)
    generator.generate(other, 30, seed=8)
    assert _digest(first) == _digest(second)
    assert _digest(first) != _digest(other)
    assert len(list((first / "articles").glob("*.txt"))) == 30
    assert len(list((first / "articles").glob("*.annotations.yaml"))) == 30


def test_the_default_corpus_loads_strictly(tmp_path: Path) -> None:
    """The full-size registry (~2,550 entities) and 30 articles pass claimgraph's strict loader."""
    figures = generator.generate(tmp_path / "data", 30, seed=3)
    corpus = load_corpus(tmp_path / "data")
    assert len(corpus.articles) == 30
    assert len(corpus.entities) == figures["entities"] >= 2500
    types = collections.Counter(e.type for e in corpus.entities.values())
    assert types["NewsMediaOrganization"] == 50 and types["Person"] >= 1000
    assert {"Country", "City", "Organization", "GovernmentOrganization", "Legislation", "Event"} <= set(types)
    assert {e.wikidata for e in corpus.entities.values()} == {"unreconciled", "no-item"}  # never a Q-id
    for article in corpus.articles:
        assert 5 <= len(article.claims) <= 15
        assert 1 <= len(article.quotations) <= 4
        assert 1 <= len(article.events) <= 3
        assert len(article.stances) == 1
        assert len(article.body.split("\n\n")) >= 4  # several paragraphs
        assert "“" in article.body  # curly quotes for the quotations


def test_the_generated_corpus_builds_without_violation_or_warning(tmp_path: Path) -> None:
    generator.generate(tmp_path / "data", 30, seed=5, **SMALL_REGISTRY)
    result = build(tmp_path / "data", tmp_path / "dist")
    report = result.assembled.report
    assert report.conforms, "\n".join(map(str, report.violations[:5]))
    assert not report.warnings, "\n".join(map(str, report.warnings[:5]))
    assert len(result.assembled.corpus.articles) == 30
    assert (tmp_path / "dist" / "dataset.nq").stat().st_size > 0


def test_every_excerpt_is_verbatim_in_its_body(tmp_path: Path) -> None:
    generator.generate(tmp_path / "data", 40, seed=11, publish_body=True)
    checked = 0
    for front, body, notes in _annotations(tmp_path / "data"):
        assert front["rights"]["body"] == "publish"
        for section in ("events", "claims", "quotations", "stance"):
            for key, entry in (notes.get(section) or {}).items():
                if "text" not in entry:
                    continue
                text = entry["text"]
                count = sum(1 for i in range(len(body)) if body.startswith(text, i))
                assert count >= 1, f"{key}: {text!r} is not in the body"
                if count > 1:
                    assert 1 <= int(entry["occurrence"]) <= count, key
                else:
                    assert "occurrence" not in entry, key
                checked += 1
    assert checked > 40 * 8


def test_mentions_are_zipf_like(tmp_path: Path) -> None:
    generator.generate(tmp_path / "data", 300, seed=2)
    articles_per_entity: collections.Counter[str] = collections.Counter()
    sizes = []
    for _, _, notes in _annotations(tmp_path / "data"):
        keys: set[str] = set()
        for section in ("events", "claims", "quotations", "stance"):
            for entry in (notes.get(section) or {}).values():
                for field in ("about", "mentions"):
                    keys.update(entry.get(field) or [])
                for field in ("speaker", "same_as"):
                    if field in entry and not entry[field].startswith("defenders-of-"):
                        keys.add(entry[field])
        sizes.append(len(keys))
        articles_per_entity.update(keys)
    assert min(sizes) >= 5 and max(sizes) <= 20
    counts = sorted(articles_per_entity.values(), reverse=True)
    top, median = counts[0], counts[len(counts) // 2]
    assert top >= 10 * median, (top, median)  # a head of very common entities...
    assert sum(c == 1 for c in counts) >= len(counts) // 4  # ...and a long tail mentioned once
    head_share = sum(counts[:20]) / sum(counts)
    assert head_share > 0.2, head_share  # the 1% most mentioned carry a fifth of all mentions


def test_touching_an_article_keeps_it_valid(tmp_path: Path) -> None:
    generator.generate(tmp_path / "data", 3, seed=1, **SMALL_REGISTRY)
    touched = generator.touch_article(tmp_path / "data")
    assert "Correction 1:" in touched.read_text(encoding="utf-8")
    assert len(load_corpus(tmp_path / "data").articles) == 3


def test_bench_quick_runs_end_to_end(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "bench.py"), "--quick", "--out", str(tmp_path / "work"),
                           "--json", str(figures)], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for row in ("full build (s)", "full build per 1,000 articles (s)", "peak memory, build process (MiB)",
                "incremental rebuild, 1 article edited (s)", "SHACL validation / 1,000 articles (s)",
                "store load, pyoxigraph bulk_load (s)", "query claims, a page (ms)", "query claims, whole, once (ms)",
                "query stances after the rebuild, a page (ms)", "query to-reconcile, median (ms)",
                "query dataset-statistics, median (ms)", "build stages at N=20",
                "deref article (Turtle), 1 conn", "deref article (JSON-LD), 4 conn", "simple SELECT, 1 conn",
                "top-20 mentioned (aggregate), 4 conn", "vs oxigraph", "vs rdflib-ep"):
        assert row in out, f"no row {row!r} in:\n{out}"
    data = json.loads(figures.read_text())
    size = data["sizes"]["20"]
    assert size["full_build"]["seconds"] > 0 and size["quads"] > 0
    assert set(size["queries_after_rebuild"]) == {"entities", "people", "stances"}
    assert all(f["median_ms"] > 0 for f in size["queries_after_rebuild"].values())
    serve = size["serve"]
    assert serve["results"]["simple/c1"]["claimgraph"]["rps"] > 0
    if shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph"):
        assert serve["results"]["simple/c1"]["oxigraph"]["rps"] > 0
    if importlib.util.find_spec("rdflib_endpoint") is None:
        assert "skipped rdflib-endpoint" in out
    else:
        assert serve["results"]["simple/c1"]["rdflib-endpoint"]["rps"] > 0
    assert not list(tmp_path.glob("bench-results.json"))  # --json given: nothing else written


def test_bench_lean_run_measures_the_build_and_drops_the_dumps(tmp_path: Path) -> None:
    """The flags for a large N: build, SHACL and store load only, the dumps deleted once sized."""
    figures = tmp_path / "figures.json"
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "bench.py"), "--quick", "--out", str(work), "--keep",
                           "--json", str(figures), "--no-serve", "--no-queries", "--no-rebuild", "--drop-dumps"],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    size = json.loads(figures.read_text())["sizes"]["20"]
    assert size["full_build"]["seconds"] > 0 and size["bulk_load"]["quads"] == size["quads"]
    shacl = size["shacl"]  # pyshacl runs in one thread: its CPU time is within its wall time
    assert 0 < shacl["cpu_per_1000_s"] <= shacl["per_1000_s"] * 1.01 + 0.01
    assert not {"queries", "serve", "incremental", "queries_after_rebuild"} & set(size)
    assert set(size["dumps_mib"]) == {"dataset.nq", "dataset.nt", "dataset.trig", "dataset.ttl", "dataset.jsonld"}
    assert size["output_mib"] > sum(size["dumps_mib"].values())
    assert sorted(p.name for p in (work / "n20" / "dist").glob("dataset.*")) == ["dataset.nq"]
    for row in ("build output on disk (MiB)", "  dataset.jsonld (MiB)", "store load, pyoxigraph bulk_load (s)"):
        assert row in proc.stdout, f"no row {row!r} in:\n{proc.stdout}"
    rebuild_row = next(line for line in proc.stdout.splitlines() if line.startswith("incremental rebuild"))
    assert rebuild_row.split()[-1] == "n/a"  # no rebuild ran
