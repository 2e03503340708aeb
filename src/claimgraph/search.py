"""Full-text search over names (every language), claims and quotations.

The SPARQL store has no text index, so the build writes one with SQLite FTS5 next to the
dumps; the server opens it read-only. Queries are turned into FTS5 phrases, never passed
through as FTS5 syntax, so no search text can be an FTS5 syntax error.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from claimgraph.namespaces import Iris

SEARCH_FILE = "search.sqlite"
S = "http://schema.org/"
_TEXT_FIELDS = {S + "name": "name", S + "alternateName": "name", S + "headline": "name",
                S + "text": "text", S + "description": "description",
                "http://www.w3.org/2000/01/rdf-schema#label": "name"}
_KINDS = {S + "Claim": "claim", S + "Quotation": "quotation", S + "OpinionNewsArticle": "article"}
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    iri: str
    kind: str
    label: str
    snippet: str
    score: float


Row = tuple[str, str, str, str, str, str]  # iri, kind, label, names, texts, descriptions


def index_rows(quads: Iterable[ox.Quad], iris: Iris) -> list[Row]:
    """The search rows of a set of graphs: every named resource with text, every claim and
    quotation. A resource's statements are all in one article graph, or all in the shared
    graphs, so each article graph's rows can be made (and kept) on their own."""
    texts: dict[str, dict[str, list[str]]] = {}
    kinds: dict[str, str] = {}
    for q in quads:
        subject = q.subject.value
        if not isinstance(q.subject, ox.NamedNode) or not subject.startswith(iris.base):
            continue
        if q.predicate.value == _RDF_TYPE:
            kind = _KINDS.get(q.object.value)
            if kind or subject not in kinds:
                kinds[subject] = kind or ("entity" if "/entity/" in subject else "resource")
        field = _TEXT_FIELDS.get(q.predicate.value)
        if field and isinstance(q.object, ox.Literal):
            bucket = texts.setdefault(subject, {})
            if q.object.value not in bucket.setdefault(field, []):
                bucket[field].append(q.object.value)
    rows = []
    for subject in sorted(texts):
        fields = texts[subject]
        label = (fields.get("name") or fields.get("text") or fields.get("description") or [subject])[0]
        rows.append((subject, kinds.get(subject, "resource"), label, "\n".join(fields.get("name", [])),
                     "\n".join(fields.get("text", [])), "\n".join(fields.get("description", []))))
    return rows


def write_search_index(path: Path, groups: Iterable[tuple[str, Sequence[Row]]], previous: Path | None = None,
                dropped: Iterable[str] = ()) -> None:
    """Write the index at ``path``: each group (a graph, or the shared graphs) with its rows.
    Given the ``previous`` index, start from a copy of it, first removing the ``dropped``
    groups and those given again, so a rebuild touches only what changed. The groups are
    read one at a time as they are inserted (a whole corpus's rows, held at once, were more
    than a GB at 100,000 articles), but for a rebuild, whose few groups are named first."""
    path.unlink(missing_ok=True)
    if previous is not None:
        shutil.copyfile(previous, path)
    db = sqlite3.connect(path)
    try:
        if previous is None:
            db.execute("CREATE VIRTUAL TABLE docs USING fts5(iri UNINDEXED, kind UNINDEXED, label UNINDEXED, "
                       "name, text, description, graph UNINDEXED, "
                       "tokenize = 'unicode61 remove_diacritics 2')")
        else:
            groups = list(groups)
            # one pass over the table, however many groups go (graph is not an indexed column)
            db.execute("CREATE TEMP TABLE gone (name TEXT PRIMARY KEY)")
            db.executemany("INSERT OR IGNORE INTO gone VALUES (?)", [(name,) for name in dropped] +
                           [(name,) for name, _ in groups])
            db.execute("DELETE FROM docs WHERE graph IN (SELECT name FROM gone)")
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((*row, name) for name, rows in groups for row in rows))
        db.commit()
    finally:
        db.close()


def to_fts_query(text: str) -> str | None:
    """Each word as a quoted prefix term, all required: 'Aliyev blockade' → "aliyev"* "blockade"*."""
    words = _WORD.findall(text.lower())[:12]
    return " ".join(f'"{w}"*' for w in words) if words else None


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def search(self, text: str, limit: int = 50, kind: str | None = None) -> list[Hit]:
        query = to_fts_query(text)
        if query is None:
            return []
        sql = ("SELECT iri, kind, label, snippet(docs, -1, char(2), char(3), '…', 12), "
               "bm25(docs, 0, 0, 0, 10.0, 3.0, 1.0) AS score FROM docs WHERE docs MATCH ?")
        params: list[object] = [query]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY score, iri LIMIT ?"
        params.append(limit)
        return [Hit(*row) for row in self.db.execute(sql, params)]

    def close(self) -> None:
        self.db.close()
