#!/usr/bin/env python3
"""Where a build spends its time: run the claimgraph CLI in this process with timers around
the pipeline's stages, and write the figures as JSON.

    python benchmarks/stages.py --json stages.json -- build --data DIR --out DIST

It wraps, by name and only where they exist (the pipeline is being reworked, so nothing here
may assume its shape): every claimgraph function the ``claimgraph.build`` module calls through
its globals (load_corpus, map_article, validate_graph, write_dumps, load_store, write_site, ...),
a few inner ones (pyshacl.validate, the schema.org vocabulary check, describe/serialize of the
static site, load_article), and reports for each its calls, inclusive time, exclusive time (less
the wrapped functions it called) and the process's peak RSS (VmHWM) when it first returned. The
timers cost about a microsecond a call, nothing next to a build. A wrapper pickles as the function
it wraps, so a process pool still runs the original; calls made in forked workers (a parallel
build) are spooled to files and reported as ``<name> [workers]``, their seconds summed over the
workers (CPU-seconds more than wall time).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FunctionType, ModuleType


def _hwm_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _original(module: str, qualname: str) -> object:
    """What a pickled wrapper stands for: the wrapped function, looked up by name (a process pool
    pickles the functions it runs by reference; a worker runs the original)."""
    value: object = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return getattr(value, "__wrapped__", value)


class _Timed:
    """A timing wrapper that pickles as the function it wraps."""

    def __init__(self, timers: Timers, name: str, func) -> None:
        functools.update_wrapper(self, func)
        self._timers, self._name, self._func = timers, name, func

    def __call__(self, *args, **kwargs):
        return self._timers.call(self._name, self._func, args, kwargs)

    def __get__(self, obj: object, objtype: type | None = None):
        return self if obj is None else functools.partial(self, obj)

    def __reduce__(self):
        return _original, (self._func.__module__, self._func.__qualname__)


class Timers:
    """Per-function call counts and times. Calls made in forked worker processes (a parallel
    build) are spooled to ``spool_dir``, one file per worker, and merged by the parent."""

    def __init__(self, spool_dir: Path | None = None) -> None:
        self.stats: dict[str, dict[str, float]] = {}
        self.order: list[str] = []
        self._local = threading.local()  # each thread's stack of active calls (the build writes
        # its dumps in a thread while the store loads)
        self.active: dict[str, int] = {}
        self.main_pid = os.getpid()
        self.spool_dir = spool_dir

    def wrap(self, name: str, func):
        return func if isinstance(func, _Timed) else _Timed(self, name, func)

    @property
    def stack(self) -> list[list[float]]:
        """The calling thread's active calls: [time in wrapped children] each."""
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def call(self, name: str, func, args: tuple, kwargs: dict):
        self.stack.append([0.0])
        self.active[name] = self.active.get(name, 0) + 1
        start, cpu_start = time.perf_counter(), time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            # the calling thread's CPU time: what the call itself ran, without the time its
            # process waited for a core (a function that works in other threads shows less)
            cpu = time.thread_time() - cpu_start
            children = self.stack.pop()[0]
            self.active[name] -= 1
            if self.stack:
                self.stack[-1][0] += elapsed
            outermost = not self.active[name]
            if os.getpid() != self.main_pid:
                self._spool(name, elapsed, elapsed - children, cpu)
            else:
                self._record(name, elapsed if outermost else 0.0, elapsed - children, 1, cpu if outermost else 0.0)
                self.stats[name]["hwm_mib_after"] = round(_hwm_mib(), 1)

    def _record(self, name: str, inclusive: float, exclusive: float, calls: int, cpu: float) -> None:
        entry = self.stats.get(name)
        if entry is None:
            entry = self.stats[name] = {"calls": 0, "inclusive_s": 0.0, "exclusive_s": 0.0, "cpu_s": 0.0,
                                        "hwm_mib_after": 0.0}
            self.order.append(name)
        entry["calls"] += calls
        entry["inclusive_s"] += inclusive  # recursion counts once
        entry["exclusive_s"] += exclusive
        entry["cpu_s"] += cpu

    def _spool(self, name: str, inclusive: float, exclusive: float, cpu: float) -> None:
        if self.spool_dir is None:
            return
        outermost = not self.active[name]
        with contextlib.suppress(OSError), open(self.spool_dir / f"{os.getpid()}.tsv", "a", encoding="utf-8") as f:
            f.write(f"{name}\t{inclusive if outermost else 0.0}\t{exclusive}\t{_hwm_mib()}\t"
                    f"{cpu if outermost else 0.0}\n")

    def merge_workers(self) -> int:
        """Add the workers' spooled calls as '<name> [workers]' (seconds summed over workers)."""
        if self.spool_dir is None or not self.spool_dir.is_dir():
            return 0
        files = sorted(self.spool_dir.glob("*.tsv"))
        peak = 0.0
        for path in files:
            for line in path.read_text(encoding="utf-8").splitlines():
                name, inclusive, exclusive, hwm, cpu = line.split("\t")
                self._record(f"{name} [workers]", float(inclusive), float(exclusive), 1, float(cpu))
                peak = max(peak, float(hwm))
                self.stats[f"{name} [workers]"]["hwm_mib_after"] = round(max(
                    self.stats[f"{name} [workers]"]["hwm_mib_after"], float(hwm)), 1)
        self.worker_peak_mib = peak
        return len(files)

    def patch(self, module: ModuleType, attr: str, label: str | None = None) -> bool:
        func = getattr(module, attr, None)
        if not callable(func) or isinstance(func, type):
            return False
        setattr(module, attr, self.wrap(label or f"{getattr(func, '__module__', module.__name__)}.{attr}", func))
        return True

    def patch_method(self, cls: type, attr: str, label: str) -> bool:
        func = cls.__dict__.get(attr)
        if not isinstance(func, FunctionType):
            return False
        setattr(cls, attr, self.wrap(label, func))
        return True


def _try_import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def instrument(timers: Timers) -> list[str]:
    """Wrap what exists; returns the labels wrapped."""
    wrapped: list[str] = []
    pyshacl = _try_import("pyshacl")
    if pyshacl and timers.patch(pyshacl, "validate", "pyshacl.validate"):
        wrapped.append("pyshacl.validate")
    build = _try_import("claimgraph.build")
    # build's own pipeline steps: every claimgraph function it reaches through its globals
    modules = [build] + [_try_import(m) for m in ("claimgraph.assembly", "claimgraph.batches",
                                                   "claimgraph.publishing", "claimgraph.graphparts")]
    for module in (m for m in modules if m):
        for attr, value in list(vars(module).items()):
            ours = isinstance(value, FunctionType) and value.__module__.startswith("claimgraph")
            private = attr.startswith("__") or (attr.startswith("_") and module.__name__ not in
                                                 ("claimgraph.build", "claimgraph.assembly"))
            if ours and not private and timers.patch(module, attr):
                wrapped.append(f"{module.__name__}:{attr}")
    # a few inner steps, reached through their own modules' globals
    inner = {"claimgraph.sources": ["load_article", "load_registry"],
             "claimgraph.validation": ["_shacl_findings", "_class_hierarchy", "validate_graph", "check_store",
                                       "validate_store"],
             "claimgraph.site": ["describe", "serialize", "page_for", "load_catalog", "resource_iris"],
             "claimgraph.dumps": [], "claimgraph.dumps_ahead": []}
    for name, attrs in inner.items():
        module = _try_import(name)
        if module is None:
            continue
        if name in ("claimgraph.dumps", "claimgraph.dumps_ahead"):
            attrs = [a for a, v in vars(module).items() if isinstance(v, FunctionType)
                     and v.__module__ == name and not a.startswith("_")]
        for attr in attrs:
            if timers.patch(module, attr):
                wrapped.append(f"{name}:{attr}")
    vocabulary = _try_import("claimgraph.vocabulary")
    vocab_class = getattr(vocabulary, "SchemaVocabulary", None)
    # check_triples: every schema.org check goes through it (check_graph converts, then calls it)
    if vocab_class and timers.patch_method(vocab_class, "check_triples", "SchemaVocabulary.check_triples"):
        wrapped.append("SchemaVocabulary.check_triples")
    return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--stub-shacl", action="store_true",
                        help="a what-if profile: pyshacl.validate returns 'conforms' at once, to see how the "
                        "rest of the pipeline scales at an N where SHACL alone would take hours. Never a "
                        "real build: its output was not validated")
    parser.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the claimgraph arguments")
    args = parser.parse_args(argv)
    if args.stub_shacl:
        import pyshacl
        from rdflib import Graph

        def skipped(*args: object, **kwargs: object) -> tuple[bool, Graph, str]:
            return True, Graph(), "SHACL skipped (benchmarks/stages.py --stub-shacl)"

        pyshacl.validate = skipped
    cli_args = args.cli[1:] if args.cli[:1] == ["--"] else args.cli
    spool = Path(tempfile.mkdtemp(prefix="claimgraph-stages-"))
    timers = Timers(spool)
    started = time.perf_counter()
    wrapped = instrument(timers)
    imported = time.perf_counter() - started
    from claimgraph.cli import main as claimgraph_main

    start = time.perf_counter()
    try:
        status = claimgraph_main(cli_args)
    finally:
        wall = time.perf_counter() - start
        workers = timers.merge_workers()
        shutil.rmtree(spool, ignore_errors=True)
    result = {"command": cli_args, "exit": status, "stub_shacl": args.stub_shacl, "wall_s": round(wall, 3),
              "import_s": round(imported, 3), "peak_rss_mib": round(_hwm_mib(), 1), "worker_processes": workers,
              "worker_peak_rss_mib": round(getattr(timers, "worker_peak_mib", 0.0), 1), "wrapped": wrapped,
              "stages": [{"name": name, **{k: round(v, 4) if isinstance(v, float) else v
                                            for k, v in timers.stats[name].items()}}
                         for name in timers.order]}
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
