"""The W3C SPARQL 1.1 Protocol test suite (tests/w3c/sparql11-protocol, W3C test-suite licence),
run against the real endpoint, driven by the suite's manifest.

The harness builds a pyoxigraph store (in a build-like folder: ``<dir>/store``) holding the
suite's data files as the named graphs the tests name (``ut:graphData``: file → graph IRI), serves
the SPARQL endpoint over it on a loopback port, and sends each test's HTTP requests exactly as the
manifest describes them (method, path and query string, headers, body and its character
encoding; the suite's ``/sparql/`` path prefix becomes the endpoint's ``/sparql``). Then it checks
the expected status class, result format and boolean answer.

The endpoint is read-only, so the ``update_*`` tests are run with the opposite expectation: each
update request must be refused with a 4xx status, and the queries that follow it (which would see
what the update wrote) must find nothing of it.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.query import Result

from claimgraph.web.settings import ServeSettings
from claimgraph.web.sparql import sparql_app
from servers import ServerThread, serve

SUITE = Path(__file__).parent / "w3c" / "sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = rdflib.RDFS

BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/n-triples": "nt",
             "text/plain": "nt"}


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[int]  # expected status classes: 2, 3, 4
    expected_format: str | None
    expected_boolean: bool | None

    @property
    def is_update(self) -> bool:
        content_type = self.headers.get("content-type", "")
        return content_type.startswith("application/sparql-update") or bool(
            self.body and self.body.startswith(b"update=")) or "?update=" in self.path


@dataclass
class ProtocolTest:
    name: str
    title: str
    requests: list[HttpRequest]
    graphs: dict[str, Path] = field(default_factory=dict)  # graph IRI -> data file


def load_manifest() -> list[ProtocolTest]:
    graph = rdflib.Graph().parse(MANIFEST, format="turtle")
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        requests = []
        for node in Collection(graph, graph.value(action, HT.requests)):
            headers = {}
            header_list = graph.value(node, HT.headers)
            if header_list is not None:
                for header in Collection(graph, header_list):
                    headers[str(graph.value(header, HT.fieldName)).lower()] = str(graph.value(header, HT.fieldValue))
            body = None
            body_node = graph.value(node, HT.body)
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower())
            response = graph.value(node, HT.resp)
            statuses = {int(str(s).rsplit("StatusCode", 1)[1][0]) for s in graph.objects(response, MF.expectedStatus)}
            expected_format = graph.value(response, MF.expectedFormat)
            expected_boolean = graph.value(response, MF.expectedBoolean)
            requests.append(HttpRequest(
                method=str(graph.value(node, HT.methodName)),
                path=str(graph.value(node, HT.absolutePath)),
                headers=headers,
                body=body,
                statuses=statuses,
                expected_format=str(expected_format) if expected_format is not None else None,
                expected_boolean=expected_boolean.toPython() if expected_boolean is not None else None,
            ))
        graphs = {}
        for data in graph.objects(entry, UT.graphData):
            graphs[str(graph.value(data, RDFS.label))] = SUITE / Path(str(graph.value(data, UT.graph))).name
        name = str(entry).rsplit("#", 1)[1]
        tests.append(ProtocolTest(name, str(graph.value(entry, MF.name)), requests, graphs))
    return tests


TESTS = load_manifest()
KASEI = "http://kasei.us/2009/09/sparql/data/"


def test_the_manifest_is_read_whole():
    names = [t.name for t in TESTS]
    assert len(names) == 34 and len(set(names)) == 34
    assert {n.split("_", 1)[0] for n in names} == {"query", "update", "bad"}
    assert all(t.requests for t in TESTS)
    assert {p.name for t in TESTS for p in t.graphs.values()} == {"data1.nt", "data2.nt", "data3.nt"}


@pytest.fixture(scope="module")
def w3c_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    out_dir = tmp_path_factory.mktemp("w3c") / "dist"
    out_dir.mkdir()
    shutil.copy(SUITE.parent / "LICENSE.md", out_dir / "LICENSE.md")
    store = ox.Store(str(out_dir / "store"))
    loaded: dict[str, Path] = {}
    for test in TESTS:
        loaded.update(test.graphs)
    for iri, path in sorted(loaded.items()):
        store.load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri))
    store.flush()
    del store  # closed before the workers open it read-only

    def make_app(url: str):
        return sparql_app(ServeSettings(out_dir=out_dir, base_iri="http://www.example/", base_url=url))

    with serve(make_app) as server:
        yield server


def send(client: httpx.Client, server: ServerThread, request: HttpRequest) -> httpx.Response:
    path = request.path
    assert path.startswith("/sparql/")
    path = "/sparql" + path[len("/sparql/"):]  # the suite's prefix, replaced by the endpoint's path
    url = httpx.URL(server.url.rstrip("/") + path)
    built = client.build_request(request.method, url, content=request.body, headers=request.headers)
    if "content-type" not in request.headers:
        built.headers.pop("content-type", None)  # a test "without media type" sends none
    return client.send(built)


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def boolean_answer(response: httpx.Response) -> bool:
    kind = media_type(response)
    assert kind in BOOLEAN_TYPES, kind
    if kind == "application/sparql-results+json":
        return json.loads(response.content)["boolean"]
    return Result.parse(io.BytesIO(response.content), format="xml").askAnswer


def check_format(response: httpx.Response, expected: str) -> None:
    kind = media_type(response)
    if expected == "boolean":
        boolean_answer(response)
    elif expected == "tabular":
        assert kind in TABULAR_TYPES, kind
        fmt = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml",
               "text/csv": "csv", "text/tab-separated-values": "tsv"}[kind]
        result = Result.parse(io.BytesIO(response.content), format=fmt)
        assert result.type == "SELECT"
        list(result)
    elif expected == "RDF":
        assert kind in RDF_TYPES, kind
        rdflib.Graph().parse(data=response.content, format=RDF_TYPES[kind])
    else:
        raise AssertionError(f"unknown mf:expectedFormat {expected!r}")


@pytest.mark.parametrize("test", [t for t in TESTS if not t.name.startswith("update_")], ids=lambda t: t.name)
def test_query_and_bad_requests(w3c_server: ServerThread, test: ProtocolTest):
    with httpx.Client(timeout=30) as client:
        for request in test.requests:
            response = send(client, w3c_server, request)
            assert response.status_code // 100 in request.statuses, (test.title, response.status_code, response.text)
            if request.expected_format:
                check_format(response, request.expected_format)
            if request.expected_boolean is not None:
                assert boolean_answer(response) is request.expected_boolean
            if 4 in request.statuses:
                assert response.text.strip()  # the client learns why


@pytest.mark.parametrize("test", [t for t in TESTS if t.name.startswith("update_")], ids=lambda t: t.name)
def test_updates_are_refused(w3c_server: ServerThread, test: ProtocolTest):
    with httpx.Client(timeout=30) as client:
        for request in test.requests:
            response = send(client, w3c_server, request)
            if request.is_update:
                assert 400 <= response.status_code < 500, (test.title, response.status_code, response.text)
                assert "read-only" in response.text
                continue
            # a query reading back what the update would have written finds nothing of it
            assert response.status_code // 100 in request.statuses
            if request.expected_format:
                check_format(response, request.expected_format)
            if request.expected_boolean is not None:
                assert boolean_answer(response) is (not request.expected_boolean)


# --- beyond the suite: its data, with answers that tell the dataset rules apart -------------------

def ask(client: httpx.Client, server: ServerThread, query: str, **params: str | list[str]) -> bool:
    response = client.post(server.url + "sparql", params=params, content=query.encode(),
                           headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def test_protocol_dataset_rules(w3c_server: ServerThread):
    d1, d2, d3 = (f"<{KASEI}data{i}.rdf>" for i in (1, 2, 3))
    with httpx.Client(timeout=30) as client:
        # no dataset given: the union of all graphs
        assert ask(client, w3c_server, f"ASK {{ {d1} a ?t . {d2} a ?t . {d3} a ?t }}")
        # default-graph-uri: exactly those graphs, merged; no named graphs
        only3 = {"default-graph-uri": f"{KASEI}data3.rdf"}
        assert ask(client, w3c_server, f"ASK {{ {d3} a ?t }}", **only3)
        assert not ask(client, w3c_server, f"ASK {{ {d1} a ?t }}", **only3)
        assert not ask(client, w3c_server, f"ASK {{ GRAPH ?g {{ {d1} a ?t }} }}", **only3)
        # named-graph-uri: GRAPH sees only those; the default graph is empty
        only1 = {"named-graph-uri": f"{KASEI}data1.rdf"}
        assert ask(client, w3c_server, f"ASK {{ GRAPH ?g {{ {d1} a ?t }} }}", **only1)
        assert not ask(client, w3c_server, f"ASK {{ GRAPH ?g {{ {d2} a ?t }} }}", **only1)
        assert not ask(client, w3c_server, f"ASK {{ {d1} a ?t }}", **only1)
        # the query's FROM, when the protocol names no dataset
        assert ask(client, w3c_server, f"ASK FROM {d3} {{ {d3} a ?t }}")
        assert not ask(client, w3c_server, f"ASK FROM {d3} {{ {d1} a ?t }}")
        assert ask(client, w3c_server, f"ASK FROM NAMED {d2} {{ GRAPH {d2} {{ {d2} a ?t }} }}")
        assert not ask(client, w3c_server, f"ASK FROM NAMED {d2} {{ GRAPH ?g {{ {d1} a ?t }} }}")
        # the protocol's dataset wins over the query's
        assert ask(client, w3c_server, f"ASK FROM {d3} {{ {d1} a ?t }}", **{"default-graph-uri": f"{KASEI}data1.rdf"})


def test_service_description_names_the_suite_graphs(w3c_server: ServerThread):
    response = httpx.get(w3c_server.url + "sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert {str(o) for o in graph.objects(None, sd.name)} == {f"{KASEI}data{i}.rdf" for i in (1, 2, 3)}
