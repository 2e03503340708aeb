"""Publishing a validated build: dumps, validation report, ontology page and the embedded store.

Everything is written into a fresh folder beside the output folder and swapped into place
only when complete, so a failed or killed build leaves the previous output untouched. On Linux
the swap is one atomic ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames with the old
output kept until the new one is in place.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from claimgraph.errors import OutputError

STORE_DIR = "store"
GRAPHS_DIR = "cache/graphs"  # each graph's sorted N-Quads file and .parts file (claimgraph.buildcache)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def write_store(path: Path, graph_files: Sequence[Path], expected: int, previous: Path | None = None,
                replace: Mapping[str, Path | None] | None = None) -> int:
    """Create the store at ``path`` holding the graphs in ``graph_files`` (N-Quads, ``expected``
    quads in all); returns its size. Given the ``previous`` build's store and the graphs that
    differ from it (``replace``: graph IRI → its N-Quads file, or None for a graph that is
    gone), start from a checkpoint of that store — hard links to its immutable files, so no
    copy — and swap just those graphs: a one-article change costs milliseconds, not a reload
    of the corpus. Should a swapped graph not hold the quads of its file, the store is loaded
    afresh. (The rest is the previous build's store, which held its quads when that build
    checked it: counting the whole store again would read every quad, a second at 10,000
    articles, on a disk then busy copying the dumps.)"""
    if previous is not None and replace is not None:
        try:
            ox.Store.read_only(str(previous)).backup(str(path))
            store = ox.Store(str(path))
            for graph, source in sorted(replace.items()):
                store.remove_graph(ox.NamedNode(graph))
                if source is not None:
                    store.load(path=str(source), format=ox.RdfFormat.N_QUADS)
            store.flush()
            swapped = all(_graph_size(store, graph) == (_line_count(source) if source else 0)
                          for graph, source in replace.items())
            del store
            if swapped:
                return expected
        except (OSError, SyntaxError, ValueError):
            pass  # no usable previous store: load afresh
        shutil.rmtree(path, ignore_errors=True)
    store = ox.Store(str(path))
    _bulk_load(store, graph_files)
    store.optimize()
    size = len(store)
    del store  # closes the RocksDB files before the folder is moved
    return size


def _graph_size(store: ox.Store, graph: str) -> int:
    return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))


def _line_count(graph_file: Path) -> int:
    """The quads of a graph's N-Quads file: one a line, none repeated (sorted_nquads)."""
    with graph_file.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _bulk_load(store: ox.Store, graph_files: Sequence[Path], chunk_bytes: int = 32 << 20,
               threads: int | None = None) -> None:
    """Bulk-load the graphs a chunk of about ``chunk_bytes`` at a time, ``threads`` chunks at
    once (by default one per core, up to four).

    pyoxigraph's bulk loader holds its whole input's index entries in memory (1.8 GB for 3.3 M
    quads in one go, about 0.2 GB per 32 MB chunk) and keeps only one core busy, with a
    second parsing for it; separate loads into one store are independent (as ``oxigraph load``
    runs its files), so two at a time loaded 10,000 articles in 35 s instead of 47 s. At most
    ``threads`` chunks are held at once. A chunk never splits a graph, and the graphs that may
    hold blank nodes go together in one load, since each load gives a blank node label a new
    identity."""
    threads = threads or max(1, min(4, os.cpu_count() or 1))
    slots = threading.BoundedSemaphore(threads)
    futures: list[Future[None]] = []
    with ThreadPoolExecutor(threads) as pool:

        def load(parts: list[bytes]) -> None:
            slots.acquire()  # released when the load ends: bounds the chunks in memory
            future = pool.submit(store.bulk_load, b"".join(parts), format=ox.RdfFormat.N_QUADS)
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)

        chunk: list[bytes] = []
        size = 0
        with_blank_nodes: list[bytes] = []
        for graph_file in graph_files:
            data = graph_file.read_bytes()
            if b"_:" in data:
                with_blank_nodes.append(data)
                continue
            chunk.append(data)
            size += len(data)
            if size >= chunk_bytes:
                load(chunk)
                chunk, size = [], 0
        for rest in (chunk, with_blank_nodes):
            if rest:
                load(rest)
    for future in futures:
        future.result()  # the first load's error, if any


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2; False where the system lacks it."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def recover_output(out_dir: Path) -> None:
    """Finish or undo a swap that a killed build left half done (the non-atomic fallback)."""
    previous = out_dir.with_name(out_dir.name + ".previous")
    if previous.exists() and not out_dir.exists():
        previous.rename(out_dir)
    elif previous.exists():
        shutil.rmtree(previous, ignore_errors=True)
    for stale in out_dir.parent.glob(f".{out_dir.name}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_atomically(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` to fill a fresh folder, then swap it in as ``out_dir``."""
    out_dir = out_dir.absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("the output path exists and is not a folder: choose another --out", out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock_output(out_dir)
        recover_output(out_dir)  # only under the lock: another build's work folder is not stale
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    except OSError as exc:
        raise OutputError(f"cannot prepare the output folder: {exc.strerror}", out_dir) from exc
    try:
        _write_and_swap(out_dir, tmp, write)
    finally:
        # Leave nothing beside the output. A build that opened the file just before this
        # unlink could still take the lock afterwards; at worst two builds then race as they
        # did without a lock, and the swap keeps the output whole either way.
        Path(lock.name).unlink(missing_ok=True)
        lock.close()


def _lock_output(out_dir: Path) -> IO[bytes]:
    """Hold ``.<out>.lock`` beside the output for the whole build: a second build of the same
    output stops at once with a clear error instead of racing the first."""
    handle = open(out_dir.with_name(f".{out_dir.name}.lock"), "ab")  # noqa: SIM115 (held by the caller)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OutputError("another claimgraph build is writing this output folder: wait for it to finish, "
                          "or build into another --out", out_dir) from None
    return handle


def remove_tree(folder: Path) -> None:
    """Delete a replaced output folder, its entries at once in threads: freeing the blocks of
    its gigabytes of dumps waits on the disk (about a second a gigabyte here), and the waits
    overlap (the five dumps of 10,000 articles: 1.8 s instead of 2.2)."""
    entries = list(os.scandir(folder))
    with ThreadPoolExecutor(min(8, len(entries)) or 1) as pool:
        done = [pool.submit(shutil.rmtree if entry.is_dir(follow_symlinks=False) else os.unlink, entry.path)
                for entry in entries]
        for future in done:
            future.result()
    os.rmdir(folder)


def _write_and_swap(out_dir: Path, tmp: Path, write: Callable[[Path], None]) -> None:
    try:
        write(tmp)
        os.chmod(tmp, 0o755)
        if not out_dir.exists():
            tmp.rename(out_dir)
        elif _exchange(tmp, out_dir):
            remove_tree(tmp)
        else:
            previous = out_dir.with_name(out_dir.name + ".previous")
            out_dir.rename(previous)
            try:
                tmp.rename(out_dir)
            except OSError:
                previous.rename(out_dir)  # put the previous output back before reporting
                raise
            remove_tree(previous)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write the build output ({exc.strerror or exc}); the previous output "
                          "is unchanged", exc.filename or out_dir) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
