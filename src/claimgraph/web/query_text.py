"""Looking at a SPARQL query's text before the parser does: its form, whether it is an
update or uses SERVICE, how big and how deeply nested it is (the parser's stack has limits), and
rewriting the IRIs written in it between public URLs and the dataset's IRIs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph.web.protocol import QUERY_FORMS, UPDATE_KEYWORDS

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
    tokens: int = 0  # terms, keywords and punctuation (a bound, for a query far below the limits)
    depth: int = 0  # the deepest nesting of {}, () and [] (likewise)

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_KEYWORDS


def query_tokens(text: str) -> Iterator[tuple[str, str]]:
    """The kind and text of each token of a query, whitespace and comments left out."""
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            yield kind or "other", match.group()


def query_form(text: str) -> str | None:
    """The keyword after the prologue (``BASE`` and ``PREFIX`` declarations), upper-cased, when it
    is a query form or an update operation; None otherwise. Reads only the prologue."""
    tokens = query_tokens(text)
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


# pyoxigraph parses and evaluates recursively: a query nested thousands of levels deep, or a
# chain of thousands of joins, unions or operators, overflows a worker's stack and kills it. Such
# a query is refused before it reaches the parser (and the workers run queries on a large stack,
# so everything under these limits is far from the edge).
MAX_QUERY_TOKENS = 20_000
MAX_QUERY_DEPTH = 500
QUERY_STACK_BYTES = 256 * 1024 * 1024


def scan_query(text: str) -> QueryShape:
    """Form, dataset clause and SERVICE use, from the tokens (comments, strings and IRIs skipped:
    a ``FROM`` inside a string or a variable ``?service`` does not count). A lexical scan cannot
    always tell an IRI from a ``<`` comparison, so ``uses_service`` may miss a SERVICE hidden
    behind one: :func:`service_is_syntax` is the exact check."""
    upper = text.upper()
    brackets = text.count("{") + text.count("(") + text.count("[")
    if "FROM" not in upper and "SERVICE" not in upper and len(text) <= MAX_QUERY_TOKENS \
            and brackets <= MAX_QUERY_DEPTH:
        # Neither word anywhere, and too short to reach the limits (a token is at least one
        # character, a level at least one bracket): the counts are bounds, and the token scan,
        # a fifth of a small query's time in the worker, is skipped.
        return QueryShape(query_form(text), False, False, len(text), brackets)
    return scan_tokens(text)


def scan_tokens(text: str) -> QueryShape:
    """:func:`scan_query` token by token, with exact counts."""
    words: set[str] = set()
    tokens = depth = deepest = 0
    for kind, value in query_tokens(text):
        tokens += 1
        if kind == "word":
            words.add(value.upper())
        elif value in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif value in "})]":
            depth -= 1
    return QueryShape(query_form(text), "FROM" in words, "SERVICE" in words, tokens, deepest)


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


def rewrite_iris(text: str, public: str, internal: str) -> str:
    """Replace the public base by the store's in every ``<IRI>`` token of ``text``."""
    needle = "<" + public
    if needle not in text:
        return text
    if not any(mark in text for mark in ("'", '"', "#")):
        # no string and no comment, so every "<" + public starts an IRI token
        return text.replace(needle, "<" + internal)
    parts: list[str] = []
    last = 0
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "iri" and match.group().startswith(needle):
            parts.append(text[last:match.start()])
            parts.append("<" + internal + match.group()[len(needle):])
            last = match.end()
    parts.append(text[last:])
    return "".join(parts)
