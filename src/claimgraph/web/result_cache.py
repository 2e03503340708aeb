"""Answers of the local engine, kept for repeated queries.

The embedded store is opened read-only for the server's lifetime, so the same query over the
same dataset gets the same answer: a repeated query (a page's named query, a client polling,
the same lookup for many readers) is answered from here, without the round trip to a worker.
What is never kept: errors and timeouts, answers cut at the result cap, answers over a size
(``LruCache.max_item``), and queries whose answer changes from run to run (``NOW()``,
``RAND()``, ``UUID()``, ``STRUUID()``, ``BNODE()``).

The engine consults the cache only while a live worker is idle, i.e. when it could run the
query at once anyway: a kept answer shortens the work, never the wait, so the engine's
behaviour under load (queueing, ``EngineBusy``) and after a worker dies is what it was.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import TYPE_CHECKING

from claimgraph.web.doc_cache import LruCache

if TYPE_CHECKING:
    from claimgraph.web.engine import SparqlRequest, SparqlResponse

DEFAULT_RESULT_CACHE_BYTES = 32 * 1024 * 1024

# Any of these words anywhere (even in a string or a comment) disqualifies the query: a false
# alarm only costs a cache miss.
_VOLATILE = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID|BNODE)\b", re.IGNORECASE)


def _is_volatile(query: str) -> bool:
    upper = query.upper()  # the regular expression only where a word is there: it cost 5 % of a request
    return any(word in upper for word in ("NOW", "RAND", "UUID", "BNODE")) and bool(_VOLATILE.search(query))


ResultKey = tuple[Hashable, ...]


def result_key(request: SparqlRequest, limit: int) -> ResultKey:
    substitutions = tuple(sorted(((str(getattr(k, "value", k)), v) for k, v in request.substitutions.items()),
                                 key=lambda item: item[0]))
    return (request.query, request.result_media_type, request.default_graph_uris, request.named_graph_uris,
            substitutions, limit)


class ResultCache(LruCache[ResultKey, "SparqlResponse"]):
    def __init__(self, max_bytes: int = DEFAULT_RESULT_CACHE_BYTES):
        super().__init__(max_bytes)

    def keep(self, key: ResultKey, answer: SparqlResponse) -> None:
        if answer.truncated or _is_volatile(key[0]):  # type: ignore[arg-type]
            return
        self.put(key, answer, len(answer.body) + len(key[0]) + 256)  # type: ignore[arg-type]
