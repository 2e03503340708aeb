"""Load test for ``claimgraph serve``: light page requests while heavy SPARQL queries run.

    .venv/bin/python benchmarks/load.py                      # builds data/ into a temp folder first
    .venv/bin/python benchmarks/load.py --out dist --duration 30 --light-threads 8 --heavy-threads 2

It starts ``claimgraph serve`` on 127.0.0.1 (a free port) over the build, then for at most
``--duration`` seconds and ``--max-requests`` requests:

- light threads load pages, each thread one kind, spread evenly: the home page, an article, an
  entity and a named query (JSON), the requests a reader's browser and a search crawler make;
- heavy threads send SPARQL queries that cost the server: an aggregate over a join of every
  triple with every triple (about 1.5 million rows on the seed), and a three-way cross product
  that runs into the time limit.

It prints, per class of request, the count, throughput, latency (p50, p99, max) and the
outcomes by status (``503 timeout``, ``503 busy``…) and transport error, then stops the server.
Everything is bounded (time, request count, per-request timeout) and stays on loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

LIGHT = {
    "home": "",
    "article": "article/{article}",
    "entity": "entity/{entity}",
    "named-query": "queries/quotations?format=json",
}
HEAVY = {
    "aggregate": "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?x ?q ?o } GROUP BY ?p ORDER BY DESC(?n)",
    "cross-product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
}


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)


class Run:
    def __init__(self, base: str, duration: float, max_requests: int, request_timeout: float):
        self.base = base
        self.deadline = time.monotonic() + duration
        self.max_requests = max_requests
        self.request_timeout = request_timeout
        self.sent = 0
        self.lock = threading.Lock()
        self.stats: dict[str, Stats] = defaultdict(Stats)
        self.started = time.monotonic()

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.max_requests or time.monotonic() >= self.deadline:
                return False
            self.sent += 1
            return True

    def record(self, name: str, elapsed: float, outcome: str) -> None:
        with self.lock:
            self.stats[name].latencies.append(elapsed)
            self.stats[name].outcomes[outcome] += 1

    def call(self, client: httpx.Client, name: str, path: str, params: dict | None = None) -> None:
        started = time.monotonic()
        try:
            response = client.get(self.base + path, params=params, timeout=self.request_timeout)
            outcome = str(response.status_code)
            if response.status_code >= 400:
                outcome += " " + response.headers.get("claimgraph-error", "")
            elif response.headers.get("claimgraph-results-truncated"):
                outcome += " truncated"
        except httpx.TimeoutException:
            outcome = "client timeout"
        except httpx.TransportError as exc:
            outcome = f"transport {type(exc).__name__}"
        self.record(name, time.monotonic() - started, outcome.strip())


def light_worker(run: Run, name: str, article: str, entity: str) -> None:
    """One reader loading one kind of page again and again (so that a page never waits behind
    a named query in the same thread, and each class shows its own latency)."""
    path = LIGHT[name].format(article=article, entity=entity)
    with httpx.Client() as client:
        while run.take():
            run.call(client, name, path)


def heavy_worker(run: Run, offset: int) -> None:
    names = list(HEAVY)
    i = offset
    with httpx.Client() as client:
        while run.take():
            name = names[i % len(names)]
            run.call(client, name, "sparql", {"query": HEAVY[name]})
            i += 1


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def report(run: Run, elapsed: float) -> str:
    lines = [f"{'class':14} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  outcomes"]
    total = Counter()
    for group in (LIGHT, HEAVY):
        for name in group:
            s = run.stats.get(name, Stats())
            n = len(s.latencies)
            total.update(s.outcomes)
            ms = [x * 1000 for x in s.latencies]
            outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(s.outcomes.items()))
            lines.append(f"{name:14} {n:8d} {n / elapsed:7.1f} {percentile(ms, 50):8.0f} {percentile(ms, 99):8.0f} "
                         f"{max(ms) if ms else float('nan'):8.0f}  {outcomes}")
    light = [x for name in LIGHT for x in run.stats.get(name, Stats()).latencies]
    lines.append(f"{'all light':14} {len(light):8d} {len(light) / elapsed:7.1f} "
                 f"{percentile([x * 1000 for x in light], 50):8.0f} {percentile([x * 1000 for x in light], 99):8.0f}")
    failed = {k: v for k, v in sorted(total.items()) if not k.startswith("2")}
    lines.append(f"{run.sent} requests in {elapsed:.1f} s ({run.sent / elapsed:.1f}/s); "
                 f"{sum(failed.values())} not 2xx: " + ", ".join(f"{k}: {v}" for k, v in failed.items()))
    return "\n".join(lines)


def build_if_needed(out: Path | None, data: Path) -> tuple[Path, Path | None]:
    if out is not None and (out / "build.json").is_file():
        return out, None
    temp = Path(tempfile.mkdtemp(prefix="claimgraph-load-"))
    target = out or temp / "dist"
    print(f"building {data}/ into {target}/ ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "claimgraph", "build", "--data", str(data), "--out", str(target)],
                   check=True, stdout=subprocess.DEVNULL, timeout=1800)
    return target, temp


def start_server(out: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "claimgraph", "serve", "--out", str(out), "--host", HOST, "--port", "0",
               "--query-timeout", str(args.query_timeout), "--workers", str(args.workers)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    base = None
    while base is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise RuntimeError(f"claimgraph serve exited with {process.returncode}")
        match = re.search(r" at (http://127\.0\.0\.1:\d+/)", line)
        if match:
            base = match.group(1)
    if base is None:
        raise RuntimeError("claimgraph serve did not say where it listens")
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # drain its log
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "healthz", timeout=2).status_code == 200:
                return process, base
        time.sleep(0.1)
    raise RuntimeError("claimgraph serve did not answer /healthz")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="a build to serve (default: build --data into a temp folder)")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="sources to build when there is no build")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default: 30)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests")
    parser.add_argument("--light-threads", type=int, default=8)
    parser.add_argument("--heavy-threads", type=int, default=2)
    parser.add_argument("--query-timeout", type=float, default=10.0, help="serve --query-timeout (default: 10)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (default: 2)")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="client timeout per request")
    parser.add_argument("--article", default="section-907-opinion")
    parser.add_argument("--entity", default="azerbaijan")
    args = parser.parse_args(argv)
    out, temp = build_if_needed(args.out, args.data)
    process, base = start_server(out, args)
    try:
        print(f"load on {base} for {args.duration:g} s (at most {args.max_requests} requests): "
              f"{args.light_threads} light threads, {args.heavy_threads} heavy threads; serve --workers "
              f"{args.workers} --query-timeout {args.query_timeout:g}", flush=True)
        run = Run(base, args.duration, args.max_requests, args.request_timeout)
        names = list(LIGHT)
        threads = [threading.Thread(target=light_worker, args=(run, names[i % len(names)], args.article, args.entity))
                   for i in range(args.light_threads)]
        threads += [threading.Thread(target=heavy_worker, args=(run, i)) for i in range(args.heavy_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - run.started
        print(report(run, elapsed))
        alive = httpx.get(base + "sparql", params={"query": "ASK {}"}, timeout=10).status_code == 200
        print(f"server still answering after the load: {'yes' if alive else 'NO'}")
        return 0 if alive else 1
    finally:
        stop_server(process)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
