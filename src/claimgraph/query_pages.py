"""Long listings a page at a time.

A named query whose header has a ``# page:`` line (``claimgraph.queries.QueryPage``) lists, at
10,000 articles, tens of thousands of rows: tens of seconds on the embedded store, most of it
spent joining and decoding rows nobody reads at once. Paged, it answers in the time its page
takes: its keys query lists the values of the page variable in the listing's order (every
article, oldest first), and a page binds ``size`` of them as a VALUES block, the way parameters
are bound. Each listing orders by its page variable's order first, so its pages, one after
the other, are exactly its whole answer.

A page applies when the page variable is not itself a parameter the caller bound, and the keys
query declares every parameter the caller bound: the keys then narrow as the listing does
(claims-about-entity's keys are the articles about the entity). Otherwise, e.g. quotations of
one speaker, the answer is short and comes whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import QueryError
from claimgraph.queries import NamedQuery, QueryResult, evaluate_rows, load_query

Term = ox.NamedNode | ox.Literal
# Runs a query with its variables bound to each of the rows (a VALUES block), wherever the
# data is: ``claimgraph.queries.evaluate_rows`` on the embedded store, or a remote endpoint.
RowsRunner = Callable[[NamedQuery, list[dict[str, Term]]], QueryResult]


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``count``, over ``keys`` values of the page variable."""

    number: int
    count: int
    keys: int
    first_key: int  # index of the page's first key among all keys (0-based)
    size: int

    def label(self, what: str) -> str:
        """e.g. "page 2 of 6: articles 21–40 of 120"."""
        last = min(self.first_key + self.size, self.keys)
        shown = f"{self.first_key + 1}–{last}" if last > self.first_key else "none"
        return f"page {self.number} of {self.count}: {what or 'keys'} {shown} of {self.keys}"


@cache
def keys_query(path: Path) -> NamedQuery:
    return load_query(path)


def is_paged(query: NamedQuery, bindings: dict[ox.Variable, Term]) -> bool:
    """Whether ``query`` with ``bindings`` answers a page at a time (see the module doc)."""
    if query.page is None:
        return False
    bound = {variable.value for variable in bindings}
    if query.page.variable in bound:
        return False
    declared = {p.name for p in keys_query(query.page.keys).parameters}
    return bound <= declared


def key_bindings(query: NamedQuery, bindings: dict[ox.Variable, Term]) -> dict[ox.Variable, Term]:
    """The bindings the keys query takes (all of them, when the query is paged)."""
    assert query.page is not None
    declared = {p.name for p in keys_query(query.page.keys).parameters}
    return {v: t for v, t in bindings.items() if v.value in declared}


def read_keys(result: QueryResult, query: NamedQuery) -> list[Term]:
    """The page keys from the keys query's answer: its first column, in order, each once (a
    key listed twice would put its rows on two pages)."""
    where = query.page.keys if query.page else query.path
    if not result.variables:
        raise QueryError(f"the keys query of '{query.name}' is not a SELECT", where)
    column = result.variables[0]
    keys: dict[Term, None] = {}
    for row in result.rows:
        key = row.get(column)
        if isinstance(key, ox.NamedNode | ox.Literal):
            keys[key] = None
        elif key is not None:  # a blank node cannot be bound in a VALUES block
            raise QueryError(f"the keys query of '{query.name}' gave a blank node; keys are IRIs or literals",
                             where)
    return list(keys)


def page_of(query: NamedQuery, keys: list[Term], number: int) -> Page:
    """Page ``number`` of ``keys``; a number past the last page is an error naming the last."""
    assert query.page is not None
    size = query.page.size
    count = max(1, -(-len(keys) // size))
    if number < 1 or number > count:
        raise QueryError(f"query '{query.name}' has {count} page{'s' if count != 1 else ''} "
                         f"({len(keys)} {query.page.description or 'keys'}, {size} per page): "
                         f"there is no page {number}", query.path)
    return Page(number, count, len(keys), (number - 1) * size, size)


def page_rows(query: NamedQuery, bindings: dict[ox.Variable, Term], keys: list[Term],
              page: Page) -> list[dict[str, Term]]:
    """The VALUES rows that make ``query`` answer ``page``: the bindings, and one key per row.
    Empty when there are no keys at all (the whole answer is then empty or short)."""
    assert query.page is not None
    common = {v.value: t for v, t in bindings.items()}
    chosen = keys[page.first_key:page.first_key + page.size]
    return [{**common, query.page.variable: key} for key in chosen]


def run_page(run_rows: RowsRunner, query: NamedQuery, bindings: dict[ox.Variable, Term],
             number: int) -> tuple[QueryResult, Page]:
    """Page ``number`` of a paged query's answer: its keys first, then the page."""
    assert query.page is not None
    wanted = key_bindings(query, bindings)
    keys = read_keys(run_rows(keys_query(query.page.keys), [{v.value: t for v, t in wanted.items()}]), query)
    page = page_of(query, keys, number)
    rows = page_rows(query, bindings, keys, page)
    if not rows:  # nothing to list: the unpaged query says so just as fast
        rows = [{v.value: t for v, t in bindings.items()}]
    return run_rows(query, rows), page


def store_runner(store: ox.Store) -> RowsRunner:
    return lambda query, rows: evaluate_rows(store, query, rows)
