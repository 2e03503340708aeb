"""The SPARQL query engine behind ``/sparql`` (and anything else that runs queries for the web).

``QueryEngine`` is the seam: ``start()``, ``stop()`` and ``run(SparqlRequest) -> SparqlResponse``.
``LocalEngine`` answers from the embedded pyoxigraph store; an engine over a remote SPARQL
endpoint (``serve --endpoint``) implements the same three methods. ``create_engine(settings)``
builds the engine a server uses. What runs inside a worker process (``execute`` and the
writers of each media type) is ``claimgraph.web.query_worker``; the checks made on a query's
text before it is parsed are ``claimgraph.web.query_text``; the media types and the frame
format they share are ``claimgraph.web.protocol``.

How the local engine works
--------------------------
pyoxigraph cannot cancel a running query, so queries run in a small pool of worker *processes*
(``settings.workers``), each holding the store open read-only (``Store.read_only``). The server
process talks to a worker over its stdin/stdout pipes: one length-prefixed pickle frame per
request and per reply, and a worker is reused for query after query (the per-query overhead is
one pipe round trip). A query gets an idle worker, waiting at most the time limit for one
(``EngineBusy`` when none frees up); then the worker has the time limit (``settings.query_timeout``,
default 10 s) to parse, evaluate *and* serialise. Past it the worker is killed (``QueryTimeout``)
and a fresh one is started in the background, while the other workers keep answering. A worker
that dies (a query that overflows the parser's stack segfaults pyoxigraph, for instance) gives
``WorkerCrashed`` and is replaced the same way: no query can take the server process down.
A repeated query is answered from the answers kept in the server process
(``claimgraph.web.result_cache``), but only while a live worker is idle: the cache saves the
work, never the wait. A point look-up (triple patterns about named resources with few triples,
``claimgraph.web.lookups``) is answered in the server process itself: its cost is bounded by
those resources, and the round trip to a worker took most of its time.

What a query sees
-----------------
- The default graph is the union of all graphs of the store, unless the request names a dataset
  (``default-graph-uri`` / ``named-graph-uri``): then, as the SPARQL 1.1 Protocol says, the
  dataset is exactly the named graphs listed (an empty default graph if none is listed, no named
  graphs if none is listed), and it overrides any ``FROM`` / ``FROM NAMED`` of the query. A graph
  IRI that the store lacks is an empty graph: nothing is ever fetched. A query with its own
  ``FROM`` / ``FROM NAMED`` and no protocol dataset gets the dataset its clauses describe.
- Nothing is ever fetched from the network: ``SERVICE`` (federated query) is refused with
  ``QueryRefused`` unless the engine is built with ``allow_service=True``; the store is opened
  read-only and SPARQL Update is refused before it reaches pyoxigraph.
- Relative IRIs in a query resolve against the endpoint's IRI.
- When the server's ``base_url`` differs from the dataset's ``base_iri``, IRIs are translated at
  the boundary: IRIs written in the query (``<…>`` and ``PREFIX`` declarations, not string
  literals), the dataset graph IRIs and the substitutions are read as public URLs
  (``ServeSettings.from_public``), and IRIs in results are written as public URLs
  (``ServeSettings.to_public``), so every link resolves on the serving host.

Results and the result cap
--------------------------
SELECT and ASK results: ``application/sparql-results+json``, ``application/sparql-results+xml``,
``text/csv`` and ``text/tab-separated-values``. CONSTRUCT and DESCRIBE: ``text/turtle``,
``application/n-triples``, ``application/ld+json``, ``application/rdf+xml``, ``application/trig``
and ``application/n-quads``. A media type that does not fit the query form falls back to JSON
(SELECT, ASK) or Turtle (CONSTRUCT, DESCRIBE); ``SparqlResponse.media_type`` says what was sent.

A SELECT answer carries at most ``limit`` rows and a graph answer at most ``limit`` triples
(``settings.result_limit``). A capped answer is never passed off as complete:
``SparqlResponse.truncated`` is set (the HTTP layer adds the header
``Claimgraph-Results-Truncated: <limit>``) and the body says so wherever its format can:

- JSON results: two extra top-level members, ``"truncated": true`` and ``"resultLimit": <limit>``,
  written before ``"head"`` (SPARQL JSON readers ignore unknown members; streaming readers such as
  pyoxigraph's refuse any after ``"results"``);
- XML results, RDF/XML: an XML comment after the XML declaration;
- Turtle, TriG, N-Triples, N-Quads: a ``#`` comment as the first line;
- CSV, TSV, JSON-LD: no room in the format; the header is the signal.

Errors are ``claimgraph.errors.QueryError`` subclasses, each with a short ``kind``:
``QuerySyntaxError`` (the parser's message), ``QueryRefused`` (an update, ``SERVICE``),
``QueryEvaluationError`` (the query parsed but cannot run, e.g. an invalid graph IRI),
``QueryTimeout``, ``EngineBusy``, ``WorkerCrashed`` and ``EngineUnavailable`` (the store cannot
be opened, or the engine is not running).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import logging
import os
import pickle
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from claimgraph.errors import QueryError
from claimgraph.web.lookups import PointLookups
from claimgraph.web.protocol import FRAME, SPARQL_JSON, Term
from claimgraph.web.result_cache import DEFAULT_RESULT_CACHE_BYTES, ResultCache, ResultKey, result_key

if TYPE_CHECKING:
    from claimgraph.web.settings import ServeSettings

log = logging.getLogger(__name__)

# --- requests, responses, errors ---------------------------------------------------------------



@dataclass(frozen=True)
class SparqlRequest:
    """One query to run. ``result_media_type`` is already negotiated by the caller (one of
    ``RESULT_MEDIA_TYPES`` or ``GRAPH_MEDIA_TYPES``); ``default_graph_uris`` and
    ``named_graph_uris`` are the protocol's dataset (empty: the store's union default graph);
    ``substitutions`` bind variables (SEP-0007), keyed by name or ``pyoxigraph.Variable``, e.g.
    a named query's parameters from ``claimgraph.queries.bind_parameters``;
    ``timeout`` (seconds) and ``limit`` (rows or triples) default to the engine's."""

    query: str
    result_media_type: str = SPARQL_JSON
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    substitutions: Mapping[str | ox.Variable, Term] = field(default_factory=dict, hash=False)
    timeout: float | None = None
    limit: int | None = None


@dataclass(frozen=True)
class SparqlResponse:
    body: bytes
    media_type: str  # without parameters; text/* types are UTF-8
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    truncated: bool  # the answer was capped at ``limit``: there is more
    count: int  # rows (SELECT), triples (CONSTRUCT, DESCRIBE), 1 (ASK)
    limit: int  # the cap that applied
    elapsed: float = 0.0  # seconds, as seen by the engine (queueing included)


class EngineError(QueryError):
    """A query could not be answered; ``kind`` names the reason in one word, ``status`` is the
    HTTP status an endpoint answers with."""

    kind = "error"
    status = 500


class QuerySyntaxError(EngineError):
    """The query does not parse; the message is the parser's."""

    kind = "syntax"
    status = 400


class QueryRefused(EngineError):
    """The request asks for something this endpoint never does (an update, ``SERVICE``)."""

    kind = "refused"
    status = 403


class QueryEvaluationError(EngineError):
    """The query parsed but cannot be evaluated (e.g. an invalid IRI, an unbound SERVICE name)."""

    kind = "evaluation"
    status = 400


class QueryTimeout(EngineError):
    """The query ran past its time limit and was stopped."""

    kind = "timeout"
    status = 503

    def __init__(self, message: str, timeout: float):
        super().__init__(message)
        self.timeout = timeout


class EngineBusy(EngineError):
    """Every worker stayed busy for the whole time limit; try again later."""

    kind = "busy"
    status = 503


class WorkerCrashed(EngineError):
    """The worker process running the query died (the server itself is unaffected)."""

    kind = "crashed"
    status = 500


class QueryTooComplex(EngineError):
    """The query is nested too deep or has too many terms to be parsed safely."""

    kind = "too-complex"
    status = 400


class QueryOutOfMemory(WorkerCrashed):
    """The query needed more memory than a worker may use (``settings.worker_memory``)."""

    kind = "memory"
    status = 503


class EngineUnavailable(EngineError):
    """The engine cannot answer at all: the store cannot be opened, or it is not running."""

    kind = "unavailable"
    status = 503


_ERROR_KINDS: dict[str, type[EngineError]] = {
    cls.kind: cls for cls in (QuerySyntaxError, QueryRefused, QueryEvaluationError, EngineUnavailable,
                              QueryTooComplex, EngineError)
}

# --- the engine interface ----------------------------------------------------------------------


class QueryEngine(abc.ABC):
    """Runs SPARQL queries for the web layer. Start it in the event loop that will use it."""

    timeout: float
    limit: int

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def run(self, request: SparqlRequest) -> SparqlResponse: ...

    async def __aenter__(self) -> QueryEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def create_engine(settings: ServeSettings, *, allow_service: bool = False) -> QueryEngine:
    """The engine a server built from ``settings`` uses: the embedded store under ``out_dir``, or
    the remote store at ``settings.endpoint``."""
    if settings.endpoint:
        from claimgraph.web.remote_engine import RemoteEngine

        return RemoteEngine(settings)
    from claimgraph.namespaces import PREFIXES  # rdflib: keep it out of the worker processes

    public = (settings.base_iri, settings.base_url) if settings.base_url != settings.base_iri else None
    return LocalEngine(
        Path(settings.out_dir) / "store",
        workers=settings.workers,
        timeout=settings.query_timeout,
        limit=settings.result_limit,
        query_base_iri=settings.base_iri + "sparql",
        public_base=public,
        prefixes=PREFIXES,
        allow_service=allow_service,
        memory_limit=settings.worker_memory * 1024 * 1024 if settings.worker_memory else None,
        result_cache_bytes=settings.result_cache_bytes,
    )


# --- the local engine: a pool of worker processes ----------------------------------------------

_WORKER_CODE = "from claimgraph.web.query_worker import worker_main; worker_main()"


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.pid = process.pid
        self.queries = 0
        self.isolated = False  # runs in a network namespace of its own

    async def call(self, message: Any) -> Any:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(FRAME.pack(len(payload)) + payload)
        await self.process.stdin.drain()
        (size,) = FRAME.unpack(await self.process.stdout.readexactly(FRAME.size))
        return pickle.loads(await self.process.stdout.readexactly(size))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class LocalEngine(QueryEngine):
    """Queries the pyoxigraph store at ``store_path`` in ``workers`` worker processes."""

    def __init__(self, store_path: Path | str, *, workers: int = 2, timeout: float = 10.0, limit: int = 10_000,
                 query_base_iri: str | None = None, public_base: tuple[str, str] | None = None,
                 prefixes: Mapping[str, str] | None = None, allow_service: bool = False,
                 memory_limit: int | None = None, start_timeout: float = 60.0,
                 result_cache_bytes: int = DEFAULT_RESULT_CACHE_BYTES):
        """``public_base`` is ``(base_iri, base_url)`` when the server's URLs differ from the
        dataset's IRIs; ``prefixes`` are used by the Turtle-like writers; ``memory_limit`` (bytes)
        caps each worker's address space (RLIMIT_AS) when set; ``result_cache_bytes`` bounds the
        answers kept for repeated queries (``claimgraph.web.result_cache``; 0: none)."""
        if workers < 1:
            raise ValueError("a LocalEngine needs at least one worker")
        self.store_path = Path(store_path)
        self.size = workers
        self.timeout = timeout
        self.limit = limit
        self.start_timeout = start_timeout
        self._config = {
            "store": str(self.store_path),
            "base_iri": query_base_iri,
            "public_base": public_base,
            "prefixes": dict(prefixes or {}),
            "allow_service": allow_service,
            "memory_limit": memory_limit,
        }
        self._results = ResultCache(result_cache_bytes) if result_cache_bytes > 0 else None
        self.lookups: PointLookups | None = None  # opened by start()
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: set[_Worker] = set()
        self._respawns: set[asyncio.Task[None]] = set()
        self._running = False
        self.restarts = 0  # workers replaced after a timeout or a crash

    # lifecycle

    async def start(self) -> None:
        if self._running:
            return
        if not self.store_path.is_dir():
            raise EngineUnavailable(f"there is no store at {self.store_path}; run 'claimgraph build' first")
        self._idle = asyncio.Queue()
        self._running = True
        try:
            self.lookups = PointLookups(self.store_path, self._config)
        except OSError:  # the workers say why they cannot open it either
            self.lookups = None
        results = await asyncio.gather(*(self._spawn() for _ in range(self.size)), return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            await self.stop()
            raise failure
        for worker in results:
            self._idle.put_nowait(worker)  # type: ignore[arg-type]

    async def stop(self) -> None:
        self._running = False
        for task in list(self._respawns):
            task.cancel()
        for task in list(self._respawns):
            with contextlib.suppress(BaseException):
                await task
        workers, self._workers = list(self._workers), set()
        for worker in workers:  # EOF on stdin: an idle worker exits at once
            if worker.process.stdin is not None:
                with contextlib.suppress(Exception):
                    worker.process.stdin.close()
        if workers:
            waits = [asyncio.ensure_future(w.process.wait()) for w in workers]
            _done, pending = await asyncio.wait(waits, timeout=1.0)
            for worker in workers:  # a busy one: stop it now
                if worker.process.returncode is None:
                    worker.kill()
            if pending:
                await asyncio.wait(pending)
        self._idle = None
        self.lookups = None

    def workers_isolated(self) -> bool:
        """Whether every live worker runs without network access (see ``_isolate_network``)."""
        return bool(self._workers) and all(w.isolated for w in self._workers)

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers (for tests and health checks)."""
        return sorted(w.pid for w in self._workers)

    async def _spawn(self) -> _Worker:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER_CODE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
        worker = _Worker(process)
        self._workers.add(worker)
        try:
            reply = await asyncio.wait_for(worker.call(self._config), self.start_timeout)
        except BaseException as exc:
            self._discard(worker)
            await process.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise EngineUnavailable(f"a query worker could not start ({type(exc).__name__}); "
                                    "see the server's error output") from exc
        if not reply.get("ok"):
            self._discard(worker)
            await process.wait()
            raise EngineUnavailable(reply.get("message", "a query worker could not start"))
        worker.isolated = bool(reply.get("isolated"))
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start a fresh one in the background."""
        self._discard(worker)
        self.restarts += 1
        if not self._running:
            return
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self, dead: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            await dead.process.wait()
        delay = 0.1
        while self._running:
            try:
                fresh = await self._spawn()
            except EngineUnavailable as exc:
                log.error("query worker restart failed, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if self._running and self._idle is not None:
                self._idle.put_nowait(fresh)
            else:
                self._discard(fresh)
            return

    # running queries

    async def run(self, request: SparqlRequest) -> SparqlResponse:
        if not self._running or self._idle is None:
            raise EngineUnavailable("the query engine is not running")
        timeout = request.timeout if request.timeout is not None else self.timeout
        limit = request.limit if request.limit is not None else self.limit
        started = time.perf_counter()
        key = result_key(request, limit) if self._results is not None else None
        if key is not None and self._results is not None and (kept := self._results.get(key)) is not None \
                and self._live_worker_idle():
            return dataclasses.replace(kept, elapsed=time.perf_counter() - started)
        message = {
            "query": request.query,
            "media_type": request.result_media_type,
            "default_graphs": tuple(request.default_graph_uris),
            "named_graphs": tuple(request.named_graph_uris),
            "substitutions": {k.value if isinstance(k, ox.Variable) else str(k): v
                              for k, v in request.substitutions.items()},
            "limit": limit,
        }
        if self.lookups is not None and (reply := self.lookups.answer(message)) is not None:
            return self._finish(reply, key, limit, started)
        while True:
            try:
                # An idle worker is taken without a wait_for, which costs a task and a loop turn
                worker = self._idle.get_nowait() if not self._idle.empty() else await asyncio.wait_for(
                    self._idle.get(), max(timeout - (time.perf_counter() - started), 0))
            except TimeoutError:
                raise EngineBusy(f"every query worker stayed busy for {timeout:g} s; try again shortly") from None
            if worker.process.returncode is None:
                break
            log.error("idle query worker %d died (exit status %s)", worker.pid, worker.process.returncode)
            self._replace(worker)  # it died while idle (killed from outside): use another
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for (3.11), no task per query
                reply = await worker.call(message)
        except TimeoutError:
            log.warning("query stopped after %.1f s (worker %d killed)", timeout, worker.pid)
            self._replace(worker)
            raise QueryTimeout(f"the query was stopped: it ran past the time limit of {timeout:g} s", timeout) \
                from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError, EOFError, pickle.UnpicklingError) as exc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.process.wait(), 1.0)
            code = worker.process.returncode
            log.error("query worker %d died (exit status %s) running a query", worker.pid, code)
            self._replace(worker)
            limit = self._config["memory_limit"]
            if limit and code == -6:  # SIGABRT: what Rust and C++ do when an allocation fails
                raise QueryOutOfMemory(f"the query was stopped: it needed more than the {limit // 2**20} MB "
                                       "of memory a query may use") from exc
            raise WorkerCrashed("the query crashed the process running it (exit status "
                                f"{code}); the server is unaffected") from exc
        except BaseException:  # cancelled (client gone, server stopping): the worker's state is unknown
            self._replace(worker)
            raise
        worker.queries += 1
        self._idle.put_nowait(worker)
        return self._finish(reply, key, limit, started)

    def _finish(self, reply: dict[str, Any], key: ResultKey | None, limit: int, started: float) -> SparqlResponse:
        if not reply["ok"]:
            raise _ERROR_KINDS.get(reply["kind"], EngineError)(reply["message"])
        answer = SparqlResponse(reply["body"], reply["media_type"], reply["form"], reply["truncated"],
                                reply["count"], limit, time.perf_counter() - started)
        if key is not None and self._results is not None:
            self._results.keep(key, answer)
        return answer

    def _live_worker_idle(self) -> bool:
        """Whether a live worker is idle now; idle workers found dead are replaced on the way."""
        assert self._idle is not None
        live = []
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker.process.returncode is None:
                live.append(worker)
            else:
                log.error("idle query worker %d died (exit status %s)", worker.pid, worker.process.returncode)
                self._replace(worker)
        for worker in live:  # back in the same order
            self._idle.put_nowait(worker)
        return bool(live)
