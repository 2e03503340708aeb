"""Named SPARQL queries: ``queries/*.rq`` files with a header, run with bound parameters.

A query file starts with comment lines that document it::

    # title: Claims by a person
    # description: Every claim attributed to a person, with the article it appears in.
    # param: ?person (entity, optional) the claimant: a registry key such as ilham-aliyev, or an IRI
    # page: ?article (20, keys=pages/articles-by-date.rq) articles, oldest first

A ``page`` line makes a long listing answer a page at a time (``claimgraph.query_pages``): the
keys query lists the values of ``?article`` in the listing's order, and a page binds 20 of them.

Parameters are passed as SPARQL variable substitutions (pyoxigraph's ``substitutions``), never
pasted into the query text. A parameter left out leaves its variable free, so an optional
parameter widens the query to every value.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from claimgraph.errors import QueryError, SourceError
from claimgraph.namespaces import PREFIXES, XSD
from claimgraph.resources import QUERIES_DIR, project_file
from claimgraph.strict_yaml import read_text

if TYPE_CHECKING:
    from claimgraph.remote.sparql import RemoteSparql

PARAM_TYPES = ("entity", "iri", "string", "integer", "date", "language")
_HEADER_RE = re.compile(r"^#\s*(title|description|param|page):\s*(.*)$")
_PARAM_RE = re.compile(r"^\?([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*(.*)$")


@dataclass(frozen=True)
class QueryParameter:
    name: str
    type: str
    required: bool
    default: str | None
    description: str


@dataclass(frozen=True)
class QueryPage:
    """How a listing is paged: ``size`` values of ``variable`` per page, in the order the query
    file ``keys`` (a path relative to the query's folder) lists them."""

    variable: str
    size: int
    keys: Path
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    title: str
    description: str
    parameters: tuple[QueryParameter, ...]
    text: str
    page: QueryPage | None = None

    @property
    def form(self) -> str:
        from claimgraph.remote.sparql import query_form  # remote imports this module: import late

        return query_form(self.text)


def load_query(path: Path) -> NamedQuery:
    text = read_text(path)
    fields: dict[str, list[str]] = {"title": [], "description": []}
    params: list[QueryParameter] = []
    page = None
    last = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        match = _HEADER_RE.match(line)
        if match:
            key, value = match.groups()
            if key == "param":
                params.append(_parse_param(value, path, number))
                last = None
            elif key == "page":
                page = _parse_page(value, path, number, text)
                last = None
            else:
                fields[key].append(value.strip())
                last = key
        elif last and line[1:].strip():
            fields[last].append(line[1:].strip())  # a continuation line
    if not fields["title"]:
        raise SourceError("the query's header has no '# title:' line", path, 1)
    if not fields["description"]:
        raise SourceError("the query's header has no '# description:' line", path, 1)
    return NamedQuery(path.stem, path, " ".join(fields["title"]), " ".join(fields["description"]),
                      tuple(params), text, page)


@cache
def internal_query(folder: Path, name: str) -> str:
    """The text of ``folder/<name>.rq``: a query claimgraph runs itself, kept beside the module
    that runs it, with the same header as the named queries (checked here, read once)."""
    return load_query(folder / f"{name}.rq").text


def _parse_param(spec: str, path: Path, line: int) -> QueryParameter:
    match = _PARAM_RE.match(spec.strip())
    if not match:
        raise SourceError("a parameter reads '# param: ?name (type[, required][, default=VALUE]) "
                          "description'", path, line)
    name, options, description = match.groups()
    parts = [p.strip() for p in options.split(",") if p.strip()]
    if not parts or parts[0] not in PARAM_TYPES:
        raise SourceError(f"parameter ?{name} needs a type, one of: {', '.join(PARAM_TYPES)}", path, line)
    default = next((p.split("=", 1)[1].strip() for p in parts[1:] if p.startswith("default=")), None)
    return QueryParameter(name, parts[0], "required" in parts[1:], default, description.strip())


def _parse_page(spec: str, path: Path, line: int, text: str) -> QueryPage:
    form = "a page line reads '# page: ?name (SIZE, keys=FILE.rq) description'"
    match = _PARAM_RE.match(spec.strip())
    if not match:
        raise SourceError(form, path, line)
    name, options, description = match.groups()
    parts = [p.strip() for p in options.split(",")]
    keys = next((p.split("=", 1)[1].strip() for p in parts[1:] if p.startswith("keys=")), "")
    if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1 or not keys:
        raise SourceError(form, path, line)
    keys_path = path.parent / keys
    if not keys_path.is_file():
        raise SourceError(f"the page's keys query {keys} is not a file next to this query", path, line)
    if not re.search(rf"[?$]{name}\b", text.split("\n", line)[-1]):
        raise SourceError(f"the query pages by ?{name}, which its text never uses", path, line)
    return QueryPage(name, int(parts[0]), keys_path, description.strip())


def queries_dir() -> Path:
    return project_file(QUERIES_DIR)


def list_queries(directory: Path | None = None) -> list[NamedQuery]:
    return [load_query(p) for p in sorted((directory or queries_dir()).glob("*.rq"))]


# Federated queries (SERVICE to Wikidata or a stand-in) live in queries/federated/: they need
# the network, so they are kept apart from the named queries every build and test runs offline.
FEDERATED_DIR = "federated"


def list_federated_queries(directory: Path | None = None) -> list[NamedQuery]:
    return list_queries((directory or queries_dir()) / FEDERATED_DIR)


def find_query(name: str, directory: Path | None = None) -> NamedQuery:
    directory = directory or queries_dir()
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise QueryError(f"'{name}' is not a query name (letters, digits, '-' and '_')")
    path = directory / f"{name}.rq"
    if not path.is_file() and (directory / FEDERATED_DIR / f"{name}.rq").is_file():
        path = directory / FEDERATED_DIR / f"{name}.rq"
    if not path.is_file():
        known = ", ".join(q.path.stem for q in list_queries(directory))
        raise QueryError(f"no query named '{name}'; the queries are: {known}", directory)
    return load_query(path)


def bind_parameters(query: NamedQuery, values: dict[str, str], base_iri: str
                    ) -> dict[ox.Variable, ox.NamedNode | ox.Literal]:
    """Turn ``name=value`` strings into typed RDF terms for the query's declared parameters."""
    declared = {p.name: p for p in query.parameters}
    for name in values:
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise QueryError(f"query '{query.name}' has no parameter '{name}' (its parameters: {known})",
                             query.path)
    bindings: dict[ox.Variable, ox.NamedNode | ox.Literal] = {}
    for param in query.parameters:
        raw = values.get(param.name, param.default)
        if raw is None:
            if param.required:
                raise QueryError(f"query '{query.name}' needs the parameter '{param.name}': "
                                 f"{param.description}", query.path)
            continue
        bindings[ox.Variable(param.name)] = _term(param, raw, base_iri, query)
    return bindings


def _term(param: QueryParameter, raw: str, base_iri: str, query: NamedQuery) -> ox.NamedNode | ox.Literal:
    def bad(expected: str) -> QueryError:
        return QueryError(f"parameter '{param.name}' of query '{query.name}' must be {expected}, "
                          f"not {raw!r}", query.path)

    if param.type in ("entity", "iri"):
        if param.type == "entity" and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", raw):
            return ox.NamedNode(f"{base_iri}entity/{raw}")
        expected = "an entity key or an absolute http(s) IRI" if param.type == "entity" else "an absolute http(s) IRI"
        if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`\x00-\x1f\x7f-\x9f]+", raw):
            raise bad(expected)
        try:
            return ox.NamedNode(raw)
        except ValueError:  # e.g. a malformed host or port
            raise bad(expected) from None
    if param.type == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", raw):
            raise bad("a whole number")
        return ox.Literal(raw, datatype=ox.NamedNode(str(XSD.integer)))
    if param.type == "date":
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise bad("a date YYYY-MM-DD")
        return ox.Literal(raw, datatype=ox.NamedNode(str(XSD.date)))
    if param.type == "language":
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", raw):
            raise bad("a language tag such as en")
        return ox.Literal(raw)
    return ox.Literal(raw)


@dataclass
class QueryResult:
    """The answer to a SELECT (variables and rows) or an ASK (``boolean``)."""

    variables: list[str]
    rows: list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]
    boolean: bool | None = None

    def values(self, variable: str) -> list[str]:
        return [row[variable].value for row in self.rows if variable in row]


def run_query(store: ox.Store, query: NamedQuery, bindings: dict | None = None) -> QueryResult:
    services = service_variables(query, bindings or {})
    if services:
        return _run_federated(store, query, bindings or {}, services)
    return _evaluate(store, query, bindings or {})


def _evaluate(store: ox.Store, query: NamedQuery, bindings: dict, as_values: bool = True) -> QueryResult:
    # Parameters go in as a VALUES block of terms written by pyoxigraph (the binding mechanism
    # used for remote stores too): pyoxigraph's substitutions are planned far worse for some
    # queries (claim-anchor: 80 s against 0.1 s at 100 articles).
    if as_values:
        return evaluate_rows(store, query, [{v.value if isinstance(v, ox.Variable) else str(v): t
                                             for v, t in bindings.items()}])
    return _answer(store, query, query.text, bindings)


def evaluate_rows(store: ox.Store, query: NamedQuery, rows: list[dict[str, ox.NamedNode | ox.Literal]]
                  ) -> QueryResult:
    """Run ``query`` with its variables bound to each of ``rows`` in turn (one VALUES block)."""
    from claimgraph.remote.sparql import bind_values  # remote imports this module: import late

    return _answer(store, query, bind_values(query.text, rows), None)


def _answer(store: ox.Store, query: NamedQuery, text: str, substitutions: dict | None) -> QueryResult:
    try:
        if substitutions:
            answer = store.query(text, use_default_graph_as_union=True, substitutions=substitutions)
        else:
            answer = store.query(text, use_default_graph_as_union=True)
        if isinstance(answer, ox.QueryBoolean):
            return QueryResult([], [], bool(answer))
        if not isinstance(answer, ox.QuerySolutions):
            raise QueryError(f"query '{query.name}' is a {query.form}; named queries are SELECT or ASK",
                             query.path)
        variables = [v.value for v in answer.variables]
        # solutions come lazily: a SERVICE call can fail while they are read
        rows = [{v: solution[v] for v in variables if solution[v] is not None} for solution in answer]
    except SyntaxError as exc:
        raise QueryError(f"query '{query.name}' does not parse: {exc}", query.path) from exc
    except (OSError, RuntimeError, ValueError) as exc:
        # e.g. a parameter whose variable the query does not project: pyoxigraph refuses it
        raise QueryError(f"query '{query.name}' failed: {exc}", query.path) from exc
    return QueryResult(variables, rows)


_SERVICE_RE = re.compile(r"\bSERVICE\s+(?:SILENT\s+)?[?$]([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def service_variables(query: NamedQuery, bindings: dict) -> list[ox.Variable]:
    """The bound variables a query uses as ``SERVICE ?endpoint``: a federated query."""
    body = "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))
    names = dict.fromkeys(_SERVICE_RE.findall(body))
    return [v for v in bindings if v.value in names and isinstance(bindings[v], ox.NamedNode)]


def _run_federated(store: ox.Store, query: NamedQuery, bindings: dict,
                   services: list[ox.Variable]) -> QueryResult:
    """pyoxigraph runs ``SERVICE ?endpoint`` with its own HTTP client (no User-Agent of ours, no
    timeout, no retries); each endpoint is bound instead to a loopback relay that forwards the
    SERVICE requests with the linking client. See claimgraph.linking.relay."""
    from claimgraph.linking.relay import ServiceRelay, linked_items  # linking imports this module

    with ServiceRelay(linked_items(store)) as relay:
        routed = dict(bindings)
        for variable in services:
            routed[variable] = ox.NamedNode(relay.route(bindings[variable].value))
        try:
            result = _evaluate(store, query, routed, as_values=False)  # SERVICE ?x needs a substitution
        except QueryError as exc:
            if relay.errors:
                raise QueryError(f"query '{query.name}': the SERVICE endpoint failed: {relay.errors[0].message}",
                                 query.path) from exc
            raise
    # the relay's address is an implementation detail: show the endpoint the user gave
    shown = {relay_term.value: bindings[v] for v in services if isinstance(relay_term := routed[v], ox.NamedNode)}
    result.rows = [{k: shown.get(t.value, t) if isinstance(t, ox.NamedNode) else t for k, t in row.items()}
                   for row in result.rows]
    return result


def run_remote_query(client: RemoteSparql, query: NamedQuery, bindings: dict | None = None) -> QueryResult:
    """Run a named query on a remote endpoint. The bindings travel as a VALUES block at the top
    of the query's WHERE group, the SPARQL language's own way to bind variables (the protocol
    has none); why there, and not pasted text or a rewrite, is in ``claimgraph.remote.sparql``."""
    if query.form not in ("SELECT", "ASK"):
        raise QueryError(f"query '{query.name}' is a {query.form}; named queries are SELECT or ASK",
                         query.path)
    return remote_rows(client, query, [{variable.value: term for variable, term in (bindings or {}).items()}])


def remote_rows(client: RemoteSparql, query: NamedQuery, rows: list[dict]) -> QueryResult:
    """``query`` on a remote endpoint, its variables bound to each of ``rows`` (a VALUES block)."""
    try:
        answer = client.select(query.text, rows)
    except ValueError as exc:  # a binding that cannot be written as SPARQL
        raise QueryError(f"query '{query.name}': {exc}", query.path) from exc
    if answer.boolean is not None:
        return QueryResult([], [], answer.boolean)
    return QueryResult(answer.variables, answer.rows)


def _short(term: ox.NamedNode | ox.BlankNode | ox.Literal, base_iri: str) -> str:
    if isinstance(term, ox.NamedNode):
        if base_iri and term.value.startswith(base_iri):
            return term.value[len(base_iri):]  # the dataset's own IRIs, relative to its base
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns):
                return f"{prefix}:{term.value[len(ns):]}"
        return term.value
    return term.value


def format_result(result: QueryResult, fmt: str, base_iri: str = "") -> str:
    """Render as ``table`` (for people), ``csv`` or ``json`` (SPARQL 1.1 JSON results)."""
    if fmt == "json":
        if result.boolean is not None:
            return json.dumps({"head": {}, "boolean": result.boolean}, indent=1) + "\n"
        bindings = [{k: _json_term(v) for k, v in row.items()} for row in result.rows]
        return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, indent=1) + "\n"
    if result.boolean is not None:
        return ("true" if result.boolean else "false") + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow([row[v].value if v in row else "" for v in result.variables])
        return out.getvalue()
    if fmt != "table":
        raise QueryError(f"unknown output format '{fmt}' (table, csv or json)")
    cells = [[_short(row[v], base_iri) if v in row else "" for v in result.variables] for row in result.rows]
    widths = [min(60, max([len(v), *(len(c[i]) for c in cells)])) for i, v in enumerate(result.variables)]
    clip = lambda text, w: text if len(text) <= w else text[: w - 1] + "…"  # noqa: E731
    lines = ["  ".join(v.ljust(w) for v, w in zip(result.variables, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(clip(c.replace("\n", " "), w).ljust(w)
                               for c, w in zip(row, widths, strict=True)).rstrip())
    lines.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _json_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != str(XSD.string):
        out["datatype"] = term.datatype.value
    return out
