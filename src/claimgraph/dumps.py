"""Writing the dataset dumps — TriG, N-Quads, Turtle, N-Triples, JSON-LD — from the named
graphs' files and their parts (:mod:`claimgraph.graphparts`), one graph at a time.

Each graph's N-Quads file holds its quads sorted and each part its share of one dump; graphs
are written in IRI order, so the dumps' bytes depend only on the data. Writing a dump is
copying bytes, inside the kernel: the RDF was serialized (by pyoxigraph) and the JSON-LD
compacted (with the schema.org context, by the same direct compaction as the resource
documents, which the tests check against pyld) when each graph was made, in parallel, and an
unchanged graph's parts are reused from the previous build.

A rebuild copies the unchanged graphs' runs of bytes from the previous dumps, a few ranges per
dump, rather than each graph's part from its own file: ``cache/dumps.json`` records where each
graph's part sits in each dump and which files (inode, size, modification time) it came from,
so only a graph whose files are the same ones is taken from there. Opening 50,000 part files
cost a one-article rebuild of 10,000 articles more than all its other work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from claimgraph.errors import OutputError
from claimgraph.graphparts import part_ranges, parts_path, prefix_header
from claimgraph.jsonld import JSONLD_TAIL, jsonld_head

DUMP_FORMATS = ("nq", "trig", "ttl", "nt", "jsonld")
_PART_OF = {"nq": None, "trig": "trig", "ttl": "ttl", "nt": "nt", "jsonld": "jsonld"}
_SEPARATOR = {"jsonld": b",\n"}  # what a dump has between two graphs' (non-empty) parts
LAYOUT = "cache/dumps.json"


def _write(target: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` to an unbuffered file (a raw write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(target.fileno(), view):]


def _copy(target: BinaryIO, source: BinaryIO, start: int, length: int) -> None:
    """Append ``length`` bytes of ``source`` from ``start`` to an unbuffered ``target``
    (sendfile: no trip through Python)."""
    offset, end = start, start + length
    try:
        while offset < end:
            sent = os.sendfile(target.fileno(), source.fileno(), offset, end - offset)
            if sent == 0:
                break
            offset += sent
    except OSError:
        pass  # no sendfile here: copy the rest through Python
    source.seek(offset)
    while offset < end:
        chunk = source.read(min(end - offset, 1 << 20))
        if not chunk:
            break
        _write(target, chunk)
        offset += len(chunk)
    if offset < end:
        raise OutputError(f"{source.name} ended {end - offset} bytes early while a dump was written; "
                          "build again", Path(source.name))


def _stamp(graph_file: Path) -> list[int]:
    """Which files a graph's parts are (its N-Quads and .parts files' inode, size and
    modification time): the same files hold the same bytes."""
    stamp = []
    for path in (graph_file, parts_path(graph_file)):
        info = path.stat()
        stamp += [info.st_ino, info.st_size, info.st_mtime_ns]
    return stamp


@dataclass
class _Graph:
    """One graph's share of the dumps: the length of its part of each, and where that part
    is in its .parts file (offsets only read when the part is copied from there)."""

    iri: str
    path: Path
    stamp: list[int]
    lengths: dict[str, int]
    ranges: dict[str, tuple[int, int]] | None = None

    def part(self, ext: str) -> tuple[Path, int, int]:
        if ext == "nq":
            return self.path, 0, self.lengths["nq"]
        if self.ranges is None:
            self.ranges = part_ranges(self.path)
        return (parts_path(self.path), *self.ranges[_PART_OF[ext]])


def _head(ext: str) -> bytes:
    if ext in ("trig", "ttl"):
        return prefix_header(ox.RdfFormat.TRIG if ext == "trig" else ox.RdfFormat.TURTLE)
    return jsonld_head().encode() if ext == "jsonld" else b""


def _tail(ext: str) -> bytes:
    return JSONLD_TAIL.encode() if ext == "jsonld" else b""


def _offsets(ext: str, graphs: Sequence[_Graph]) -> tuple[list[int], int]:
    """Where each graph's part starts in the dump, and the dump's size."""
    separator = len(_SEPARATOR.get(ext, b""))
    position, first, offsets = len(_head(ext)), True, []
    for graph in graphs:
        length = graph.lengths[ext]
        if length and not first:
            position += separator
        offsets.append(position)
        if length:
            position, first = position + length, False
    return offsets, position + len(_tail(ext))


# Each dump's layout: a list of writes, each some bytes, a range of the previous dump, or a
# range of a graph's file.
_Op = tuple[str, object, int, int]


def _plan(ext: str, graphs: Sequence[_Graph], previous: Mapping[str, dict], whole: bool = True,
          first: bool = True) -> list[_Op]:
    """The writes that make dump ``ext``: ``previous`` maps a graph IRI to its record in the
    previous dumps' layout (its files' stamp, its parts' offsets and lengths). Not ``whole``:
    the writes of these graphs' parts only, without the dump's head and tail (``first``: no
    graph before them has a part in it)."""
    separator = _SEPARATOR.get(ext, b"")
    ops: list[_Op] = [("bytes", _head(ext), 0, 0)] if whole else [("bytes", b"", 0, 0)]
    for graph in graphs:
        length = graph.lengths[ext]
        if not length:
            continue
        gap = b"" if first else separator
        first = False
        old = previous.get(graph.iri)
        last = ops[-1]
        if old is not None and old["stamp"] == graph.stamp:
            start = old["offsets"][ext]
            # parts next to each other in the previous dump (with the separator between them,
            # as the dump has it): one longer range
            if last[0] == "previous" and last[2] + last[3] + len(gap) == start:
                ops[-1] = ("previous", None, last[2], last[3] + len(gap) + length)
                continue
            if gap:
                ops.append(("bytes", gap, 0, 0))
            ops.append(("previous", None, start, length))
        else:
            if gap:
                ops.append(("bytes", gap, 0, 0))
            path, start, _ = graph.part(ext)
            ops.append(("file", path, start, length))
    if whole:
        ops.append(("bytes", _tail(ext), 0, 0))
    return ops


def _write_dump(path: Path, ops: list[_Op], previous_dump: Path | None, size: int, start: int = 0) -> list[int]:
    """Carry out a dump's writes after its first ``start`` bytes (written already); returns
    the written file's stamp (inode, size, mtime)."""
    with path.open("r+b" if start else "wb", buffering=0) as out, \
            (previous_dump.open("rb") if previous_dump else contextlib.nullcontext()) as old:
        out.truncate(start)
        out.seek(start)
        for kind, what, start, length in ops:
            if kind == "bytes":
                _write(out, what)  # type: ignore[arg-type]
            elif kind == "previous":
                _copy(out, old, start, length)  # type: ignore[arg-type]
            else:
                with open(what, "rb") as source:  # type: ignore[call-overload]
                    _copy(out, source, start, length)
        info = os.fstat(out.fileno())
    if info.st_size != size:
        raise OutputError(f"the dump came out {info.st_size} bytes long instead of {size}; build again", path)
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _previous_layout(previous_out: Path | None) -> dict | None:
    """The previous output's cache/dumps.json, if its dumps are still the files it describes."""
    if previous_out is None:
        return None
    try:
        layout = _read_layout(previous_out / LAYOUT)
        if layout is None:
            return None
        for ext in DUMP_FORMATS:
            path = previous_out / f"dataset.{ext}"
            info = path.stat()
            if layout["dumps"][ext] != [info.st_ino, info.st_size, info.st_mtime_ns]:
                return None
            head = _head(ext)
            with path.open("rb") as dump:
                if dump.read(len(head)) != head:  # written with other prefixes: its parts too
                    return None
        return layout
    except (OSError, KeyError, TypeError):
        return None


_layouts: dict[tuple[str, int, int, int], dict | None] = {}


def _read_layout(path: Path) -> dict | None:
    """A dumps.json file, every record checked whole, so that nothing later trips on a damaged
    file; None if it is not one. Kept for as long as the file is the same (a rebuild reads it
    at each of its dump-writing steps: 10,000 graphs' records take a third of a second)."""
    info = path.stat()
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _layouts:
        _layouts.clear()
        try:
            layout = json.loads(path.read_bytes())
            graphs = layout["graphs"]
            whole = all(isinstance(g["stamp"], list) and all(isinstance(g[field][ext], int) for ext in DUMP_FORMATS
                                                             for field in ("offsets", "lengths"))
                        for g in graphs.values())
            _layouts[key] = layout if whole and isinstance(layout["dumps"], dict) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            _layouts[key] = None
    return _layouts[key]


@dataclass
class DumpStart:
    """The start of each dump of a rebuild, written ahead while the rest of the build goes on:
    its head, then the parts of ``graphs`` (the first graphs in IRI order)."""

    graphs: list[_Graph]
    sizes: dict[str, int]  # bytes written, per dump
    any_part: dict[str, bool]  # whether a graph so far has a part in the dump


def _graphs(files: Sequence[tuple[str, Path]], known: Mapping[str, dict], start: DumpStart | None = None
            ) -> tuple[list[_Graph], bool]:
    """The graphs of ``files`` ((IRI, N-Quads file) pairs) in IRI order, each with the lengths
    of its parts: from the previous layout (``known``) for a graph whose files are the ones
    it describes, else from its .parts file. Also whether they begin with the graphs of
    ``start`` (the same IRIs and files), which are then taken as they are."""
    ordered = sorted(files, key=lambda item: item[0])
    begun = [(g.iri, g.path) for g in start.graphs] if start else None
    resumed = begun is not None and ordered[:len(begun)] == begun
    graphs = list(start.graphs) if resumed and start else []
    for iri, path in ordered[len(graphs):]:
        stamp, old = _stamp(path), known.get(iri)
        if old is not None and old["stamp"] == stamp:
            graphs.append(_Graph(iri, path, stamp, dict(old["lengths"])))
        else:
            ranges = part_ranges(path)
            lengths = {ext: ranges[part][1] for ext, part in _PART_OF.items() if part}
            graphs.append(_Graph(iri, path, stamp, {"nq": stamp[1], **lengths}, ranges))
    return graphs, resumed


def write_dumps(files: Sequence[tuple[str, Path]], out_dir: Path, previous_out: Path | None = None,
                start: DumpStart | None = None) -> dict[str, Path]:
    """Write every dump of the named graphs in ``files`` ((graph IRI, N-Quads file) pairs,
    each with its ``.parts`` file beside it) into ``out_dir``, and their layout into
    ``out_dir/cache/dumps.json``; the unchanged graphs' parts are copied from the dumps of
    ``previous_out`` (the previous output) where it has them, after what
    :func:`write_dump_start` wrote (``start``). The five dumps are written at once, in threads,
    since copying is done in the kernel (sendfile), outside the GIL."""
    paths = {ext: out_dir / f"dataset.{ext}" for ext in DUMP_FORMATS}
    layout = _previous_layout(previous_out)
    known = layout["graphs"] if layout else {}
    graphs, resumed = _graphs(files, known, start)
    resume = layout is not None and resumed
    offsets: dict[str, list[int]] = {}
    with ThreadPoolExecutor(min(len(paths), os.cpu_count() or 1)) as pool:
        running = {}
        for ext, path in paths.items():
            offsets[ext], size = _offsets(ext, graphs)
            old_dump = previous_out / path.name if layout and previous_out else None
            if resume:
                assert start is not None
                ops = _plan(ext, graphs[len(start.graphs):], known, whole=False, first=not start.any_part[ext])
                ops.append(("bytes", _tail(ext), 0, 0))
                written = start.sizes[ext]
            else:
                ops, written = _plan(ext, graphs, known), 0
            running[ext] = pool.submit(_write_dump, path, ops, old_dump, size, written)
        stamps = {ext: done.result() for ext, done in running.items()}  # re-raises a failed write here
    _record(graphs, offsets, stamps, out_dir)
    return paths


def _record(graphs: Sequence[_Graph], offsets: Mapping[str, list[int]], written: Mapping[str, list[int]],
            out_dir: Path) -> None:
    """Write ``cache/dumps.json``: each dump's file stamp, each graph's stamp and the length and
    offset of its part in each dump."""
    record = {"dumps": dict(written), "graphs": {
        g.iri: {"stamp": g.stamp, "lengths": g.lengths, "offsets": {ext: offsets[ext][i] for ext in DUMP_FORMATS}}
        for i, g in enumerate(graphs)}}
    (out_dir / LAYOUT).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / LAYOUT).write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
