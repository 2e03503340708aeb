"""Point look-ups answered in the server process, without the round trip to a query worker.

A worker can be killed when a query runs past the time limit, which is why queries run there.
But most queries a linked-data client sends ask about one known resource: "the headline of
<article>", "every property of <entity>". Their cost is bounded by what the store holds about
those resources, and the round trip to a worker took most of their time: at 10,000 articles,
a headline look-up took 0.3 ms in process and 1.8 ms through a worker (which is idle, and so
cold, between queries). So a query is answered here when its text shows it can only read what
is known about named subjects, and the store shows those subjects are small:

- a SELECT or ASK over one group of triple patterns, each with an IRI as its subject; no
  FILTER, OPTIONAL, UNION, GRAPH, subquery, property path, blank node, ORDER BY or anything else
  (:func:`read_lookup` reads the tokens; anything it does not know sends the query on);
- the answer fits in ``MAX_LOOKUP_ROWS`` rows; a longer one is left to a worker. One triple
  pattern is read lazily, so this bounds its cost (an OFFSET skips at most what the store holds
  about the subject);
- with more patterns, which pyoxigraph may join by hashing one whole side first, each subject
  has at most 256 triples in the store (``subject_beyond_size.rq``: an article has about 40,
  the dataset node 20,000 at 10,000 articles). That costs about 0.1 ms a subject, so a
  one-pattern look-up does without it.

Everything else, and any query with default-graph-uri or named-graph-uri, goes to a worker as
before. The answer is the worker's own (``query_worker.answer``), so the two cannot differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from claimgraph.queries import internal_query
from claimgraph.web.query_text import query_tokens
from claimgraph.web.query_worker import PublicIris, answer

MAX_LOOKUP_ROWS = 1_000
MAX_LOOKUP_CHARS = 4_000
MAX_LOOKUP_PATTERNS = 16

_TERMS = ("iri", "pname")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Lookup:
    """What a point look-up reads: the subjects it names, and how many triple patterns."""

    subjects: list[str]
    patterns: int


class _NotALookup(Exception):
    pass


class _Reader:
    """The tokens of a query, one at a time, skipping whitespace and comments."""

    def __init__(self, text: str):
        self._tokens: Iterator[tuple[str, str]] = query_tokens(text)
        self.kind, self.value = "", ""
        self.next()

    def next(self) -> tuple[str, str]:
        current = (self.kind, self.value)
        self.kind, self.value = next(self._tokens, ("end", ""))
        return current

    def word(self, *words: str) -> bool:
        if self.kind == "word" and self.value.upper() in words:
            self.next()
            return True
        return False

    def mark(self, *marks: str) -> bool:
        if self.kind == "other" and self.value in marks:
            self.next()
            return True
        return False

    def expect_mark(self, mark: str) -> None:
        if not self.mark(mark):
            raise _NotALookup


def _iri(kind: str, value: str, prefixes: Mapping[str, str]) -> str:
    if kind == "iri":
        iri = value[1:-1]
    else:
        prefix, _, local = value.partition(":")
        if prefix not in prefixes or "\\" in local:
            raise _NotALookup
        iri = prefixes[prefix] + local
    if ":" not in iri or "\\" in iri:  # relative, or escaped: leave it to the parser
        raise _NotALookup
    return iri


def _object(reader: _Reader) -> None:
    if reader.kind in (*_TERMS, "var") or (reader.kind == "word" and reader.value in ("true", "false")):
        reader.next()
        return
    if reader.kind != "string":
        raise _NotALookup  # numbers, blank nodes, collections: not worth a grammar here
    reader.next()
    if reader.kind == "lang":
        reader.next()
    elif reader.mark("^"):
        reader.expect_mark("^")
        if reader.kind not in _TERMS:
            raise _NotALookup
        reader.next()


def read_lookup(text: str) -> Lookup | None:
    """What ``text`` reads when it is a point look-up (see the module doc), else None."""
    if len(text) > MAX_LOOKUP_CHARS:
        return None
    try:
        return _read_lookup(_Reader(text))
    except _NotALookup:
        return None


def _read_lookup(reader: _Reader) -> Lookup:
    prefixes: dict[str, str] = {}
    while reader.word("PREFIX"):
        if reader.kind != "pname" or not reader.value.endswith(":"):
            raise _NotALookup
        name = reader.next()[1][:-1]
        if reader.kind != "iri":
            raise _NotALookup
        prefixes[name] = reader.next()[1][1:-1]
    if reader.word("SELECT"):
        reader.word("DISTINCT", "REDUCED")
        if not reader.mark("*"):
            if reader.kind != "var":
                raise _NotALookup
            while reader.kind == "var":
                reader.next()
    elif not reader.word("ASK"):
        raise _NotALookup
    reader.word("WHERE")
    reader.expect_mark("{")
    subjects: list[str] = []
    patterns = 0
    while not reader.mark("}"):
        if reader.kind not in _TERMS:
            raise _NotALookup
        subjects.append(_iri(*reader.next(), prefixes))
        while True:  # predicate-object lists
            if not (reader.kind in (*_TERMS, "var") or (reader.kind == "word" and reader.value == "a")):
                raise _NotALookup
            reader.next()
            _object(reader)
            patterns += 1
            while reader.mark(","):
                _object(reader)
                patterns += 1
            if not reader.mark(";") or (reader.kind == "other" and reader.value in (".", "}")):
                break
        if patterns > MAX_LOOKUP_PATTERNS:
            raise _NotALookup
        if not reader.mark("."):
            reader.expect_mark("}")
            break
    while reader.word("LIMIT", "OFFSET"):
        if not (reader.kind == "other" and reader.value.isdigit()):
            raise _NotALookup
        while reader.kind == "other" and reader.value.isdigit():
            reader.next()
    if reader.kind != "end" or not subjects:
        raise _NotALookup
    return Lookup(subjects, patterns)


class PointLookups:
    """Answers point look-ups on its own read-only handle of the store (see the module doc)."""

    def __init__(self, store_path: Path, config: Mapping[str, Any]):
        self.store = ox.Store.read_only(str(store_path))
        self.config = config
        self._beyond_size = internal_query(_HERE, "subject_beyond_size")
        public = config.get("public_base")
        self._public = PublicIris(*public) if public else None
        self.answered = 0  # for tests and health checks

    def _small(self, subject: str) -> bool:
        try:
            node = ox.NamedNode(self._public.from_public(subject) if self._public else subject)
        except ValueError:
            return False  # the parser will say what is wrong with it
        rows = self.store.query(self._beyond_size, use_default_graph_as_union=True,
                                substitutions={ox.Variable("subject"): node})
        return next(iter(rows), None) is None  # type: ignore[arg-type]

    def answer(self, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """The reply a worker would give to ``message``, or None when it is no point look-up."""
        if message["default_graphs"] or message["named_graphs"]:
            return None
        lookup = read_lookup(message["query"])
        if lookup is None or (lookup.patterns > 1 and not all(self._small(s) for s in dict.fromkeys(lookup.subjects))):
            return None
        limit = message["limit"]
        reply = answer(self.store, self.config, {**message, "limit": min(limit, MAX_LOOKUP_ROWS)})
        if reply["ok"] and reply["truncated"] and limit > MAX_LOOKUP_ROWS:
            return None  # longer than a look-up: a worker writes it, within the time limit
        self.answered += 1
        return reply
