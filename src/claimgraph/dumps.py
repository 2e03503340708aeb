"""Writing the dataset dumps — TriG, N-Quads, Turtle, N-Triples, JSON-LD — from the named
graphs' files and their parts (:mod:`claimgraph.graphparts`), one graph at a time.

Each graph's N-Quads file holds its quads sorted and each part its share of one dump; graphs
are written in IRI order, so the dumps' bytes depend only on the data. Writing a dump is
copying bytes, inside the kernel: the RDF was serialized (by pyoxigraph) and the JSON-LD
compacted (with the schema.org context, by the same direct compaction as the resource
documents, which the tests check against pyld) when each graph was made, in parallel, and an
unchanged graph's parts are reused from the previous build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from claimgraph.graphparts import part_ranges, parts_path, prefix_header
from claimgraph.jsonld import JSONLD_TAIL, jsonld_head

DUMP_FORMATS = ("nq", "trig", "ttl", "nt", "jsonld")
_PART_OF = {"nq": None, "trig": "trig", "ttl": "ttl", "nt": "nt"}


def _write(target: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` to an unbuffered file (a raw write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(target.fileno(), view):]


def _append(target: BinaryIO, source: Path, start: int = 0, length: int | None = None) -> None:
    """Append ``length`` bytes of a file from ``start`` (all of it by default) to an
    unbuffered ``target`` (sendfile: no trip through Python)."""
    with source.open("rb") as handle:
        end = os.fstat(handle.fileno()).st_size if length is None else start + length
        offset = start
        try:
            while offset < end:
                sent = os.sendfile(target.fileno(), handle.fileno(), offset, end - offset)
                if sent == 0:
                    break
                offset += sent
        except OSError:
            pass  # no sendfile here: copy the rest through Python
        handle.seek(offset)
        while offset < end:
            chunk = handle.read(min(end - offset, 1 << 20))
            if not chunk:
                break
            _write(target, chunk)
            offset += len(chunk)


def _write_dump(ext: str, ordered: Sequence[tuple[Path, dict[str, tuple[int, int]]]], path: Path) -> None:
    """One dump: its header, each graph's part in order, its footer."""
    with path.open("wb", buffering=0) as out:
        if ext in ("trig", "ttl"):
            _write(out, prefix_header(ox.RdfFormat.TRIG if ext == "trig" else ox.RdfFormat.TURTLE))
        if ext != "jsonld":
            for graph_file, ranges in ordered:
                if ext == "nq":
                    _append(out, graph_file)
                else:
                    _append(out, parts_path(graph_file), *ranges[ext])
            return
        _write(out, jsonld_head().encode())
        first = True
        for graph_file, ranges in ordered:
            offset, length = ranges["jsonld"]
            if length:
                if not first:
                    _write(out, b",\n")
                _append(out, parts_path(graph_file), offset, length)
                first = False
        _write(out, JSONLD_TAIL.encode())


def write_dumps(files: Sequence[tuple[str, Path]], out_dir: Path) -> dict[str, Path]:
    """Write every dump of the named graphs in ``files`` ((graph IRI, N-Quads file) pairs,
    each with its ``.parts`` file beside it) into ``out_dir``: the five at once, in threads, since
    copying is done in the kernel (sendfile), outside the GIL."""
    paths = {ext: out_dir / f"dataset.{ext}" for ext in DUMP_FORMATS}
    ordered = [(path, part_ranges(path)) for _graph, path in sorted(files, key=lambda item: item[0])]
    with ThreadPoolExecutor(min(len(paths), os.cpu_count() or 1)) as pool:
        for done in [pool.submit(_write_dump, ext, ordered, path) for ext, path in paths.items()]:
            done.result()  # re-raises a failed write (a full disk) here
    return paths


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
