"""Writing the dumps ahead, while the rest of a build goes on (:mod:`claimgraph.dumps` writes
them whole, or goes on from where these stopped).

A first build appends each batch's graphs to the dumps as they are made (:class:`DumpStream`).
A rebuild copies its dumps from the previous ones, gigabytes of copying however few graphs
changed: it starts copying them before it knows what changed (:class:`PreviousDumpsCopy`),
stops at the first changed graph once the sources are scanned, and goes on through every
article graph once they are made (:func:`write_dump_start`), while the shared graphs are made.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from claimgraph.dumps import (
    _PART_OF,
    _SEPARATOR,
    DUMP_FORMATS,
    DumpStart,
    _copy,
    _Graph,
    _graphs,
    _head,
    _plan,
    _previous_layout,
    _record,
    _stamp,
    _tail,
    _write,
    _write_dump,
    write_dumps,
)
from claimgraph.errors import OutputError
from claimgraph.graphparts import part_ranges


def reused_prefix(previous_out: Path, reused: Mapping[str, Path]) -> list[tuple[str, Path]]:
    """The graphs of ``reused`` (IRI → file, brought from the previous build) that come before
    the first graph of the previous dumps not among them: in a rebuild, the unchanged start of
    the dumps, known before any changed article is made. (A new article's graph before them
    makes them not the build's first graphs; :func:`write_dumps` then writes the dumps whole.)"""
    layout = _previous_layout(previous_out)
    prefix = []
    for iri in sorted(layout["graphs"]) if layout else ():
        if iri not in reused:
            break
        prefix.append((iri, reused[iri]))
    return prefix


def write_dump_start(files: Sequence[tuple[str, Path]], out_dir: Path, previous_out: Path,
                     start: DumpStart | None = None) -> DumpStart | None:
    """Write (or, given ``start``, go on writing) the start of each dump of a rebuild into
    ``out_dir``: the parts of ``files``, which must be the first graphs of the build in IRI
    order. A rebuild runs it once every article graph is made, going on from the unchanged
    start :class:`PreviousDumpsCopy` left (or from nothing, if it left none), while the shared
    graphs are made: a rebuild's dumps are gigabytes of copying however few graphs changed.
    :func:`write_dumps` goes on from there when its graphs begin with these. None when the
    previous dumps cannot be copied from."""
    layout = _previous_layout(previous_out)
    if layout is None:
        return None
    graphs, resumed = _graphs(files, layout["graphs"], start)
    if start is not None and not resumed:
        return start  # not a continuation: left for write_dumps to judge
    done = len(start.graphs) if start else 0
    sizes, any_part = (dict(start.sizes), dict(start.any_part)) if start else ({}, {})
    for ext in DUMP_FORMATS:
        ops = _plan(ext, graphs[done:], layout["graphs"], whole=False, first=not any_part.get(ext, False))
        if start is None:
            ops[0] = ("bytes", _head(ext), 0, 0)
        size = sizes.get(ext, 0) + sum(len(op[1]) if op[0] == "bytes" else op[3] for op in ops)  # type: ignore[arg-type]
        _write_dump(out_dir / f"dataset.{ext}", ops, previous_out / f"dataset.{ext}", size, sizes.get(ext, 0))
        sizes[ext] = size
        any_part[ext] = any_part.get(ext, False) or any(g.lengths[ext] for g in graphs[done:])
    return DumpStart(graphs, sizes, any_part)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class PreviousDumpsCopy:
    """A rebuild's copy of the previous dumps from their first byte, begun in threads (one a
    dump) before the sources are scanned, and stopped by :meth:`stop_at` where the first
    changed graph's part begins: until then it does not know how far to go, and what it
    copied beyond that is cut off. Begun after the scan, this copy was the rebuild's critical
    path (at 10,000 articles the scan and the reused graphs' links take two seconds)."""

    def __init__(self, previous_out: Path, out_dir: Path, chunk_bytes: int = 16 << 20) -> None:
        self.previous_out = previous_out
        self.out_dir = out_dir
        self.chunk_bytes = chunk_bytes
        self.layout = _previous_layout(previous_out)
        self._limits: dict[str, int] | None = None
        self._stopped = False
        self._changed = threading.Condition()
        self._errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._run, args=(ext,), daemon=True)
                         for ext in (DUMP_FORMATS if self.layout else ())]
        for thread in self._threads:
            thread.start()

    def _limit(self, ext: str) -> int | None:
        """How far to copy dump ``ext``: None while not known yet, -1 once stopped for good."""
        with self._changed:
            if self._stopped:
                return -1
            return None if self._limits is None else self._limits[ext]

    def _run(self, ext: str) -> None:
        try:
            with (self.previous_out / f"dataset.{ext}").open("rb") as old, \
                    (self.out_dir / f"dataset.{ext}").open("wb", buffering=0) as out:
                size, copied = os.fstat(old.fileno()).st_size, 0
                while (limit := self._limit(ext)) != -1:
                    end = size if limit is None else limit
                    if copied >= end:
                        if limit is not None:
                            break
                        with self._changed:  # all of it copied: wait to be told where to stop
                            self._changed.wait_for(lambda: self._limits is not None or self._stopped)
                        continue
                    length = min(self.chunk_bytes, end - copied)
                    _copy(out, old, copied, length)
                    copied += length
                if limit is not None and limit >= 0:
                    out.truncate(limit)
        except (OSError, ValueError, OutputError) as exc:  # stop_at then gives no start: dumps written whole
            self._errors.append(exc)

    def stop_at(self, prefix: Sequence[tuple[str, Path]]) -> DumpStart | None:
        """Stop each copy at the end of the parts of ``prefix`` (the first graphs of the previous
        dumps, unchanged: :func:`reused_prefix`), and wait for it; the start of the dumps it
        leaves. None when the previous dumps cannot be copied from."""
        if self.layout is None:
            return None
        known = self.layout["graphs"]
        try:
            graphs, _ = _graphs(prefix, known)
        except (OSError, OutputError):  # a graph file gone or damaged: the dumps are written whole
            self.close()
            return None
        limits, any_part = {}, {}
        for ext in DUMP_FORMATS:
            ends = [known[g.iri]["offsets"][ext] + g.lengths[ext] for g in graphs if g.lengths[ext]]
            limits[ext] = max(ends, default=len(_head(ext)))
            any_part[ext] = bool(ends)
        with self._changed:
            self._limits = limits
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()
        copied = {ext: _size(self.out_dir / f"dataset.{ext}") for ext in DUMP_FORMATS}
        if self._errors or copied != limits:  # a previous dump changed under it, say: written whole
            return None
        unchanged = all(known[g.iri]["stamp"] == g.stamp for g in graphs)
        return DumpStart(graphs, limits, any_part) if unchanged else None

    def close(self) -> None:
        """Stop copying (a failed build), and wait for the threads."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()


class DumpStream:
    """The dumps of a build with no previous output, appended to as its graphs are made (in
    IRI order: the article graphs batch by batch, then the shared ones), in a thread of its
    own. Copying is kernel work that the two cores busy mapping and validating barely feel,
    where written after them, beside the store's load, the dumps slowed that load by a
    fifth (10,000 articles: 60 s alone, 77 s beside them). The bytes are those
    :func:`write_dumps` writes, which :meth:`finish` falls back on should graphs come out of
    order."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.paths = {ext: out_dir / f"dataset.{ext}" for ext in DUMP_FORMATS}
        self.graphs: list[_Graph] = []
        self.offsets: dict[str, list[int]] = {ext: [] for ext in DUMP_FORMATS}
        self._pool = ThreadPoolExecutor(1)
        self._pending: list[Future[None]] = []
        self._files: dict[str, BinaryIO] = {}
        self._position: dict[str, int] = {}
        self._in_order = True

    def add(self, files: Sequence[tuple[str, Path]]) -> None:
        """Append the parts of these graphs ((graph IRI, N-Quads file) pairs), once those
        before them are written."""
        self._pending.append(self._pool.submit(self._append, list(files)))

    def _open(self) -> None:
        for ext, path in self.paths.items():
            handle = path.open("wb", buffering=0)
            self._files[ext] = handle
            _write(handle, _head(ext))
            self._position[ext] = len(_head(ext))

    def _append(self, files: list[tuple[str, Path]]) -> None:
        if not self._in_order:
            return
        if not self._files:
            self._open()
        for iri, path in files:
            if self.graphs and iri <= self.graphs[-1].iri:
                self._in_order = False  # finish() writes the dumps whole
                return
            stamp, ranges = _stamp(path), part_ranges(path)
            graph = _Graph(iri, path, stamp, {"nq": stamp[1], **{ext: ranges[part][1]
                                                                for ext, part in _PART_OF.items() if part}}, ranges)
            for ext, out in self._files.items():
                length = graph.lengths[ext]
                separator = _SEPARATOR.get(ext, b"")
                if length and separator and self._position[ext] > len(_head(ext)):
                    _write(out, separator)
                    self._position[ext] += len(separator)
                self.offsets[ext].append(self._position[ext])
                if length:
                    source, start, _ = graph.part(ext)
                    with open(source, "rb") as handle:
                        _copy(out, handle, start, length)
                    self._position[ext] += length
            self.graphs.append(graph)

    def finish(self, files: Sequence[tuple[str, Path]]) -> dict[str, Path]:
        """Append the graphs of ``files`` (every graph of the build) not added yet, then end
        each dump and write their layout; the dumps' paths, as :func:`write_dumps` returns."""
        try:
            for done in self._pending:
                done.result()  # re-raises a failed write (a full disk) here
            ordered = sorted(files, key=lambda item: item[0])
            streamed = [(g.iri, g.path) for g in self.graphs]
            if self._in_order and ordered[:len(streamed)] == streamed:
                self._pool.submit(self._append, ordered[len(streamed):]).result()
            if not (self._in_order and len(self.graphs) == len(ordered)):
                self.close()
                return write_dumps(ordered, self.out_dir)
            if not self._files:
                self._open()
            written = {}
            for ext, out in self._files.items():
                _write(out, _tail(ext))
                info = os.fstat(out.fileno())
                written[ext] = [info.st_ino, info.st_size, info.st_mtime_ns]
            _record(self.graphs, self.offsets, written, self.out_dir)
            return dict(self.paths)
        finally:
            self.close()

    def close(self) -> None:
        """Stop: wait for the writes under way, and close the dumps."""
        self._pool.shutdown(wait=True)
        for handle in self._files.values():
            handle.close()
        self._files = {}

