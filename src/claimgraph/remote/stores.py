"""The two ways claimgraph writes to a store, behind one interface.

``GraphStoreProtocol`` uses the SPARQL 1.1 Graph Store HTTP Protocol: one PUT per graph, which
the store applies as one replacement of the whole graph. ``SparqlUpdate`` is the fallback for
stores without it: one SPARQL 1.1 Update request per graph (DROP SILENT GRAPH, then INSERT
DATA, then the graph's line in the publish state), which stores run as one transaction, so a
reader never sees half a graph either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from claimgraph.queries import internal_query
from claimgraph.remote.errors import RemoteError
from claimgraph.remote.graphs import LocalGraph, graph_hash
from claimgraph.remote.http import StoreClient
from claimgraph.remote.sparql import RemoteSparql
from claimgraph.remote.state import SHA256, TRIPLES, Published, parse_state, state_triples

NTRIPLES = "application/n-triples"
_HERE = Path(__file__).resolve().parent


def _query(name: str) -> str:
    return internal_query(_HERE, name)


class RemoteStore(Protocol):
    url: str
    client: StoreClient
    keeps_state_per_graph: bool  # True: each replace/delete also updates the publish state

    def read_state(self, state_iri: str) -> dict[str, Published]: ...

    def replace(self, graph: LocalGraph, state_iri: str) -> None: ...

    def delete(self, iri: str, state_iri: str) -> None: ...

    def write_state(self, state_iri: str, state: Mapping[str, Published]) -> None: ...


def _ntriples(triples: Iterable[ox.Triple]) -> bytes:
    return ox.serialize([ox.Quad(t.subject, t.predicate, t.object) for t in triples],
                        format=ox.RdfFormat.N_TRIPLES)


class GraphStoreProtocol:
    """A Graph Store Protocol endpoint, graphs named by ``?graph=IRI`` (indirect identification,
    which Oxigraph's /store, Virtuoso's /sparql-graph-crud(-auth) and Fuseki's /ds/data share)."""

    keeps_state_per_graph = False

    def __init__(self, url: str, client: StoreClient):
        self.url = url
        self.client = client

    def get(self, iri: str) -> list[ox.Triple] | None:
        """The graph's triples, or None when the store has no such graph."""
        response = self.client.request("GET", self.url, params={"graph": iri},
                                       headers={"Accept": f"{NTRIPLES}, text/turtle;q=0.9"},
                                       accept_statuses=(404,))
        if response.status_code == 404:
            return None
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        fmt = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
        try:
            return [q.triple for q in ox.parse(response.content, format=fmt)]
        except SyntaxError as exc:
            raise RemoteError(f"{self.url} sent graph {iri} as {media_type or 'RDF'} that does not "
                              f"parse: {exc}", self.url) from exc

    def put(self, iri: str, body: bytes) -> None:
        # charset: without it Virtuoso reads the body as Latin-1 and mangles every non-ASCII text
        self.client.request("PUT", self.url, params={"graph": iri}, content=body,
                            headers={"Content-Type": f"{NTRIPLES}; charset=utf-8"})

    def read_state(self, state_iri: str) -> dict[str, Published]:
        return parse_state(self.get(state_iri) or [])

    def replace(self, graph: LocalGraph, state_iri: str) -> None:
        self.put(graph.iri, graph.ntriples())

    def delete(self, iri: str, state_iri: str) -> None:
        self.client.request("DELETE", self.url, params={"graph": iri}, accept_statuses=(404,))

    def write_state(self, state_iri: str, state: Mapping[str, Published]) -> None:
        self.put(state_iri, _ntriples(state_triples(state)))

    def remote_graph(self, iri: str) -> tuple[int, str]:
        """The graph's triple count and content hash, read back whole."""
        triples = self.get(iri) or []
        return len(set(triples)), graph_hash(triples)


class SparqlUpdate:
    """A SPARQL 1.1 Update endpoint (writes) with its query endpoint (reads)."""

    keeps_state_per_graph = True

    def __init__(self, url: str, client: StoreClient, sparql: RemoteSparql):
        self.url = url
        self.client = client
        self.sparql = sparql

    def _update(self, operations: list[str], graph: str) -> None:
        # SPARQL Update carries data only inside its text: INSERT DATA takes ground triples.
        # Every term below is written by pyoxigraph's N-Triples serializer (escaped IRIs and
        # literals, valid SPARQL), never by formatting user text, so data cannot become syntax.
        self.client.request("POST", self.url, what=f"graph {graph}",
                            content=" ;\n".join(operations).encode("utf-8"),
                            headers={"Content-Type": "application/sparql-update; charset=utf-8"})

    @staticmethod
    def _forget(iri: str, state_iri: str) -> str:
        return f"DELETE WHERE {{ GRAPH {ox.NamedNode(state_iri)} {{ {ox.NamedNode(iri)} ?p ?o }} }}"

    @staticmethod
    def _insert(graph_iri: str, body: bytes) -> str:
        return f"INSERT DATA {{ GRAPH {ox.NamedNode(graph_iri)} {{\n{body.decode('utf-8')}}} }}"

    def read_state(self, state_iri: str) -> dict[str, Published]:
        rows = self.sparql.select(_query("publish-state"), {"state": ox.NamedNode(state_iri)}).rows
        return parse_state(ox.Triple(row["graph"], predicate, row[name])
                           for row in rows if isinstance(row.get("graph"), ox.NamedNode)
                           for name, predicate in (("sha256", SHA256), ("triples", TRIPLES))
                           if name in row)

    def replace(self, graph: LocalGraph, state_iri: str) -> None:
        entry = {graph.iri: Published(graph.sha256, graph.size)}
        self._update([f"DROP SILENT GRAPH {ox.NamedNode(graph.iri)}",
                      self._insert(graph.iri, graph.ntriples()),
                      self._forget(graph.iri, state_iri),
                      self._insert(state_iri, _ntriples(state_triples(entry)))], graph.iri)

    def delete(self, iri: str, state_iri: str) -> None:
        self._update([f"DROP SILENT GRAPH {ox.NamedNode(iri)}", self._forget(iri, state_iri)], iri)

    def write_state(self, state_iri: str, state: Mapping[str, Published]) -> None:
        pass  # every replace and delete already recorded its graph's state in the same request

    def remote_counts(self, iris: list[str]) -> dict[str, int]:
        return sparql_counts(self.sparql, iris)


def sparql_counts(sparql: RemoteSparql, iris: list[str]) -> dict[str, int]:
    """Triples per graph, by one grouped COUNT on the query endpoint (0 for an absent graph)."""
    rows = sparql.select(_query("graph-triples"),
                         [{"graph": ox.NamedNode(iri)} for iri in iris]).rows
    counts = dict.fromkeys(iris, 0)
    for row in rows:
        if isinstance(row.get("graph"), ox.NamedNode) and "triples" in row:
            counts[row["graph"].value] = int(row["triples"].value)
    return counts
