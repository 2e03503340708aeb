#!/usr/bin/env python3
"""claimgraph's benchmark: build, validate, load, query and serve a synthetic corpus at N articles,
side by side with ``oxigraph serve`` and rdflib-endpoint on the same data.

    .venv/bin/python benchmarks/bench.py [--sizes 1000,10000,100000] [--quick] [--out DIR] [--keep]

For each N it generates a corpus (benchmarks/generate_corpus.py) and measures:

- full build: ``claimgraph build`` in a child process (wall time, the child's peak RSS from
  wait4, the peak summed RSS of its process tree sampled every 0.2 s, CPU time), with timers
  around the pipeline's stages (benchmarks/stages.py; ``--no-timers`` runs the plain CLI);
- incremental rebuild: one article's text edited, then the same build into the same --out
  (after the queries and serving below, which run on the full build's output), and three
  named queries timed again on the store it leaves;
- SHACL validation per 1,000 articles: the time spent inside ``pyshacl.validate`` during the
  build (the schema.org vocabulary check is reported apart);
- store load: ``pyoxigraph.Store.bulk_load`` of dist/dataset.nq into a fresh on-disk store, in a
  child process;
- every named query (queries/*.rq) on the built embedded store: median of several runs;
- serve throughput (requests/s, p50, p99; 1 and 4 connections) against ``claimgraph serve``,
  ``oxigraph serve-read-only --union-default-graph`` and rdflib-endpoint, started on 127.0.0.1:
  dereferencing an article as Turtle and JSON-LD, a simple SELECT, and the top-20 most-mentioned
  entities aggregate; with the ratios claimgraph / oxigraph and claimgraph / rdflib-endpoint.

For a large N on a small machine, ``--no-serve``, ``--no-queries``, ``--no-rebuild`` and
``--drop-dumps`` leave out what needs a second copy of the data on disk or in memory (the
peers' stores, rdflib-endpoint's in-memory graph, a rebuild's new dumps) or hours of queries.

It prints a table and writes the figures as JSON (``--json``, default <out>/bench.json, or
./bench-results.json when --out is a temporary folder). Every server it starts is stopped at the
end, also on an error or Ctrl-C. The load client sends only to 127.0.0.1, with a fixed request
count and a time cap per measurement.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import http.client
import importlib.util
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# timed again on the store a one-article rebuild leaves (a short list: two lists and a join)
AFTER_REBUILD = ("entities", "people", "stances")
sys.path.insert(0, str(HERE))

import generate_corpus  # noqa: E402

LOOPBACK = "127.0.0.1"
BASE_IRI = generate_corpus.BASE_IRI
SCHEMA = "http://schema.org/"
CG = "https://claimgraph.example/ontology#"
SERVERS = ("claimgraph", "oxigraph", "rdflib-endpoint")
DUMP_NAMES = ("dataset.nq", "dataset.nt", "dataset.trig", "dataset.ttl", "dataset.jsonld")

SIMPLE_QUERY = "SELECT ?headline WHERE {{ <{article}> <http://schema.org/headline> ?headline }}"
HEAVY_QUERY = f"""PREFIX schema: <{SCHEMA}>
PREFIX cg: <{CG}>
SELECT ?entity (COUNT(DISTINCT ?article) AS ?articles) WHERE {{
  ?article a schema:OpinionNewsArticle ; schema:mentions ?entity .
  ?entity cg:wikidataStatus ?status .
}} GROUP BY ?entity ORDER BY DESC(?articles) ?entity LIMIT 20"""
WORKLOADS = (  # (key, label, heavy?)
    ("deref-ttl", "deref article (Turtle)", False),
    ("deref-jsonld", "deref article (JSON-LD)", False),
    ("simple", "simple SELECT", False),
    ("aggregate", "top-20 mentioned (aggregate)", True),
)


# --------------------------------------------------------------------------- child processes

_children: dict[int, str] = {}  # pid (= process group) -> what it is, for cleanup


def _stop_group(pid: int, grace: float = 15.0) -> None:
    """Stop a process group this script started (its leader is ``pid``)."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        _children.pop(pid, None)
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done == pid:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # stragglers of the group (workers), or a leader that hung
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    _children.pop(pid, None)


def _stop_all() -> None:
    for pid in list(_children):
        _stop_group(pid)


atexit.register(_stop_all)


def _on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally, which stops the servers


def _rss_mib_tree(root: int) -> float:
    """Summed RSS of ``root`` and all its descendants."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                total += int(f.read().split()[1]) * page
            with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
                todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total / 2**20


@dataclass
class Measured:
    status: int
    wall_s: float
    peak_rss_mib: float  # the largest single process of the tree (wait4's ru_maxrss)
    peak_tree_mib: float  # the largest sampled sum over the tree
    cpu_s: float
    log: Path

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        return ""


def run_measured(cmd: list[str], log: Path, timeout: float | None = None, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` to completion, measuring wall time, peak memory and CPU time."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
        _children[proc.pid] = " ".join(cmd[:4])
        peak_tree = 0.0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not stop.wait(0.2):
                peak_tree = max(peak_tree, _rss_mib_tree(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, lambda: _kill_quietly(proc.pid)) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            stop.set()
            if timer:
                timer.cancel()
            _children.pop(proc.pid, None)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # nothing of the group outlives the run
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(proc.returncode, wall, usage.ru_maxrss / 1024, max(peak_tree, usage.ru_maxrss / 1024),
                    usage.ru_utime + usage.ru_stime, log)


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- HTTP load

@dataclass
class Request:
    method: str
    path: str  # path and query
    headers: dict[str, str]


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    def figures(self) -> dict[str, float | int | str | None]:
        ok = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not ok:
                return None
            return round(ok[min(len(ok) - 1, int(p * len(ok)))] * 1000, 2)

        return {"requests": self.requests, "errors": self.errors, "seconds": round(self.seconds, 3),
                "rps": round(len(ok) / self.seconds, 2) if self.seconds and ok else 0.0,
                "p50_ms": round(statistics.median(ok) * 1000, 2) if ok else None, "p99_ms": pct(0.99),
                "first_error": self.first_error}


def _connection(port: int, timeout: float) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)  # loopback only, always


def load(port: int, requests: list[Request], count: int, concurrency: int, time_cap: float,
         timeout: float = 120.0) -> LoadResult:
    """Send ``count`` requests (cycling through ``requests``) over ``concurrency`` kept-alive
    connections to 127.0.0.1:port, stopping early at ``time_cap`` seconds."""
    result = LoadResult()
    lock = threading.Lock()
    counter = itertools.count()
    deadline = time.perf_counter() + time_cap

    def one(conn: http.client.HTTPConnection, req: Request) -> tuple[int, http.client.HTTPConnection]:
        try:
            conn.request(req.method, req.path, headers=req.headers)
            response = conn.getresponse()
            response.read()
            return response.status, conn
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            with lock:
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
            return 0, _connection(port, timeout)

    def worker(offset: int) -> None:
        conn = _connection(port, timeout)
        _, conn = one(conn, requests[offset % len(requests)])  # warm the connection, not counted
        latencies, errors, sent = [], 0, 0
        while True:
            i = next(counter)
            if i >= count or time.perf_counter() > deadline:
                break
            req = requests[i % len(requests)]
            start = time.perf_counter()
            status, conn = one(conn, req)
            elapsed = time.perf_counter() - start
            sent += 1
            if status == 200:
                latencies.append(elapsed)
            else:
                errors += 1
                if status:
                    with lock:
                        result.first_error = result.first_error or f"HTTP {status} for {req.path[:120]}"
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.requests += sent

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_cap + timeout + 30)
    result.seconds = time.perf_counter() - start
    return result


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30.0
             ) -> tuple[int, bytes]:
    conn = _connection(port, timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float, what: str) -> float:
    """Poll until GET path answers 200; returns the seconds it took."""
    start = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} while starting")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_get(port, path, timeout=5)[0] == 200:
                return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{what} did not answer within {timeout:g} s")
        time.sleep(0.2)


# --------------------------------------------------------------------------- servers

@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    startup_s: float
    requests: dict[str, list[Request]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    out.close()
    _children[proc.pid] = cmd[0]
    return proc


def _q(query: str) -> str:
    return urllib.parse.quote(query, safe="")


def start_claimgraph(dist: Path, work: Path, timeout: float) -> Server:
    log = work / "serve-claimgraph.log"
    proc = _spawn([sys.executable, "-m", "claimgraph", "serve", "--out", str(dist), "--host", LOOPBACK,
                   "--port", "0", "--query-timeout", "120"], log)
    start = time.perf_counter()
    port = None
    while port is None:
        match = re.search(rb"at http://127\.0\.0\.1:(\d+)/", log.read_bytes())
        if match:
            port = int(match.group(1))
        elif proc.poll() is not None or time.perf_counter() - start > timeout:
            raise RuntimeError(f"claimgraph serve did not start: {log.read_text(errors='replace')[-800:]}")
        else:
            time.sleep(0.1)
    wait_ready(port, "/healthz", proc, timeout, "claimgraph serve")
    return Server("claimgraph", port, proc, time.perf_counter() - start)


def start_oxigraph(binary: str, nq: Path, work: Path, timeout: float) -> tuple[Server, dict[str, float]]:
    location = work / "oxigraph-server-store"
    shutil.rmtree(location, ignore_errors=True)
    loaded = run_measured([binary, "load", "--location", str(location), "--file", str(nq)],
                          work / "oxigraph-load.log", timeout=timeout)
    if loaded.status != 0:
        raise RuntimeError(f"oxigraph load failed: {loaded.tail()}")
    optimized = run_measured([binary, "optimize", "--location", str(location)], work / "oxigraph-optimize.log",
                             timeout=timeout)
    port = free_port()
    proc = _spawn([binary, "serve-read-only", "--location", str(location), "--bind", f"{LOOPBACK}:{port}",
                   "--union-default-graph", "--timeout-s", "120"], work / "serve-oxigraph.log")
    ready = wait_ready(port, "/query?query=" + _q("ASK {}"), proc, timeout, "oxigraph serve-read-only")
    return Server("oxigraph", port, proc, ready), {"load_s": round(loaded.wall_s, 3),
                                                     "optimize_s": round(optimized.wall_s, 3),
                                                     "load_peak_rss_mib": round(loaded.peak_rss_mib, 1)}


def start_rdflib_endpoint(nq: Path, work: Path, timeout: float) -> Server:
    port = free_port()
    proc = _spawn([sys.executable, "-m", "rdflib_endpoint", "serve", str(nq), "--host", LOOPBACK,
                   "--port", str(port)], work / "serve-rdflib-endpoint.log")
    ready = wait_ready(port, "/?query=" + _q("ASK {}"), proc, timeout, "rdflib-endpoint")
    return Server("rdflib-endpoint", port, proc, ready)


def workload_requests(server: str, articles: list[str], heavy: int, tag: str) -> dict[str, list[Request]]:
    """The same questions, asked the way each server answers them. Every request is a new
    question — a different article, or the aggregate with a different comment — so that what
    is measured is answering it, not a cache (claimgraph keeps documents and answers)."""
    ttl, jsonld = "text/turtle", "application/ld+json"
    results = {"Accept": "application/sparql-results+json"}
    sparql = {"claimgraph": "/sparql", "oxigraph": "/query", "rdflib-endpoint": "/"}[server]
    out: dict[str, list[Request]] = {}
    for key, accept in (("deref-ttl", ttl), ("deref-jsonld", jsonld)):
        reqs = []
        for slug in articles:
            if server == "claimgraph":  # the article's IRI, dereferenced with content negotiation
                path = f"/article/{slug}"
            elif server == "oxigraph":  # the article's named graph, by the Graph Store Protocol
                path = "/store?graph=" + _q(f"{BASE_IRI}graph/article/{slug}")
            else:  # the article's named graph, by a CONSTRUCT
                path = sparql + "?query=" + _q(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BASE_IRI}graph/"
                                                f"article/{slug}> {{ ?s ?p ?o }} }}")
            reqs.append(Request("GET", path, {"Accept": accept}))
        out[key] = reqs
    out["simple"] = [Request("GET", sparql + "?query=" + _q(SIMPLE_QUERY.format(article=f"{BASE_IRI}article/{s}")),
                             results) for s in articles]
    out["aggregate"] = [Request("GET", sparql + "?query=" + _q(f"{HEAVY_QUERY}\n# request {tag}-{i}"), results)
                        for i in range(heavy + 8)]
    return out


# --------------------------------------------------------------------------- the stages

def claimgraph_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "claimgraph", *args]


def sample_articles(data: Path, n: int) -> list[str]:
    slugs = sorted(p.name[:-4] for p in (data / "articles").glob("*.txt"))
    step = max(1, len(slugs) // n)
    return slugs[::step][:n]


def time_queries(store_dir: Path, runs: int, cap_s: float, limit_s: float, work: Path,
                 only: tuple[str, ...] | None = None, whole: bool = False) -> dict[str, dict]:
    """Every named query (or those in ``only``), timed in a child process
    (benchmarks/query_timer.py); a query still running after ``limit_s`` is recorded as timed
    out, and the child restarted for the rest. A paged listing is timed a page at a time, and
    with ``whole`` its whole answer once too."""
    import select

    figures: dict[str, dict] = {}
    done: list[str] = []
    if only is not None:
        done = [p.stem for p in (HERE.parent / "queries").glob("*.rq") if p.stem not in only]
    while True:
        cmd = [sys.executable, str(HERE / "query_timer.py"), str(store_dir), BASE_IRI, "--runs", str(runs),
               "--cap", str(cap_s), *(["--whole"] if whole else []), "--skip", *done]
        with open(work / "queries.log", "ab") as errors:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, start_new_session=True)
        _children[proc.pid] = "query_timer"
        running, started, buffer, timed_out = None, time.monotonic(), b"", False
        try:
            while True:
                wait = max(0.0, limit_s - (time.monotonic() - started)) if running else limit_s
                ready, _, _ = select.select([proc.stdout], [], [], min(wait, 5.0) if running else 5.0)
                if not ready:
                    if running and time.monotonic() - started > limit_s:
                        figures[running] = {"timeout_s": limit_s}
                        done.append(running)
                        timed_out = True
                        break
                    if proc.poll() is not None:
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    record = json.loads(line)
                    if "start" in record:
                        running, started = record["start"], time.monotonic()
                    else:
                        name = record.pop("name")
                        figures[name] = record
                        done.append(name)
                        running = None
        finally:
            _stop_group(proc.pid, grace=2.0)
            proc.stdout.close()
        if not timed_out:
            if running:  # the child died inside a query
                figures[running] = {"error": f"the query process exited ({proc.returncode}); see queries.log"}
            return figures


def bulk_load_time(nq: Path, work: Path, timeout: float) -> dict[str, float]:
    target = work / "bulk-load-store"
    shutil.rmtree(target, ignore_errors=True)
    script = ("import sys, time, pyoxigraph as ox\n"
              "store = ox.Store(sys.argv[1])\n"
              "start = time.perf_counter()\n"
              "store.bulk_load(path=sys.argv[2], format=ox.RdfFormat.N_QUADS)\n"
              "store.flush()\n"
              "print('LOADED', time.perf_counter() - start, len(store))\n")
    measured = run_measured([sys.executable, "-c", script, str(target), str(nq)], work / "bulk-load.log",
                            timeout=timeout)
    match = re.search(r"LOADED ([0-9.]+) (\d+)", measured.log.read_text(errors="replace"))
    shutil.rmtree(target, ignore_errors=True)
    if measured.status != 0 or not match:
        raise RuntimeError(f"bulk_load failed: {measured.tail()}")
    return {"seconds": round(float(match.group(1)), 3), "quads": int(match.group(2)),
            "process_wall_s": round(measured.wall_s, 3), "peak_rss_mib": round(measured.peak_rss_mib, 1)}


def stage_table(stages: dict) -> list[dict[str, object]]:
    """The wrapped steps, heaviest (exclusive time) first."""
    rows = sorted(stages.get("stages", []), key=lambda s: -s["exclusive_s"])
    return [r for r in rows if r["exclusive_s"] >= 0.005 or r["inclusive_s"] >= 0.05]


def summed(stages: dict, name: str, key: str = "inclusive_s") -> float | None:
    """Seconds in ``name``, in the build process and (summed) in its workers: wall time, or
    with ``key="cpu_s"`` the CPU time of the calling thread."""
    found = [s.get(key) for s in stages.get("stages", []) if s["name"] in (name, f"{name} [workers]")]
    return round(sum(found), 3) if found and None not in found else None


def measure_size(n: int, args: argparse.Namespace, work: Path, log: Logger) -> dict[str, object]:
    fig: dict[str, object] = {"articles": n}
    data, dist = work / "data", work / "dist"
    timeout = args.build_timeout
    # -- corpus
    shutil.rmtree(data, ignore_errors=True)
    log(f"[N={n:,}] generating the corpus")
    gen = generate_corpus.generate(data, n, args.seed, args.publish_body, **args.registry)
    fig["corpus"] = gen
    fig["generate_s"] = gen["seconds"]
    # -- full build
    shutil.rmtree(dist, ignore_errors=True)
    log(f"[N={n:,}] full build")
    stages_json = work / "stages-full.json"
    # the build is map, validate, load and dump: the static site (one file per
    # resource and format) is another product, measured only with --site
    build_args = ["build", "--data", str(data), "--out", str(dist), *([] if args.site else ["--no-site"])]
    if args.no_timers:
        cmd = claimgraph_cmd(*build_args)
    else:
        cmd = [sys.executable, str(HERE / "stages.py"), "--json", str(stages_json), "--", *build_args]
    full = run_measured(cmd, work / "build-full.log", timeout=timeout)
    if full.status != 0:
        raise RuntimeError(f"the full build failed (exit {full.status}):\n{full.tail()}")
    built = re.search(r"built (\d+) article\(s\)(?: \(\d+ unchanged\))?, (\d+) entities, (\d+) quads",
                      full.log.read_text(errors="replace"))
    fig["quads"] = int(built.group(3)) if built else None
    fig["full_build"] = {"seconds": round(full.wall_s, 3), "per_1000_s": round(full.wall_s / max(n, 1) * 1000, 3),
                         "peak_rss_mib": round(full.peak_rss_mib, 1), "peak_tree_mib": round(full.peak_tree_mib, 1),
                         "cpu_s": round(full.cpu_s, 3), "timers": not args.no_timers}
    if args.no_timers:
        log(f"[N={n:,}] validate (instrumented, for the SHACL figure)")
        v = run_measured([sys.executable, str(HERE / "stages.py"), "--json", str(stages_json), "--", "validate",
                          "--data", str(data)], work / "validate.log", timeout=timeout)
        if v.status != 0:
            raise RuntimeError(f"validate failed (exit {v.status}):\n{v.tail()}")
    stages = json.loads(stages_json.read_text()) if stages_json.is_file() else {}
    fig["stages"] = stage_table(stages)
    shacl = summed(stages, "pyshacl.validate")
    shacl_cpu = summed(stages, "pyshacl.validate", "cpu_s")
    fig["shacl"] = {"seconds": shacl, "per_1000_s": round(shacl / max(n, 1) * 1000, 3) if shacl is not None else None,
                    "cpu_per_1000_s": round(shacl_cpu / max(n, 1) * 1000, 3) if shacl_cpu is not None else None,
                    "vocabulary_check_s": summed(stages, "SchemaVocabulary.check_triples"),
                    "worker_processes": stages.get("worker_processes", 0)}
    fig["full_build"]["worker_peak_rss_mib"] = stages.get("worker_peak_rss_mib")
    fig["dumps_mib"] = {f.name: round(f.stat().st_size / 2**20, 1) for f in sorted(dist.glob("dataset.*"))}
    fig["output_mib"] = round(_tree_bytes(dist) / 2**20, 1)
    if args.drop_dumps:  # what is left is measured on the store; dataset.nq is the load's input
        for dump in dist.glob("dataset.*"):
            if dump.name != "dataset.nq":
                dump.unlink()
    # -- store load
    nq = dist / "dataset.nq"
    log(f"[N={n:,}] pyoxigraph bulk_load of dataset.nq")
    fig["bulk_load"] = bulk_load_time(nq, work, timeout)
    # -- named queries on the embedded store, and serving: on the full build's output. A
    # one-article rebuild swaps a graph into the previous store without compacting it again
    # (that would cost 11-18 s at 10,000 articles), which slows queries until the next full
    # build; that is measured apart, after the rebuild.
    if not args.no_queries:
        log(f"[N={n:,}] named queries on the embedded store")
        fig["queries"] = time_queries(dist / "store", args.query_runs, args.query_cap, args.query_timeout, work,
                                      whole=True)
    if not args.no_serve:
        fig["serve"] = measure_serving(dist, data, work, args, log, n)
    if args.no_rebuild:
        return fig
    # -- incremental rebuild
    touched = generate_corpus.touch_article(data)
    log(f"[N={n:,}] incremental rebuild after editing {touched.name}")
    inc = run_measured(claimgraph_cmd(*build_args), work / "build-incremental.log", timeout=timeout)
    if inc.status != 0:
        raise RuntimeError(f"the incremental rebuild failed (exit {inc.status}):\n{inc.tail()}")
    manifest = json.loads((dist / "build.json").read_text())
    edited = hashlib.sha256(touched.read_bytes()).hexdigest()
    fig["incremental"] = {"seconds": round(inc.wall_s, 3), "share_of_full": round(inc.wall_s / full.wall_s, 4),
                          "peak_rss_mib": round(inc.peak_rss_mib, 1), "touched": touched.name,
                          "edit_in_build": manifest.get("sources", {}).get(f"articles/{touched.name}") == edited}
    if not fig["incremental"]["edit_in_build"]:
        log(f"[N={n:,}] warning: build.json does not carry the edited article's new hash")
    if not args.no_queries:
        log(f"[N={n:,}] named queries {', '.join(AFTER_REBUILD)} on the rebuilt store")
        fig["queries_after_rebuild"] = time_queries(dist / "store", args.query_runs, args.query_cap,
                                                    args.query_timeout, work, only=AFTER_REBUILD)
    return fig


def _tree_bytes(folder: Path) -> int:
    """The bytes of the files under ``folder``, each hard-linked file once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in folder.rglob("*"):
        info = path.lstat()
        if path.is_file() and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_size
    return total


def measure_serving(dist: Path, data: Path, work: Path, args: argparse.Namespace, log: Logger, n: int
                    ) -> dict[str, object]:
    # distinct articles spread over the corpus, a different half for each connection count
    articles = sample_articles(data, 2 * (args.requests + 8))
    halves = {1: articles[0::2], 4: articles[1::2]}
    servers: list[Server] = []
    out: dict[str, object] = {"servers": {}, "results": {}}
    oxigraph = shutil.which("oxigraph", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    have_rdflib_endpoint = importlib.util.find_spec("rdflib_endpoint") is not None
    try:
        log(f"[N={n:,}] starting claimgraph serve")
        servers.append(start_claimgraph(dist, work, args.server_timeout))
        if oxigraph:
            log(f"[N={n:,}] loading and starting oxigraph serve-read-only")
            server, loading = start_oxigraph(oxigraph, dist / "dataset.nq", work, args.server_timeout)
            servers.append(server)
            out["servers"]["oxigraph"] = loading
        else:
            out["servers"]["oxigraph"] = {"skipped": "the oxigraph binary is not installed (pip install oxigraph)"}
        if have_rdflib_endpoint:
            log(f"[N={n:,}] starting rdflib-endpoint (parses dataset.nq into memory)")
            servers.append(start_rdflib_endpoint(dist / "dataset.nq", work, args.server_timeout))
        else:
            out["servers"]["rdflib-endpoint"] = {
                "skipped": "rdflib-endpoint is not installed (pip install rdflib-endpoint)"}
        for server in servers:
            info = out["servers"].setdefault(server.name, {})
            info["startup_s"] = round(server.startup_s, 3)
            info["rss_mib"] = round(_rss_mib_tree(server.proc.pid), 1)
        for key, label, heavy in WORKLOADS:
            count, cap = (args.heavy_requests, args.heavy_cap) if heavy else (args.requests, args.cap)
            for conc in (1, 4):
                row: dict[str, object] = {}
                for server in servers:
                    log(f"[N={n:,}] {server.name}: {label}, {conc} connection(s)")
                    requests = workload_requests(server.name, halves[conc], args.heavy_requests, f"c{conc}")[key]
                    result = load(server.port, requests, count, conc, cap)
                    row[server.name] = result.figures()
                out["results"][f"{key}/c{conc}"] = row
    finally:
        for server in servers:
            _stop_group(server.proc.pid)
    return out


# --------------------------------------------------------------------------- report

class Logger:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"  {time.monotonic() - self.start:7.1f}s  {message}", file=sys.stderr, flush=True)


def _num(value: object, fmt: str = "{:,.2f}") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return fmt.format(value)


def render(results: dict[str, object]) -> str:
    sizes: dict[str, dict] = results["sizes"]  # type: ignore[assignment]
    ns = list(sizes)
    lines: list[str] = []
    head = f"{'':44}" + "".join(f"{'N=' + format(int(n), ','):>16}" for n in ns)

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:44}" + "".join(f"{v:>16}" for v in values))

    def get(fig: dict, *path: str) -> object:
        for p in path:
            if not isinstance(fig, dict) or p not in fig:
                return None
            fig = fig[p]
        return fig

    meta = results["meta"]
    lines.append(f"claimgraph benchmark — {meta['machine']} — seed {meta['seed']}"
                 f"{' — quick' if meta.get('quick') else ''}")
    lines.append("")
    lines.append(head)
    table = [
        ("quads", ("quads",), "{:,.0f}"),
        ("generate corpus (s)", ("generate_s",), "{:,.2f}"),
        ("full build (s)", ("full_build", "seconds"), "{:,.1f}"),
        ("full build per 1,000 articles (s)", ("full_build", "per_1000_s"), "{:,.1f}"),
        ("peak memory, build process (MiB)", ("full_build", "peak_rss_mib"), "{:,.0f}"),
        ("peak memory, build process tree (MiB)", ("full_build", "peak_tree_mib"), "{:,.0f}"),
        ("build CPU time (s)", ("full_build", "cpu_s"), "{:,.1f}"),
        ("incremental rebuild, 1 article edited (s)", ("incremental", "seconds"), "{:,.1f}"),
        ("incremental / full build (%)", ("incremental", "share_of_full"), "{:.1%}"),
        ("SHACL validation, summed over processes (s)", ("shacl", "seconds"), "{:,.1f}"),
        ("SHACL validation / 1,000 articles (s)", ("shacl", "per_1000_s"), "{:,.2f}"),
        ("  the same, CPU time (s)", ("shacl", "cpu_per_1000_s"), "{:,.2f}"),
        ("schema.org vocabulary check (s)", ("shacl", "vocabulary_check_s"), "{:,.2f}"),
        ("store load, pyoxigraph bulk_load (s)", ("bulk_load", "seconds"), "{:,.2f}"),
        ("build output on disk (MiB)", ("output_mib",), "{:,.0f}"),
        *((f"  {name} (MiB)", ("dumps_mib", name), "{:,.0f}") for name in DUMP_NAMES),
    ]
    for label, path, fmt in table:
        row(label, [_num(get(sizes[n], *path), fmt) for n in ns])
    for key, label in (("queries", "query {}, median (ms)"),
                       ("queries_after_rebuild", "query {} after the rebuild (ms)")):
        for name in sorted({q for n in ns for q in (get(sizes[n], key) or {})}):
            figs = [get(sizes[n], key, name) or {} for n in ns]
            paged = any("pages" in fig for fig in figs)
            values = [_num(fig.get("median_ms"), "{:,.1f}") if "median_ms" in fig
                      else f">{fig['timeout_s']:g} s" if "timeout_s" in fig
                      else ("error" if "error" in fig else "skipped" if "skipped" in fig else "n/a") for fig in figs]
            # a paged listing: what a client asking for a page waits (keys query included)
            row(label.format(name).replace(" (ms)", ", a page (ms)").replace(", median", "") if paged
                else label.format(name), values)
            if any("whole_ms" in fig for fig in figs):
                row(f"query {name}, whole, once (ms)", [_num(fig.get("whole_ms"), "{:,.1f}") for fig in figs])
    # where the build's time goes
    for n in ns:
        stages = get(sizes[n], "stages") or []
        wall = get(sizes[n], "full_build", "seconds") or 0
        if not stages:
            continue
        lines.append("")
        lines.append(f"build stages at N={int(n):,} (exclusive time; wrapped functions, heaviest first; "
                     "[workers]: summed over worker processes)")
        lines.append(f"  {'stage':52}{'calls':>9}{'excl s':>10}{'incl s':>10}{'% wall':>8}{'peak MiB':>10}")
        for s in stages[:14]:
            share = s["exclusive_s"] / wall if wall else 0
            lines.append(f"  {s['name'][:52]:52}{s['calls']:>9,}{s['exclusive_s']:>10.2f}{s['inclusive_s']:>10.2f}"
                         f"{share:>8.1%}{s['hwm_mib_after']:>10,.0f}")
    # serving
    for n in ns:
        serve = get(sizes[n], "serve")
        if not serve:
            continue
        lines.append("")
        lines.append(f"serving at N={int(n):,}: requests/s, p50 ms, p99 ms; ratio = claimgraph req/s ÷ peer's")
        servers = serve["servers"]
        notes = [f"{name}: {info['skipped']}" for name, info in servers.items() if "skipped" in info]
        present = [s for s in SERVERS if s in servers and "skipped" not in servers[s]] or ["claimgraph"]
        if "claimgraph" not in present:
            present.insert(0, "claimgraph")
        header = f"  {'workload':38}" + "".join(f"{s:>26}" for s in present)
        header += f"{'vs oxigraph':>13}{'vs rdflib-ep':>14}"
        lines.append(header)
        for key, label, _ in WORKLOADS:
            for conc in (1, 4):
                cells = serve["results"].get(f"{key}/c{conc}", {})
                text = f"  {label + f', {conc} conn':38}"
                for s in present:
                    f = cells.get(s)
                    if not f:
                        text += f"{'n/a':>26}"
                        continue
                    err = f" !{f['errors']}" if f["errors"] else ""
                    cell = (f"{_num(f['rps'], '{:,.1f}')} / {_num(f['p50_ms'], '{:.1f}')} / "
                            f"{_num(f['p99_ms'], '{:.1f}')}{err}")
                    text += f"{cell:>26}"
                cg = (cells.get("claimgraph") or {}).get("rps")
                for peer in ("oxigraph", "rdflib-endpoint"):
                    other = (cells.get(peer) or {}).get("rps")
                    ratio = f"{cg / other:.2f}x" if cg and other else "n/a"
                    text += f"{ratio:>13}" if peer == "oxigraph" else f"{ratio:>14}"
                lines.append(text)
        for name, info in servers.items():
            if "startup_s" in info:
                extra = ""
                if "load_s" in info:
                    extra = f", oxigraph load {info['load_s']:.1f} s + optimize {info['optimize_s']:.1f} s"
                lines.append(f"  {name}: ready in {info['startup_s']:.1f} s{extra}, RSS {info['rss_mib']:,.0f} MiB")
        for note in notes:
            lines.append(f"  skipped {note}")
        errors = [(k, s, f["first_error"]) for k, row_ in serve["results"].items() for s, f in row_.items()
                  if f.get("first_error")]
        for k, s, e in errors[:6]:
            lines.append(f"  error {s} {k}: {e}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated N (default: 1000,10000,100000)")
    parser.add_argument("--quick", action="store_true",
                        help="N=20 with a small registry and few requests: proves the script works (< ~60 s)")
    parser.add_argument("--out", type=Path, help="work folder for corpora, builds and logs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (default: removed at the end)")
    parser.add_argument("--json", type=Path, help="where to write the figures (default: <out>/bench.json, "
                        "or ./bench-results.json without --out)")
    parser.add_argument("--seed", default="1", help="the corpus seed (default: 1)")
    parser.add_argument("--publish-body", action="store_true", help="every article publishes its body")
    parser.add_argument("--requests", type=int, default=2000, help="requests per light measurement (default: 2000)")
    parser.add_argument("--cap", type=float, default=15.0, help="time cap of a light measurement, s (default: 15)")
    parser.add_argument("--heavy-requests", type=int, default=200,
                        help="requests per aggregate measurement (default: 200)")
    parser.add_argument("--heavy-cap", type=float, default=30.0,
                        help="time cap of an aggregate measurement, s (default: 30)")
    parser.add_argument("--query-runs", type=int, default=5, help="timed runs of each named query (default: 5)")
    parser.add_argument("--query-cap", type=float, default=20.0, help="stop repeating a query after this many s")
    parser.add_argument("--query-timeout", type=float, default=300.0,
                        help="record a named query as timed out after this many s (default: 300)")
    parser.add_argument("--build-timeout", type=float, default=6 * 3600.0, help="give up on a build after this many s")
    parser.add_argument("--server-timeout", type=float, default=1800.0,
                        help="give up on a server start after this many s")
    parser.add_argument("--no-serve", action="store_true", help="skip the serving measurements")
    parser.add_argument("--no-queries", action="store_true", help="skip timing the named queries")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the incremental rebuild")
    parser.add_argument("--drop-dumps", action="store_true",
                        help="once the build is measured, delete its dumps but dataset.nq (the store load's "
                        "input), for a disk too small to hold two copies of a large corpus")
    parser.add_argument("--site", action="store_true", help="build the static site too (default: --no-site)")
    parser.add_argument("--no-timers", action="store_true",
                        help="run the full build as the plain CLI (no stage timers); the SHACL figure then "
                        "comes from a separate instrumented 'claimgraph validate'")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("claimgraph") is None or importlib.util.find_spec("pyoxigraph") is None:
        parser.error(f"claimgraph is not importable by {sys.executable}: run this with the project's "
                     ".venv/bin/python")
    args.registry = {}
    if args.quick:
        sizes = [20]
        args.registry = {"outlets": 5, "authors": 20, "pool": 120}
        args.requests, args.cap, args.heavy_requests, args.heavy_cap = 20, 0.5, 5, 1.0
        args.query_runs, args.query_cap, args.query_timeout = 2, 2.0, 20.0
        args.server_timeout = min(args.server_timeout, 120.0)
    else:
        try:
            sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        except ValueError:
            parser.error("--sizes takes comma-separated whole numbers, e.g. 1000,10000")
        if not sizes or min(sizes) < 1:
            parser.error("--sizes needs at least one N of 1 or more")
    signal.signal(signal.SIGTERM, _on_signal)
    log = Logger(args.quiet)
    temporary = args.out is None
    root = Path(tempfile.mkdtemp(prefix="claimgraph-bench-")) if temporary else args.out.resolve()
    root.mkdir(parents=True, exist_ok=True)
    json_path = args.json or (Path("bench-results.json").resolve() if temporary and not args.keep
                              else root / "bench.json")
    import pyoxigraph
    import rdflib

    from claimgraph import __version__

    versions = {"claimgraph": __version__, "pyoxigraph": pyoxigraph.__version__, "rdflib": rdflib.__version__,
                "python": platform.python_version()}
    with contextlib.suppress(Exception):
        import pyshacl

        versions["pyshacl"] = pyshacl.__version__
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        versions["rdflib-endpoint"] = version("rdflib-endpoint")
        versions["oxigraph (server)"] = version("oxigraph")
    results: dict[str, object] = {
        "meta": {"machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}",
                 "seed": args.seed, "quick": args.quick, "publish_body": args.publish_body, "versions": versions,
                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "registry": args.registry or "default",
                 "requests": [args.requests, args.cap, args.heavy_requests, args.heavy_cap]},
        "sizes": {}}
    status = 0
    try:
        for n in sizes:
            work = root / f"n{n}"
            work.mkdir(parents=True, exist_ok=True)
            try:
                results["sizes"][str(n)] = measure_size(n, args, work, log)  # type: ignore[index]
            except (RuntimeError, OSError) as exc:
                print(f"bench: N={n:,} failed: {exc}", file=sys.stderr)
                results["sizes"][str(n)] = {"articles": n, "error": str(exc)[:2000]}  # type: ignore[index]
                status = 1
            json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        sys.stdout.write(render(results))
        print(f"\nfigures: {json_path}" + (f"\nwork folder: {root}" if not temporary or args.keep else ""))
    finally:
        _stop_all()
        if temporary and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
