"""Inside a query worker process: open the store read-only, answer one framed request after
another (``execute``), and write each answer in its media type with the result cap applied.
The server side of the protocol is ``claimgraph.web.engine.LocalEngine``."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import sys
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from claimgraph.web.protocol import (
    BOOLEAN_FORMATS,
    FRAME,
    GRAPH_MEDIA_TYPES,
    RESULT_MEDIA_TYPES,
    SPARQL_JSON,
    TURTLE,
)
from claimgraph.web.query_text import (
    MAX_QUERY_DEPTH,
    MAX_QUERY_TOKENS,
    QUERY_STACK_BYTES,
    rewrite_iris,
    scan_query,
    service_is_syntax,
)
from claimgraph.web.result_writers import capped_tsv, select_json, tsv_to_results, write_triples

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
        head = inp.read(FRAME.size)
        if len(head) < FRAME.size:
            return None
        (size,) = FRAME.unpack(head)
        body = inp.read(size)
        return pickle.loads(body) if len(body) == size else None

    def write(message: Any) -> None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(FRAME.pack(len(payload)) + payload)
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
            reply = answer(store, config, request)
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


def answer(store: ox.Store, config: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """The reply to one request, an error included: what a worker sends back (and what the
    server's point look-ups give, ``claimgraph.web.lookups``)."""
    try:
        return execute(store, config, request)
    except _Failure as failure:
        return {"ok": False, "kind": failure.kind, "message": failure.message}
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return {"ok": False, "kind": "error", "message": f"the query failed: {type(exc).__name__}: {exc}"}


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
    mapper = PublicIris(*public) if public else None

    def internal(iri: str) -> str:
        return mapper.from_public(iri) if mapper else iri

    if mapper:
        text = rewrite_iris(text, mapper.base_url, mapper.base_iri)
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
            media_type = media_type if media_type in BOOLEAN_FORMATS else SPARQL_JSON
            body = answer.serialize(format=BOOLEAN_FORMATS[media_type])
            return _reply(body, media_type, "ASK", False, 1)
        if isinstance(answer, ox.QuerySolutions):
            media_type = media_type if media_type in RESULT_MEDIA_TYPES else SPARQL_JSON
            if media_type == SPARQL_JSON:  # the usual one: written in one pass, not through TSV
                body, count, truncated = select_json(answer, limit, to_public)
                return _reply(body, media_type, "SELECT", truncated, count)
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


class PublicIris:
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
