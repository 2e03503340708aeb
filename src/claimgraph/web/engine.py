"""The SPARQL query engine behind ``/sparql`` (and anything else that runs queries for the web).

``QueryEngine`` is the seam: ``start()``, ``stop()`` and ``run(SparqlRequest) -> SparqlResponse``.
``LocalEngine`` answers from the embedded pyoxigraph store; an engine over a remote SPARQL
endpoint (``serve --endpoint``) implements the same three methods. ``create_engine(settings)``
builds the engine a server uses.

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
work, never the wait.

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
import io
import logging
import os
import pickle
import re
import struct
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from claimgraph.errors import QueryError
from claimgraph.web.result_cache import DEFAULT_RESULT_CACHE_BYTES, ResultCache, result_key

if TYPE_CHECKING:
    from claimgraph.web.settings import ServeSettings

log = logging.getLogger(__name__)

# --- media types -------------------------------------------------------------------------------

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
RDF_XML = "application/rdf+xml"
TRIG = "application/trig"
N_QUADS = "application/n-quads"

RESULT_MEDIA_TYPES: tuple[str, ...] = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
"""What a SELECT or ASK answer can be written as, the default first."""
GRAPH_MEDIA_TYPES: tuple[str, ...] = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML, TRIG, N_QUADS)
"""What a CONSTRUCT or DESCRIBE answer can be written as, the default first."""

_RDF_FORMATS = {
    TURTLE: ox.RdfFormat.TURTLE, N_TRIPLES: ox.RdfFormat.N_TRIPLES, JSON_LD: ox.RdfFormat.JSON_LD,
    RDF_XML: ox.RdfFormat.RDF_XML, TRIG: ox.RdfFormat.TRIG, N_QUADS: ox.RdfFormat.N_QUADS,
}
_BOOLEAN_FORMATS = {
    SPARQL_JSON: ox.QueryResultsFormat.JSON, SPARQL_XML: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV, TSV: ox.QueryResultsFormat.TSV,
}

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")


# --- requests, responses, errors ---------------------------------------------------------------

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


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


# --- looking at a query without parsing it -----------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
               | \"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
               | '(?:[^'\\\r\n]|\\.)*'
               | "(?:[^"\\\r\n]|\\.)*")
    | (?P<var>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]*)
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<pname>(?:[^\W\d_][\w.\-\u00B7]*)?:(?:\\[_~.\-!$&'()*+,;=/?\#@%]|[\w\-.:%\u00B7])*)
    | (?P<word>[^\W\d][\w]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class QueryShape:
    """What a lexical scan tells about a query before the parser sees it."""

    form: str | None  # SELECT/ASK/CONSTRUCT/DESCRIBE, an update keyword (INSERT, CLEAR…), or None
    has_dataset_clause: bool  # FROM or FROM NAMED
    uses_service: bool  # SERVICE anywhere, at any depth
    tokens: int = 0  # terms, keywords and punctuation
    depth: int = 0  # the deepest nesting of {}, () and []

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_KEYWORDS


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            yield kind or "other", match.group()


def query_form(text: str) -> str | None:
    """The keyword after the prologue (``BASE`` and ``PREFIX`` declarations), upper-cased, when it
    is a query form or an update operation; None otherwise. Reads only the prologue."""
    tokens = _tokens(text)
    for kind, value in tokens:
        if kind != "word":
            return None
        word = value.upper()
        if word == "BASE":
            next(tokens, None)
        elif word == "PREFIX":
            next(tokens, None)
            next(tokens, None)
        else:
            return word if word in QUERY_FORMS or word in UPDATE_KEYWORDS else None
    return None


def scan_query(text: str) -> QueryShape:
    """Form, dataset clause and SERVICE use, from the tokens (comments, strings and IRIs skipped:
    a ``FROM`` inside a string or a variable ``?service`` does not count). A lexical scan cannot
    always tell an IRI from a ``<`` comparison, so ``uses_service`` may miss a SERVICE hidden
    behind one: :func:`service_is_syntax` is the exact check."""
    words: set[str] = set()
    tokens = depth = deepest = 0
    for kind, value in _tokens(text):
        tokens += 1
        if kind == "word":
            words.add(value.upper())
        elif value in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif value in "})]":
            depth -= 1
    return QueryShape(query_form(text), "FROM" in words, "SERVICE" in words, tokens, deepest)


# pyoxigraph parses and evaluates recursively: a query nested thousands of levels deep, or a
# chain of thousands of joins, unions or operators, overflows a worker's stack and kills it. Such
# a query is refused before it reaches the parser (and the workers run queries on a large stack,
# so everything under these limits is far from the edge).
MAX_QUERY_TOKENS = 20_000
MAX_QUERY_DEPTH = 500
QUERY_STACK_BYTES = 256 * 1024 * 1024


_SERVICE_LETTERS = re.compile("service", re.IGNORECASE)


def service_is_syntax(text: str, base_iri: str | None = None) -> bool:
    """Whether the word SERVICE is SPARQL syntax (the keyword, or a prefix name) in ``text``, as
    pyoxigraph's own parser reads it. Every occurrence of the letters is replaced by ``XERVICE``,
    which is as valid as SERVICE inside a string, an IRI, a comment, a variable or a local name,
    and is no keyword: if the query stops parsing, one of them was syntax. The probe store is
    empty and the probe query has no SERVICE, so nothing is fetched."""
    if not _SERVICE_LETTERS.search(text):
        return False
    probe = _SERVICE_LETTERS.sub("XERVICE", text)
    try:
        ox.Store().query(probe, base_iri=base_iri)
    except SyntaxError:
        return True
    except Exception:  # an evaluation error on the empty store: it parsed
        return False
    return False


def _rewrite_iris(text: str, public: str, internal: str) -> str:
    """Replace the public base by the store's in every ``<IRI>`` token of ``text``."""
    needle = "<" + public
    if needle not in text:
        return text
    parts: list[str] = []
    last = 0
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "iri" and match.group().startswith(needle):
            parts.append(text[last:match.start()])
            parts.append("<" + internal + match.group()[len(needle):])
            last = match.end()
    parts.append(text[last:])
    return "".join(parts)


# --- the local engine: a pool of worker processes ----------------------------------------------

_FRAME = struct.Struct(">I")
_WORKER_CODE = "from claimgraph.web.engine import worker_main; worker_main()"


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.pid = process.pid
        self.queries = 0
        self.isolated = False  # runs in a network namespace of its own

    async def call(self, message: Any) -> Any:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(_FRAME.pack(len(payload)) + payload)
        await self.process.stdin.drain()
        (size,) = _FRAME.unpack(await self.process.stdout.readexactly(_FRAME.size))
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
        message = {
            "query": request.query,
            "media_type": request.result_media_type,
            "default_graphs": tuple(request.default_graph_uris),
            "named_graphs": tuple(request.named_graph_uris),
            "substitutions": {k.value if isinstance(k, ox.Variable) else str(k): v
                              for k, v in request.substitutions.items()},
            "limit": limit,
        }
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


# --- inside a worker process -------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def worker_main() -> None:
    """A worker process: opens the store read-only, then answers frames on stdin until EOF."""
    out = open(os.dup(1), "wb")  # noqa: SIM115 - lives as long as the process
    os.dup2(2, 1)  # anything printed by accident goes to stderr, not into the protocol
    sys.stdout = sys.stderr
    inp = open(0, "rb", closefd=False)  # noqa: SIM115
    _die_with_parent()

    def read() -> Any:
        head = inp.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return None
        (size,) = _FRAME.unpack(head)
        body = inp.read(size)
        return pickle.loads(body) if len(body) == size else None

    def write(message: Any) -> None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_FRAME.pack(len(payload)) + payload)
        out.flush()

    config = read()
    if config is None:
        return
    with contextlib.suppress(OSError):  # if memory runs short anyway, the kernel kills a worker first
        Path("/proc/self/oom_score_adj").write_text("1000")
    isolated = False if config.get("allow_service") else _isolate_network()
    if config.get("memory_limit"):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (config["memory_limit"], config["memory_limit"]))
    try:
        store = ox.Store.read_only(config["store"])
    except (OSError, ValueError) as exc:
        write({"ok": False, "kind": "unavailable", "message": f"cannot open the store {config['store']}: {exc}"})
        return
    write({"ok": True, "isolated": isolated})

    def serve() -> None:
        while (request := read()) is not None:
            try:
                reply = execute(store, config, request)
            except _Failure as failure:
                reply = {"ok": False, "kind": failure.kind, "message": failure.message}
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                reply = {"ok": False, "kind": "error", "message": f"the query failed: {type(exc).__name__}: {exc}"}
            try:
                write(reply)
            except BrokenPipeError:
                return

    import threading

    # reserved address space, touched only by deep queries; a small memory limit gets a smaller one
    limit = config.get("memory_limit")
    threading.stack_size(min(QUERY_STACK_BYTES, limit // 8) if limit else QUERY_STACK_BYTES)
    runner = threading.Thread(target=serve, name="query")
    runner.start()
    runner.join()


def _isolate_network() -> bool:
    """Move this worker into a new, empty network namespace (Linux): whatever a query manages to
    ask for, the process has no network to send it on. Needs root (CAP_SYS_ADMIN) or
    unprivileged user namespaces; False where neither is available (the SERVICE checks remain)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET):
            if libc.unshare(flags) == 0:
                return True
    except (OSError, AttributeError):
        pass
    return False


_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the server process goes away."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(0)


def execute(store: ox.Store, config: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """Run one query on ``store`` and serialise its answer (the worker's whole job; also usable
    in-process, e.g. by tests). Raises ``_Failure`` for the errors a client should see."""
    text: str = request["query"]
    limit: int = request["limit"]
    shape = scan_query(text)
    if shape.is_update:
        raise _Failure("refused", "SPARQL Update is not accepted: this endpoint is read-only")
    if shape.tokens > MAX_QUERY_TOKENS or shape.depth > MAX_QUERY_DEPTH:
        raise _Failure("too-complex", f"the query is too complex to run here: it has {shape.tokens} terms, nested "
                                      f"{shape.depth} levels deep (the limits are {MAX_QUERY_TOKENS} terms and "
                                      f"{MAX_QUERY_DEPTH} levels)")
    if not config.get("allow_service") and (shape.uses_service
                                            or service_is_syntax(text, config.get("base_iri"))):
        raise _Failure("refused", "SERVICE (federated query) is not allowed on this endpoint: it never "
                                  "sends requests to other services")
    public = config.get("public_base")
    mapper = _PublicIris(*public) if public else None

    def internal(iri: str) -> str:
        return mapper.from_public(iri) if mapper else iri

    if mapper:
        text = _rewrite_iris(text, mapper.base_url, mapper.base_iri)
    options: dict[str, Any] = {"base_iri": config.get("base_iri")}
    try:
        if request["default_graphs"] or request["named_graphs"]:
            options["default_graph"] = [ox.NamedNode(internal(g)) for g in request["default_graphs"]]
            options["named_graphs"] = [ox.NamedNode(internal(g)) for g in request["named_graphs"]]
        elif not shape.has_dataset_clause:
            options["use_default_graph_as_union"] = True
        if request["substitutions"]:
            # Bound as a VALUES block written by pyoxigraph (as for remote stores), not as
            # pyoxigraph substitutions, which its planner evaluates orders of magnitude slower
            # for some queries (claim-anchor: 80 s against 0.1 s at 100 articles).
            from claimgraph.remote.sparql import bind_values

            text = bind_values(text, {
                name: (ox.NamedNode(internal(term.value)) if isinstance(term, ox.NamedNode) else term)
                for name, term in request["substitutions"].items()})
    except ValueError as exc:
        raise _Failure("evaluation", f"not a valid IRI: {exc}") from exc
    try:
        answer = store.query(text, **options)
    except SyntaxError as exc:
        raise _Failure("syntax", str(exc)) from exc
    except (ValueError, RuntimeError, TypeError) as exc:
        raise _Failure("evaluation", str(exc)) from exc
    media_type = request["media_type"]
    to_public = mapper.to_public if mapper else None
    try:
        if isinstance(answer, ox.QueryBoolean):
            media_type = media_type if media_type in _BOOLEAN_FORMATS else SPARQL_JSON
            body = answer.serialize(format=_BOOLEAN_FORMATS[media_type])
            return _reply(body, media_type, "ASK", False, 1)
        if isinstance(answer, ox.QuerySolutions):
            media_type = media_type if media_type in RESULT_MEDIA_TYPES else SPARQL_JSON
            tsv, count, truncated = capped_tsv(answer, limit)
            if mapper:
                tsv = mapper.tsv_to_public(tsv)
            body = tsv_to_results(tsv, media_type, limit if truncated else None)
            return _reply(body, media_type, "SELECT", truncated, count)
        form = shape.form if shape.form in ("CONSTRUCT", "DESCRIBE") else "CONSTRUCT"
        media_type = media_type if media_type in GRAPH_MEDIA_TYPES else TURTLE
        triples = list(islice(answer, limit + 1))
        truncated = len(triples) > limit
        del triples[limit:]
        body = write_triples(triples, media_type, config.get("prefixes") or {}, limit if truncated else None,
                             to_public)
        return _reply(body, media_type, form, truncated, len(triples))
    except (ValueError, RuntimeError, TypeError) as exc:  # evaluation errors surface while iterating
        raise _Failure("evaluation", str(exc)) from exc
    except OSError as exc:
        raise _Failure("error", f"the store could not be read: {exc}") from exc


def _reply(body: bytes, media_type: str, form: str, truncated: bool, count: int) -> dict[str, Any]:
    return {"ok": True, "body": body, "media_type": media_type, "form": form, "truncated": truncated,
            "count": count}


class _PublicIris:
    def __init__(self, base_iri: str, base_url: str):
        self.base_iri = base_iri
        self.base_url = base_url

    def to_public(self, iri: str) -> str:
        return self.base_url + iri[len(self.base_iri):] if iri.startswith(self.base_iri) else iri

    def from_public(self, url: str) -> str:
        return self.base_iri + url[len(self.base_url):] if url.startswith(self.base_url) else url

    def tsv_to_public(self, tsv: bytes) -> bytes:
        """Map the IRIs of SELECT results in TSV: each cell is one term, an IRI cell starts with
        '<', and literals cannot hold a raw tab or newline, so a cell-anchored match is exact."""
        pattern = rb"(^|\t)<" + re.escape(self.base_iri.encode())
        return re.sub(pattern, lambda m: m.group(1) + b"<" + self.base_url.encode(), tsv, flags=re.MULTILINE)


# --- writers -----------------------------------------------------------------------------------


def truncation_note(limit: int, unit: str) -> str:
    return (f"claimgraph: results truncated at {limit} {unit} (the endpoint's result limit); "
            "this answer is incomplete - add LIMIT/OFFSET to page through the rest")


class _Enough(Exception):
    """Raised into pyoxigraph's writer to stop a result stream at the cap."""


class _LineCap(io.RawIOBase):
    """A binary sink that stops the writer once it has ``max_lines`` lines."""

    def __init__(self, max_lines: int):
        super().__init__()
        self.buffer = bytearray()
        self.max_lines = max_lines
        self.lines = 0
        self.full = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.buffer += chunk
        self.lines += chunk.count(b"\n")
        if self.lines >= self.max_lines:
            self.full = True
            raise _Enough
        return len(chunk)


def capped_tsv(solutions: ox.QuerySolutions, limit: int) -> tuple[bytes, int, bool]:
    """At most ``limit`` rows of ``solutions`` as TSV, the row count, and whether there were more.

    TSV is lossless (terms in N-Triples syntax) and has exactly one line per row (tabs and newlines
    inside literals are escaped), so pyoxigraph's own writer can be stopped after ``limit`` + 1
    rows without evaluating, or holding, the rest."""
    sink = _LineCap(limit + 2)  # the header, ``limit`` rows, and one more to know there are more
    try:
        solutions.serialize(sink, format=ox.QueryResultsFormat.TSV)
    except Exception:
        if not sink.full:
            raise
    data = bytes(sink.buffer)
    end = -1
    for rows in range(limit + 1):  # the header line, then rows
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data, max(rows - 1, 0), False
    truncated = end + 1 < len(data)
    return data[:end + 1], limit, truncated


def tsv_to_results(tsv: bytes, media_type: str, truncated_at: int | None = None) -> bytes:
    """SELECT results (pyoxigraph's TSV) in ``media_type``, marked when capped at ``truncated_at``."""
    if media_type == TSV:
        return tsv
    solutions = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    body = solutions.serialize(format=_BOOLEAN_FORMATS[media_type])
    if truncated_at is None:
        return body
    if media_type == SPARQL_JSON and body.startswith(b"{"):
        # first, not last: streaming readers (pyoxigraph's) refuse members after "results"
        return f'{{"truncated":true,"resultLimit":{truncated_at},'.encode() + body[1:]
    if media_type == SPARQL_XML:
        head, sep, rest = body.partition(b"?>")
        comment = f"<!-- {truncation_note(truncated_at, 'rows')} -->".encode()
        return head + sep + comment + rest if sep else comment + body
    return body  # CSV: the response header is the signal


def _public_term(term: Term, to_public: Any) -> Term:
    if isinstance(term, ox.NamedNode):
        value = to_public(term.value)
        return term if value == term.value else ox.NamedNode(value)
    if isinstance(term, ox.Triple):
        return ox.Triple(_public_term(term.subject, to_public), _public_term(term.predicate, to_public),
                         _public_term(term.object, to_public))
    return term


def write_triples(triples: list[ox.Triple], media_type: str, prefixes: Mapping[str, str],
                  truncated_at: int | None = None, to_public: Any = None) -> bytes:
    """A CONSTRUCT or DESCRIBE answer in one of ``GRAPH_MEDIA_TYPES``."""
    if to_public is not None:
        triples = [_public_term(t, to_public) for t in triples]  # type: ignore[misc]
        prefixes = {name: to_public(ns) for name, ns in prefixes.items()}
    fmt = _RDF_FORMATS[media_type]
    wants_prefixes = media_type in (TURTLE, TRIG, RDF_XML)
    body = ox.serialize(triples, format=fmt, prefixes=dict(prefixes) if wants_prefixes else None)
    if truncated_at is None:
        return body
    note = truncation_note(truncated_at, "triples")
    if media_type in (TURTLE, TRIG, N_TRIPLES, N_QUADS):
        return f"# {note}\n".encode() + body
    if media_type == RDF_XML:
        head, sep, rest = body.partition(b"?>")
        comment = f"\n<!-- {note} -->".encode()
        return head + sep + comment + rest if sep else comment + body
    return body  # JSON-LD: the response header is the signal
