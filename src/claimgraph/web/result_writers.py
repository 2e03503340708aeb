"""Writing a worker's answers in the media type asked for, with the result cap applied: SELECT
results as SPARQL JSON directly, or through pyoxigraph's TSV for the other result formats;
CONSTRUCT and DESCRIBE triples in any RDF format."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

import pyoxigraph as ox

from claimgraph.web.protocol import (
    BOOLEAN_FORMATS,
    N_QUADS,
    N_TRIPLES,
    RDF_FORMATS,
    RDF_XML,
    SPARQL_XML,
    TRIG,
    TSV,
    TURTLE,
    Term,
)


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


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _json_term(term: Term, to_public: Callable[[str], str] | None) -> dict[str, Any]:
    """One term of a SPARQL 1.1 JSON result (with RDF 1.2's triple terms and base directions)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": to_public(term.value) if to_public else term.value}
    if isinstance(term, ox.Literal):
        cell = {"type": "literal", "value": term.value}
        if term.language:
            cell["xml:lang"] = term.language
            if term.direction is not None:
                cell["its:dir"] = str(term.direction)
        elif term.datatype.value != _XSD_STRING:
            cell["datatype"] = term.datatype.value
        return cell
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject, to_public),
                                            "predicate": _json_term(term.predicate, to_public),
                                            "object": _json_term(term.object, to_public)}}
    raise ValueError(f"a result holds a term SPARQL JSON has no form for: {term!r}")


def select_json(solutions: ox.QuerySolutions, limit: int, to_public: Callable[[str], str] | None = None
                ) -> tuple[bytes, int, bool]:
    """At most ``limit`` rows of ``solutions`` as SPARQL JSON (IRIs mapped by ``to_public``), the
    row count, and whether there were more. Read row by row, so evaluation stops at the cap. For
    a one-row answer this costs a fifth of TSV parsed back and written again; for 10,000 rows,
    about a tenth more."""
    names = [variable.value for variable in solutions.variables]
    rows = [{name: _json_term(term, to_public) for name, term in zip(names, solution, strict=True)
             if term is not None}
            for solution in islice(solutions, limit + 1)]
    truncated = len(rows) > limit
    del rows[limit:]
    document: dict[str, Any] = {"head": {"vars": names}, "results": {"bindings": rows}}
    if truncated:  # first, not last: streaming readers (pyoxigraph's) refuse members after "results"
        document = {"truncated": True, "resultLimit": limit, **document}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(), len(rows), truncated


def tsv_to_results(tsv: bytes, media_type: str, truncated_at: int | None = None) -> bytes:
    """SELECT results (pyoxigraph's TSV) in ``media_type`` (XML, CSV or TSV; ``select_json`` writes
    JSON), marked when capped at ``truncated_at``."""
    if media_type == TSV:
        return tsv
    solutions = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    body = solutions.serialize(format=BOOLEAN_FORMATS[media_type])
    if truncated_at is None:
        return body
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
    fmt = RDF_FORMATS[media_type]
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
