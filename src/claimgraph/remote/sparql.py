"""A small client for a remote SPARQL 1.1 query endpoint, built on SPARQLWrapper.

``RemoteSparql(endpoint).select(query, {"person": NamedNode(...)})`` runs a query with values
bound to its variables and returns pyoxigraph terms, as the embedded store does; the web app
uses it to serve over a remote store, ``claimgraph query --endpoint`` to run named queries.

Bindings. The SPARQL 1.1 Protocol has no way to send variable bindings beside a query, so they
travel inside it, in the language's own mechanism for supplying bindings: a ``VALUES`` block
(inline data), placed first in the query's top-level WHERE group. That is where it means what
pyoxigraph's ``substitutions`` mean locally: the variable is bound before the rest of the group
is evaluated, so stores push the constant into their plans (a trailing VALUES clause, the other
place the grammar allows, is joined only after grouping and aggregation: same rows for our
queries, but every entity's rows computed first). Every term is written by pyoxigraph's
N-Triples serializer, which escapes IRIs and literals, and the variable names are checked, so
no value can change the query's structure. Rewriting the query through rdflib's algebra and
``translateAlgebra`` was the alternative; it does not round-trip sub-selects, aggregates and
property paths faithfully, and the text sent would no longer be the reviewed query file.

Union default graph. Named queries match triples without ``GRAPH``: the store must answer them
over the union of its named graphs (Virtuoso does by default, ``oxigraph serve`` needs
``--union-default-graph``, Fuseki ``tdb2:unionDefaultGraph true``); see docs/remote.md.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPResponse
from typing import Any

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED, SPARQLWrapper

from claimgraph.remote.auth import Credentials
from claimgraph.remote.errors import RemoteError
from claimgraph.remote.http import RetryableFailure, RetryPolicy, judge_status, with_retries

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Bindings = Mapping[str, ox.NamedNode | ox.Literal]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_NAME = re.compile(r"[A-Za-z_][\w\-]*(?::[\w\-.%]*)?|:[\w\-.%]*")
_VAR_TOKEN = re.compile(r"[?$]\w+")
_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")


@dataclass
class Solutions:
    """The answer to a SELECT (variables and rows) or an ASK (``boolean``)."""

    variables: list[str]
    rows: list[dict[str, Term]] = field(default_factory=list)
    boolean: bool | None = None


# ---------------------------------------------------------------- bindings as VALUES

def values_block(rows: Sequence[Bindings]) -> str:
    """``VALUES (?a ?b) { (<x> "y") … }``; a row without a variable leaves it UNDEF."""
    names: list[str] = []
    for row in rows:
        names.extend(n for n in row if n not in names)
    for name in names:
        if not _VARIABLE.fullmatch(name):
            raise ValueError(f"'{name}' is not a SPARQL variable name")
    cells = []
    for row in rows:
        terms = []
        for name in names:
            term = row.get(name)
            if term is None:
                terms.append("UNDEF")
            elif isinstance(term, ox.NamedNode | ox.Literal):
                terms.append(str(term))  # pyoxigraph's N-Triples form: escaped, valid SPARQL
            else:
                raise ValueError(f"?{name}: only IRIs and literals can be bound, not {term!r}")
        cells.append("(" + " ".join(terms) + ")")
    return "VALUES (" + " ".join("?" + n for n in names) + ") { " + " ".join(cells) + " }"


def _skip_string(text: str, i: int) -> int:
    quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else text[i]
    j = i + len(quote)
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text.startswith(quote, j):
            return j + len(quote)
        else:
            j += 1
    return len(text)


def where_group_start(query: str) -> int | None:
    """The index just after the '{' opening the query's top-level WHERE group, or None (a
    DESCRIBE without WHERE). Comments, strings and IRIs are skipped, so a '{' or a keyword
    inside them is never taken for syntax."""
    i, depth, parens = 0, 0, 0
    form: str | None = None
    words: list[str] = []  # the last keywords seen at the top level
    while i < len(query):
        c = query[i]
        if c == "#":
            end = query.find("\n", i)
            i = len(query) if end < 0 else end
            continue
        if c in "\"'":
            i = _skip_string(query, i)
            continue
        if c == "<" and (m := _IRIREF.match(query, i)):
            i = m.end()
            continue
        if c in "?$" and (m := _VAR_TOKEN.match(query, i)):
            i = m.end()
            continue
        if (c.isalpha() or c in "_:") and (m := _NAME.match(query, i)):
            token = m.group().upper()
            if ":" not in token and depth == 0:
                if form is None and token in _FORMS:
                    form = token
                words.append(token)
            i = m.end()
            continue
        if c == "(":
            parens += 1
        elif c == ")":
            parens -= 1
        elif c == "}":
            depth -= 1
        elif c == "{":
            if depth == 0 and parens == 0 and form is not None:
                if form == "CONSTRUCT" and words[-1:] == ["CONSTRUCT"]:
                    words.append("{template}")  # the template, not the pattern
                elif form == "CONSTRUCT" and words[-2:] == ["CONSTRUCT", "WHERE"]:
                    raise ValueError("CONSTRUCT WHERE { … } takes no bindings: use the form "
                                     "CONSTRUCT { template } WHERE { pattern }")
                else:
                    return i + 1
            depth += 1
        i += 1
    return None


def bind_values(query: str, bindings: Bindings | Sequence[Bindings] | None) -> str:
    """The query with ``bindings`` (one row, or several) as a VALUES block; see the module doc."""
    rows = [bindings] if isinstance(bindings, Mapping) else list(bindings or [])
    rows = [row for row in rows if row]
    if not rows:
        return query
    block = values_block(rows)
    start = where_group_start(query)
    if start is None:
        return f"{query.rstrip()}\n{block}\n"  # the trailing ValuesClause the grammar allows
    return f"{query[:start]}\n  {block}\n{query[start:]}"


# ---------------------------------------------------------------- results

def _json_term(cell: Mapping[str, str]) -> Term:
    kind, value = cell.get("type"), cell.get("value", "")
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        # A store's blank node labels (Virtuoso's 'nodeID://b1') need not be valid N-Triples
        # labels; keep them distinct and stable within one answer.
        return ox.BlankNode(re.sub(r"[^A-Za-z0-9_]", "_", value) or "b")
    if kind in ("literal", "typed-literal"):  # 'typed-literal': the pre-W3C form Virtuoso sends
        if cell.get("xml:lang"):
            return ox.Literal(value, language=cell["xml:lang"])
        if cell.get("datatype"):
            return ox.Literal(value, datatype=ox.NamedNode(cell["datatype"]))
        return ox.Literal(value)
    raise ValueError(f"unknown term type {kind!r} in a SPARQL JSON result")


def parse_json_results(document: Mapping[str, Any]) -> Solutions:
    if "boolean" in document:
        return Solutions([], [], bool(document["boolean"]))
    variables = list(document.get("head", {}).get("vars", []))
    rows = [{name: _json_term(cell) for name, cell in binding.items()}
            for binding in document.get("results", {}).get("bindings", [])]
    return Solutions(variables, rows)


# ---------------------------------------------------------------- the client

_FORM_RE = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the first such keyword outside comment lines."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    match = _FORM_RE.search(body)
    return match.group(1).upper() if match else "SELECT"


class _Wrapper(SPARQLWrapper):
    """SPARQLWrapper sending through our own opener: its DIGEST mode would install a global
    urllib opener (shared by every thread of a server), and its timeout is whole seconds."""

    def __init__(self, endpoint: str, opener: urllib.request.OpenerDirector, timeout: float):
        super().__init__(endpoint)
        self._opener = opener
        self._timeout_s = timeout

    def _query(self) -> tuple[HTTPResponse, str]:
        return self._opener.open(self._createRequest(), timeout=self._timeout_s), self.returnFormat


def _opener(endpoint: str, credentials: Credentials | None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = []
    if credentials:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, endpoint, credentials.user, credentials.password)
        if credentials.scheme in ("auto", "basic"):
            handlers.append(urllib.request.HTTPBasicAuthHandler(passwords))
        if credentials.scheme in ("auto", "digest"):
            handlers.append(urllib.request.HTTPDigestAuthHandler(passwords))
    return urllib.request.build_opener(*handlers)


class RemoteSparql:
    """Queries one SPARQL endpoint; safe to share between threads (each call is independent)."""

    def __init__(self, endpoint: str, timeout: float = 30.0, credentials: Credentials | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.endpoint = endpoint
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._opener = _opener(endpoint, credentials)
        self._sleep = sleep

    def select(self, query: str, bindings: Bindings | Sequence[Bindings] | None = None) -> Solutions:
        """A SELECT's variables and rows, or an ASK's boolean."""
        body, _ = self._send(bind_values(query, bindings), accept=None)
        try:
            return parse_json_results(json.loads(body))
        except (ValueError, TypeError, AttributeError) as exc:
            raise RemoteError(f"{self.endpoint} sent a SPARQL JSON result that does not parse: {exc}",
                              self.endpoint) from exc

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        return bool(self.select(query, bindings).boolean)

    def construct(self, query: str, bindings: Bindings | Sequence[Bindings] | None = None
                  ) -> list[ox.Triple]:
        """The triples of a CONSTRUCT or DESCRIBE."""
        body, media_type = self._send(bind_values(query, bindings),
                                      accept="application/n-triples, text/turtle;q=0.9")
        fmt = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
        try:
            return [q.triple for q in ox.parse(body, format=fmt)]
        except SyntaxError as exc:
            raise RemoteError(f"{self.endpoint} sent RDF that does not parse: {exc}", self.endpoint) from exc

    def _send(self, text: str, accept: str | None) -> tuple[bytes, str]:
        wrapper = _Wrapper(self.endpoint, self._opener, self.timeout)
        wrapper.setQuery(text)
        # SPARQLWrapper guesses the form after dropping comment lines, but drops only every
        # other line of a comment block: "does not describe" in a query's header made a SELECT
        # a DESCRIBE, sent with Accept */*. The form comes from the text without comments.
        wrapper.queryType = query_form(text)
        wrapper.setMethod(POST)  # queries with VALUES blocks outgrow a URL
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)  # no 'format=json' parameters: some stores reject them
        wrapper.setReturnFormat(TURTLE if accept else JSON)
        if accept:
            wrapper.addCustomHttpHeader("Accept", accept)

        def attempt() -> tuple[bytes, str]:
            try:
                response = wrapper.query().response
                media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
                return response.read(), media_type
            except urllib.error.HTTPError as exc:
                detail = " ".join(exc.read().decode("utf-8", "replace").split())[:300]
                raise judge_status(exc.code, exc.headers.get("Retry-After"), self.retry, self.endpoint,
                                   self.endpoint, "refused the query", f": {detail}" if detail else "") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise RetryableFailure(f"could not connect, or no answer in time ({reason})") from exc

        try:
            return with_retries(self.retry, self._sleep, attempt)
        except RetryableFailure as last:
            raise RemoteError(f"query to {self.endpoint} failed after {self.retry.attempts} tries: {last.failure}",
                              self.endpoint, last.status) from None
