"""The SPARQL client ``claimgraph link`` talks to Wikidata (or a stand-in) with: SPARQLWrapper,
a descriptive User-Agent, timeouts, and bounded retries that honour ``Retry-After``.

The queries it sends are the files in ``queries/wikidata/`` (same header format as the
dataset's named queries). Values go in as bindings: a ``VALUES`` block of RDF terms written by
pyoxigraph, placed first in the query's WHERE group by :func:`claimgraph.remote.sparql.bind_values`
(the project's one way of binding variables on a remote endpoint; its module says why there),
never pasted into the query text. Every failure becomes a :class:`LinkError` with one readable
message, and nothing here prints.
"""

from __future__ import annotations

import http.client
import json
import math
import platform
import re
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import SPARQLWrapper as sparqlwrapper
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    SPARQLWrapperException,
    Unauthorized,
    URITooLong,
)

from claimgraph import __version__
from claimgraph.errors import ClaimgraphError
from claimgraph.queries import NamedQuery, load_query
from claimgraph.remote.http import retry_after
from claimgraph.remote.sparql import bind_values
from claimgraph.resources import QUERIES_DIR, project_file

WIKIDATA_ENDPOINT = "https://query.wikidata.org/sparql"
WIKIDATA_QUERIES = f"{QUERIES_DIR}/wikidata"
# Wikidata answers 429 when a client sends too much and 503 when it is overloaded; gateways
# answer 502/504 on a transient fault. Anything else (400, 404, 500: WDQS's "query timed out")
# would fail the same way again.
RETRY_STATUSES = {429, 502, 503, 504}
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Long VALUES blocks make long URLs; proxies reject URLs of more than a few kB.
MAX_GET_QUERY_CHARS = 2000
ROWS_PER_REQUEST = 100
Term = ox.NamedNode | ox.Literal | ox.BlankNode
_IRI_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


class LinkError(ClaimgraphError):
    """Talking to the SPARQL endpoint failed, or its answer was not usable."""


@dataclass(frozen=True)
class ClientSettings:
    endpoint: str = WIKIDATA_ENDPOINT
    timeout: float = 70.0  # WDQS stops queries at 60 s; wait a little longer than that
    attempts: int = 4  # one try and up to three retries
    max_wait: float = 120.0  # the longest Retry-After claimgraph will honour
    contact: str | None = None  # an e-mail address or URL for the User-Agent

    def __post_init__(self) -> None:
        if not _IRI_RE.match(self.endpoint) or not urlsplit(self.endpoint).netloc:
            raise LinkError(f"endpoint '{self.endpoint}' is not an absolute http(s) URL")
        if not self.timeout > 0 or self.attempts < 1 or self.max_wait < 0:
            raise LinkError("the timeout must be positive, attempts at least 1 and max wait not negative")


def user_agent(contact: str | None) -> str:
    """A User-Agent in the form the Wikimedia User-Agent policy asks for:
    ``client/version (contact) library/version``."""
    about = "claimgraph: linking opinion journalism to Wikidata"
    if contact:
        about += f"; {contact}"
    return (f"claimgraph/{__version__} ({about}) SPARQLWrapper/{sparqlwrapper.__version__} "
            f"Python/{platform.python_version()}")


def query_body(query: NamedQuery) -> str:
    """The query without its header: the header documents the file, the endpoint needs none of
    it (and SPARQLWrapper, which guesses the query form from keywords, misreads comments)."""
    return "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#")).strip() + "\n"


def remote_query(name: str) -> NamedQuery:
    """One of the queries ``claimgraph link`` sends, from ``queries/wikidata/NAME.rq``."""
    return load_query(project_file(WIKIDATA_QUERIES) / f"{name}.rq")


@dataclass
class Exchange:
    """What one request came to, for the report: retries are worth telling the user about."""

    query: str
    status: int | None
    waited: float


@dataclass
class WikidataClient:
    settings: ClientSettings = field(default_factory=ClientSettings)
    sleep: Callable[[float], None] = time.sleep
    log: list[Exchange] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def agent(self) -> str:
        return user_agent(self.settings.contact)

    def select(self, query: NamedQuery, rows: Sequence[Mapping[str, Term]] = ()
               ) -> list[dict[str, Term]]:
        """Run a SELECT from ``queries/wikidata/`` with its parameters bound to ``rows`` (sent in
        batches), and return every solution as pyoxigraph terms."""
        variables = [p.name for p in query.parameters]
        for row in rows:
            unknown = set(row) - set(variables)
            if unknown:
                raise LinkError(f"query '{query.name}' has no parameter ?{sorted(unknown)[0]}", query.path)
        missing = [p.name for p in query.parameters if p.required]
        if missing and not rows:
            return []  # nothing to ask about
        solutions: list[dict[str, Term]] = []
        batches = [rows[i:i + ROWS_PER_REQUEST] for i in range(0, len(rows), ROWS_PER_REQUEST)] or [()]
        for batch in batches:
            try:
                text = bind_values(query_body(query), list(batch))
            except ValueError as exc:  # a value pyoxigraph cannot write as a SPARQL term
                raise LinkError(f"query '{query.name}': {exc}", query.path) from exc
            solutions.extend(parse_results(self.request(text, query.name), self.endpoint))
        return solutions

    def request(self, text: str, name: str = "query") -> dict:
        """Send one query; return the SPARQL JSON results document, retrying where it helps."""
        for attempt in range(1, self.settings.attempts + 1):
            outcome = self._once(text)
            if outcome.document is not None:
                self.log.append(Exchange(name, 200, 0.0))
                return outcome.document
            if outcome.status not in RETRY_STATUSES:
                self.log.append(Exchange(name, outcome.status, 0.0))
                raise LinkError(f"{self.endpoint}: {outcome.problem}")
            wait = outcome.retry_after
            if wait is None:  # no usable Retry-After: back off exponentially
                wait = min(2.0 ** (attempt - 1), 30.0)
            if attempt == self.settings.attempts:
                self.log.append(Exchange(name, outcome.status, 0.0))
                raise LinkError(f"{self.endpoint}: {outcome.problem}; gave up after {attempt} attempt(s)")
            if wait > self.settings.max_wait:
                self.log.append(Exchange(name, outcome.status, 0.0))
                raise LinkError(f"{self.endpoint}: {outcome.problem} and asked to wait {wait:.0f} s, longer "
                                f"than the {self.settings.max_wait:g} s claimgraph waits; try again later")
            self.log.append(Exchange(name, outcome.status, wait))
            self.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _once(self, text: str) -> _Outcome:
        """One HTTP exchange, its failures turned into a status and a readable problem."""
        sparql = SPARQLWrapper(self.endpoint, agent=self.agent)
        sparql.setQuery(text)
        sparql.setReturnFormat(JSON)
        sparql.setOnlyConneg(True)  # no format=json parameters: plain content negotiation
        # SPARQLWrapper keeps whole seconds; never round a short timeout down to "none"
        sparql.setTimeout(max(1, math.ceil(self.settings.timeout)))
        if len(text) > MAX_GET_QUERY_CHARS:
            sparql.setMethod(POST)
        timed_out = _Outcome(problem=f"no answer within {self.settings.timeout:g} s (timeout)")
        try:
            response = sparql.query().response
            content_type = response.headers.get("Content-Type", "")
            body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return _Outcome(exc.code, retry_after(exc.headers.get("Retry-After")),
                            f"the endpoint answered HTTP {exc.code} {exc.reason}")
        except EndPointInternalError as exc:
            return _Outcome(500, problem=f"the endpoint answered HTTP 500 Internal Server Error{_first_line(exc)}")
        except QueryBadFormed as exc:
            return _Outcome(400, problem=f"the endpoint refused the query as malformed (HTTP 400){_first_line(exc)}")
        except EndPointNotFound:
            return _Outcome(404, problem="no SPARQL endpoint at this URL (HTTP 404)")
        except Unauthorized:
            return _Outcome(401, problem="the endpoint asks for credentials (HTTP 401)")
        except URITooLong:
            return _Outcome(414, problem="the endpoint refused the request as too long (HTTP 414)")
        except SPARQLWrapperException as exc:
            return _Outcome(problem=f"the request failed: {exc}")
        except TimeoutError:  # socket.timeout is TimeoutError
            return timed_out
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return timed_out
            return _Outcome(problem=f"cannot reach the endpoint: {exc.reason}")
        except (http.client.HTTPException, OSError) as exc:
            return _Outcome(problem=f"the connection failed: {exc or type(exc).__name__}")
        return _decode(content_type, body)


@dataclass
class _Outcome:
    status: int | None = None
    retry_after: float | None = None
    problem: str = ""
    document: dict | None = None


def _decode(content_type: str, body: bytes) -> _Outcome:
    if len(body) > MAX_RESPONSE_BYTES:
        return _Outcome(problem=f"the answer is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ("application/sparql-results+json", "application/json"):
        return _Outcome(problem=f"the endpoint answered with {media_type or 'no content type'}, not SPARQL "
                                "JSON results (is this the URL of a SPARQL endpoint?)")
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _Outcome(problem="the answer is not UTF-8")
    except json.JSONDecodeError as exc:
        return _Outcome(problem=f"the answer is malformed JSON ({exc.msg} at line {exc.lineno} "
                                f"column {exc.colno})")
    problem = _check_results(document)
    if problem:
        return _Outcome(problem=f"the answer is not a SPARQL JSON results document: {problem}")
    return _Outcome(document=document)


def _first_line(exc: Exception) -> str:
    text = str(exc).split("Response:", 1)[-1].strip().strip("b'\"").replace("\\n", "\n")
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return f": {line[:200]}" if line else ""


def _check_results(document: object) -> str | None:
    if not isinstance(document, dict):
        return "not a JSON object"
    head, results = document.get("head"), document.get("results")
    if not isinstance(head, dict) or not isinstance(head.get("vars", []), list):
        return "no 'head' with 'vars'"
    if "boolean" in document:
        return None
    if not isinstance(results, dict) or not isinstance(results.get("bindings"), list):
        return "no 'results' with 'bindings'"
    for binding in results["bindings"]:
        if not isinstance(binding, dict):
            return "a binding is not an object"
        for term in binding.values():
            if not isinstance(term, dict) or not isinstance(term.get("value"), str) or \
                    term.get("type") not in ("uri", "literal", "typed-literal", "bnode"):
                return "a bound value lacks a known 'type' or a text 'value'"
    return None


def parse_results(document: dict, source: str = "") -> list[dict[str, Term]]:
    """SPARQL JSON results → rows of pyoxigraph terms (lexical forms kept exactly)."""
    rows = []
    for binding in document.get("results", {}).get("bindings", []):
        row: dict[str, Term] = {}
        for name, term in binding.items():
            try:
                row[name] = _term(term)
            except ValueError as exc:
                raise LinkError(f"{source}: the answer holds an invalid RDF term: {exc}") from None
        rows.append(row)
    return rows


def _term(term: dict) -> Term:
    kind, value = term["type"], term["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode()  # a remote blank node label means nothing here
    if "xml:lang" in term:
        return ox.Literal(value, language=term["xml:lang"])
    if "datatype" in term:
        return ox.Literal(value, datatype=ox.NamedNode(term["datatype"]))
    return ox.Literal(value)


def wikidata_item(qid: str) -> ox.NamedNode:
    return ox.NamedNode(f"http://www.wikidata.org/entity/{qid}")


def qid_of(term: Term | None) -> str | None:
    """``Q42`` for ``http://www.wikidata.org/entity/Q42``; None for anything else."""
    if isinstance(term, ox.NamedNode):
        match = re.fullmatch(r"http://www\.wikidata\.org/entity/(Q[1-9][0-9]*)", term.value)
        if match:
            return match.group(1)
    return None


def queries_folder() -> Path:
    return project_file(WIKIDATA_QUERIES)
