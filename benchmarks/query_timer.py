#!/usr/bin/env python3
"""Time the named queries (queries/*.rq) on a built embedded store, one JSON line per query.

    python benchmarks/query_timer.py STORE_DIR BASE_IRI [--runs 5] [--cap 20] [--skip NAME ...]

Run as a child of bench.py, which kills it when a query runs past its time limit (pyoxigraph
cannot interrupt a query) and starts it again for the queries left. Before each query it prints
``{"start": NAME}``, after it the figures. Required parameters get values read from the store
(the most-mentioned entity, the most-quoted person, an article, a claim); optional ones stay
unbound, which is each query's widest and slowest form.

A listing that answers a page at a time (claimgraph.query_pages) is timed as a client asking
for a page gets it, keys query included: its first page and its middle one, alternately
(``median_ms``, ``page_rows``, ``pages``). Its whole answer (``claimgraph query NAME`` without
``--page``) is timed once after them, when ``--whole`` is given (``whole_ms``, ``rows``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

SCHEMA = "http://schema.org/"
CG = "https://claimgraph.example/ontology#"
TOP_ENTITY = f"""PREFIX schema: <{SCHEMA}>
PREFIX cg: <{CG}>
SELECT ?entity (COUNT(DISTINCT ?article) AS ?articles) WHERE {{
  ?article a schema:OpinionNewsArticle ; schema:mentions ?entity .
  ?entity cg:wikidataStatus ?status .
}} GROUP BY ?entity ORDER BY DESC(?articles) ?entity LIMIT 1"""
TOP_PERSON = f"""PREFIX schema: <{SCHEMA}>
SELECT ?p (COUNT(*) AS ?n) WHERE {{ ?q schema:creator ?p . ?p a schema:Person }}
GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT 1"""


def samples(store) -> dict[str, str]:
    def first(query: str) -> str | None:
        for row in store.query(query, use_default_graph_as_union=True):
            return row[0].value
        return None

    found = {"entity": first(TOP_ENTITY), "person": first(TOP_PERSON),
             "article": first(f"SELECT ?a WHERE {{ ?a a <{SCHEMA}OpinionNewsArticle> }} LIMIT 1"),
             "claim": first(f"SELECT ?c WHERE {{ ?c a <{SCHEMA}Claim> }} LIMIT 1")}
    return {k: v for k, v in found.items() if v}


def time_pages(store, query, bindings, args) -> dict:
    """A paged listing: its first and middle pages, keys query included, then (``--whole``)
    its whole answer once."""
    from claimgraph.queries import run_query
    from claimgraph.query_pages import run_page, store_runner

    runner = store_runner(store)
    _, page = run_page(runner, query, bindings, 1)  # warm-up, and the page count
    numbers = sorted({1, (page.count + 1) // 2})
    times, page_rows = [], 0
    for _ in range(args.runs):
        for number in numbers:
            start = time.perf_counter()
            result, _ = run_page(runner, query, bindings, number)
            times.append(time.perf_counter() - start)
            page_rows = max(page_rows, len(result.rows))
        if sum(times) > args.cap:
            break
    figures = {"median_ms": round(statistics.median(times) * 1000, 2), "max_ms": round(max(times) * 1000, 2),
               "runs": len(times), "pages": page.count, "page_rows": page_rows, "paged_by": query.page.variable}
    if args.whole:
        start = time.perf_counter()
        figures["rows"] = len(run_query(store, query, bindings).rows)
        figures["whole_ms"] = round((time.perf_counter() - start) * 1000, 2)
    return figures


def emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("base_iri")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cap", type=float, default=20.0, help="stop repeating a query after this many s")
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--whole", action="store_true", help="time a paged listing's whole answer too (once)")
    args = parser.parse_args(argv)
    import pyoxigraph as ox

    from claimgraph.queries import bind_parameters, list_queries, run_query
    from claimgraph.query_pages import is_paged

    store = ox.Store.read_only(args.store)
    values_of = samples(store)
    for query in list_queries():
        if query.name in args.skip:
            continue
        values: dict[str, str] = {}
        missing = []
        for param in query.parameters:
            if not param.required:
                continue
            if param.type == "entity":
                value = values_of.get("person" if param.name in ("person", "speaker") else "entity")
            elif param.type == "iri":
                value = values_of.get(param.name) or values_of.get("article")
            else:
                value = param.default
            if value is None:
                missing.append(param.name)
            else:
                values[param.name] = value
        if missing:
            emit({"name": query.name, "skipped": f"no value for {', '.join(missing)}"})
            continue
        emit({"start": query.name})
        try:
            bindings = bind_parameters(query, values, args.base_iri)
            if is_paged(query, bindings):
                emit({"name": query.name, **time_pages(store, query, bindings, args),
                      "params": values})
                continue
            times, rows = [], 0
            for run in range(args.runs + 1):  # the first is a warm-up, unless it is all there is time for
                start = time.perf_counter()
                rows = len(run_query(store, query, bindings).rows)
                elapsed = time.perf_counter() - start
                if run or elapsed > args.cap:
                    times.append(elapsed)
                if sum(times) > args.cap:
                    break
            emit({"name": query.name, "median_ms": round(statistics.median(times) * 1000, 2),
                  "max_ms": round(max(times) * 1000, 2), "runs": len(times), "rows": rows, "params": values})
        except Exception as exc:
            emit({"name": query.name, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
