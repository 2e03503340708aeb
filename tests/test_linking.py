"""``claimgraph link`` and the federated queries, against a real SPARQL server on loopback.

The Wikidata stand-in is ``oxigraph serve`` loaded with tests/data/wikidata-standin.ttl (a copy
of the project's hand-checked Wikidata extract) plus, in the test's own temporary copy only,
a few clearly fictional items (Q99999999xx, "Glimmerport") for reconciliation and stale links,
and the borders of Armenia (wdt:P47) for the neighbours query. Faults come from a small
stdlib HTTP server in front of the stand-in that answers 429, 500, hangs, or sends malformed
JSON or HTML on request. Every server binds 127.0.0.1 only and is stopped at the end.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from claimgraph.build import build
from claimgraph.cli import main
from claimgraph.errors import SourceError
from claimgraph.linking.cache import load_cache
from claimgraph.linking.client import ClientSettings, LinkError, WikidataClient, remote_query, user_agent
from claimgraph.namespaces import CG, PROV, SCHEMA, WD
from claimgraph.sources import load_corpus
from conftest import ROOT, copy_data

STANDIN = ROOT / "tests" / "data" / "wikidata-standin.ttl"
LOOPBACK = "127.0.0.1"
WDT = "http://www.wikidata.org/prop/direct/"

# Test-only additions to the stand-in: invented items, and true borders of Armenia.
FICTIONAL = """
@prefix wd: <http://www.wikidata.org/entity/> .
@prefix wdt: <http://www.wikidata.org/prop/direct/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .

wd:Q9999999901 rdfs:label "Glimmerport"@en , "Qlimmerport"@az ;
    schema:description "fictional harbour city (claimgraph test item)"@en ;
    wdt:P31 wd:Q515 .
wd:Q9999999902 rdfs:label "Glimmerport"@en ;
    schema:description "fictional person (claimgraph test item)"@en ;
    wdt:P31 wd:Q5 .
wd:Q9999999903 rdfs:label "Glimmerport Harbour"@en ; skos:altLabel "Port Glimmer"@en ;
    schema:description "fictional harbour district (claimgraph test item)"@en ;
    wdt:P31 wd:Q515 .
wd:Q9999999904 rdfs:label "Glimmerport"@en ;
    schema:description "fictional item with no type (claimgraph test item)"@en .
wd:Q9999999900 owl:sameAs wd:Q9999999901 .

wd:Q227 wdt:P47 wd:Q399 .
wd:Q230 wdt:P47 wd:Q399 .
wd:Q794 wdt:P47 wd:Q399 .
wd:Q43 wdt:P47 wd:Q399 .
"""

GLIMMERPORT = """
glimmerport:
  type: City
  name: Glimmerport
  wikidata: unreconciled
  alternate_names: [Port Glimmer]
  description: Fictional harbour city invented for claimgraph's linking tests.

tarnwick-ferry:
  type: City
  name: Tarnwick Ferry
  wikidata: unreconciled
  description: Fictional ferry town invented for claimgraph's linking tests; no item anywhere.
"""


# ---------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def oxigraph_binary() -> str:
    local = ROOT / ".venv" / "bin" / "oxigraph"
    found = str(local) if local.exists() else shutil.which("oxigraph")
    if not found:
        pytest.skip("the oxigraph server (PyPI package 'oxigraph') is not installed")
    return found


def wait_for(url: str, process: subprocess.Popen, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"oxigraph did not answer on {url} within {seconds:g} s")


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SPARQL query URL of a Wikidata stand-in: a real ``oxigraph serve`` on loopback."""
    binary = oxigraph_binary()
    folder = tmp_path_factory.mktemp("standin")
    data = folder / "standin.ttl"
    data.write_text(STANDIN.read_text(encoding="utf-8") + FICTIONAL, encoding="utf-8")
    subprocess.run([binary, "load", "--location", str(folder / "db"), "--file", str(data)],
                   check=True, capture_output=True, timeout=120)
    process = None
    for _ in range(3):  # another process may take the free port between the check and the bind
        port = free_port()
        process = subprocess.Popen([binary, "serve", "--location", str(folder / "db"), "--bind", f"{LOOPBACK}:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"http://{LOOPBACK}:{port}/query", process)
            break
        except RuntimeError:
            process.terminate()
            process.wait(timeout=10)
            process = None
    if process is None:
        raise RuntimeError("could not start oxigraph serve on a loopback port")
    try:
        yield f"http://{LOOPBACK}:{port}/query"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class FaultServer:
    """A loopback HTTP server that answers each request with the next planned fault, or passes
    it on to the stand-in once the plan is used up (``pass`` passes one request explicitly)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan: deque[str] = deque()
        self.requests: list[dict[str, str]] = []
        self.stop = threading.Event()
        fault = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.answer(b"")

            def do_POST(self) -> None:
                self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def answer(self, body: bytes) -> None:
                fault.requests.append(dict(self.headers.items()))
                step = fault.plan.popleft() if fault.plan else "pass"
                if step == "hang":
                    fault.stop.wait(5)  # longer than the client's timeout, bounded all the same
                    return
                if step.startswith("429") or step.startswith("503"):
                    status, _, wait = step.partition(":")
                    self.send(int(status), b"slow down", "text/plain", {"Retry-After": wait or "1"})
                elif step == "500":
                    self.send(500, b"java.util.concurrent.TimeoutException", "text/plain")
                elif step == "malformed":
                    self.send(200, b'{"head": {"vars": ["item"]}, "results": {"bindings": [',
                              "application/sparql-results+json")
                elif step == "html":
                    self.send(200, b"<!DOCTYPE html><html><body>Wikidata Query Service</body></html>",
                              "text/html; charset=utf-8")
                else:
                    self.forward(body)

            def forward(self, body: bytes) -> None:
                query = self.path.partition("?")[2]
                request = urllib.request.Request(fault.upstream + ("?" + query if query else ""),
                                                 data=body or None, method=self.command)
                for name in ("Content-Type", "Accept"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.send(response.status, response.read(), response.headers.get("Content-Type", ""))

            def send(self, status: int, payload: bytes, kind: str, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}/sparql"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def faults(standin: str) -> Iterator[FaultServer]:
    with FaultServer(standin) as server:
        yield server


# ---------------------------------------------------------------- helpers

def link(*args: str) -> list[str]:
    return ["link", "--no-input", *args]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return copy_data(tmp_path / "data")


@pytest.fixture
def glimmer_data(data: Path) -> Path:
    with (data / "entities.yaml").open("a", encoding="utf-8") as registry:
        registry.write(GLIMMERPORT)
    return data


def set_wikidata(data: Path, key: str, value: str) -> None:
    """Point registry entity ``key`` at ``value`` in the test's own copy of the registry."""
    path = data / "entities.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    start = lines.index(f"{key}:")
    at = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("wikidata:"))
    lines[at] = f"  wikidata: {value}"
    path.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- verification

def test_check_passes_for_the_seed_registry_and_writes_nothing(data, standin, capsys):
    before = snapshot(data)
    code, out, err = run(capsys, *link("--check", "--data", str(data), "--endpoint", standin))
    assert code == 0, err
    corpus = load_corpus(data)
    linked = [e for e in corpus.entities.values() if e.wikidata_id]
    assert f"checked {len(linked)} Wikidata link(s) against {standin}" in out
    assert "ok        azerbaijan (Country 'Azerbaijan') → Q227 'Azerbaijan'" in out
    assert "ok        joe-biden (Person 'Joe Biden') → Q6279 'Joe Biden'" in out
    assert "MISMATCH" not in out and "STALE" not in out
    assert snapshot(data) == before


def test_a_person_linked_to_a_country_fails_naming_both(data, standin, capsys):
    set_wikidata(data, "joe-biden", "Q227")
    code, out, err = run(capsys, *link("--check", "--data", str(data), "--endpoint", standin))
    assert code == 1
    line = next(line for line in out.splitlines() if "MISMATCH" in line)
    assert "Joe Biden" in line and "Azerbaijan" in line and "Q227" in line
    assert "a Person must be an instance of human (Q5)" in line
    biden = load_corpus(data).entities["joe-biden"]
    assert f"entities.yaml:{biden.location.line}" in line
    assert "failed the check" in err


def test_merged_and_deleted_items_are_reported_as_stale(data, standin, capsys):
    set_wikidata(data, "shusha", "Q9999999900")  # a redirect to Q9999999901
    set_wikidata(data, "baku", "Q9999999999")  # no triples at all
    code, out, _ = run(capsys, *link("--check", "--data", str(data), "--endpoint", standin))
    assert code == 1
    stale = [line for line in out.splitlines() if "STALE" in line]
    assert len(stale) == 2
    assert any("shusha" in line and "merged into Q9999999901 'Glimmerport'" in line for line in stale)
    assert any("baku" in line and "no longer has" in line for line in stale)


def test_the_user_agent_is_descriptive(data, faults, capsys):
    code, _, err = run(capsys, *link("--check", "--data", str(data), "--endpoint", faults.url,
                                     "--contact", "editors@claimgraph.example"))
    assert code == 0, err
    agents = {r.get("User-Agent") for r in faults.requests}
    assert agents == {user_agent("editors@claimgraph.example")}
    agent = agents.pop()
    assert agent.startswith("claimgraph/") and "editors@claimgraph.example" in agent and "SPARQLWrapper/" in agent


# ---------------------------------------------------------------- enrichment and the build

def test_enrich_caches_multilingual_labels_and_the_build_publishes_them(data, standin, capsys, tmp_path,
                                                                       monkeypatch):
    code, out, err = run(capsys, *link("--enrich", "--data", str(data), "--endpoint", standin))
    assert code == 0, err
    cache = load_cache(data / "wikidata" / "entities.ttl")
    assert cache.provenance is not None and cache.provenance.source == standin
    assert cache.provenance.retrieved and cache.provenance.retrieved.endswith("Z")
    labels = {(t.object.language, t.object.value) for t in cache.triples
              if t.subject == ox.NamedNode(str(WD.Q227)) and t.predicate.value == str(RDFS.label)}
    assert labels == {("en", "Azerbaijan"), ("az", "Azərbaycan"), ("ru", "Азербайджан"),
                      ("tr", "Azerbaycan"), ("hy", "Ադրբեջան")}
    facts = {(t.subject.value, t.predicate.value, t.object.value) for t in cache.triples}
    assert (str(WD.Q6279), WDT + "P569", "1942-11-20T00:00:00Z") in facts  # a person's birth date
    assert (str(WD.Q227), WDT + "P36", str(WD.Q9248)) in facts  # a country's capital
    assert (str(WD.Q9248), str(RDFS.label), "Baku") in facts  # ...and its name
    assert "wrote" in out and "entities.ttl" in out

    # the build reads the cache and never the network
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the build tried to connect to something")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    result = build(data, tmp_path / "dist")
    monkeypatch.undo()
    ds = Dataset()
    ds.parse(result.out_dir / "dataset.trig", format="trig")
    iris = result.assembled.iris
    wikidata = ds.graph(URIRef(iris.base + "graph/wikidata"))
    assert (WD.Q227, RDFS.label, Literal("Azərbaycan", lang="az")) in wikidata
    assert (WD.Q227, RDFS.label, Literal("Ադրբեջան", lang="hy")) in wikidata
    assert (iris.entity("azerbaijan"), SCHEMA.sameAs, WD.Q227) in ds.graph(iris.entities_graph)
    for mapped in result.assembled.graphs:  # world facts stay out of the article graphs
        if "/graph/article/" in str(mapped.iri):
            assert not any(str(s).startswith(str(WD)) for s in mapped.graph.subjects())
    metadata = ds.graph(iris.metadata_graph)
    source = iris.source("wikidata/entities.ttl")
    assert (URIRef(iris.base + "graph/wikidata"), PROV.wasDerivedFrom, source) in metadata
    assert (source, PROV.wasDerivedFrom, URIRef(standin)) in metadata
    # the named query over the cached names
    store = ox.Store.read_only(str(result.out_dir / "store"))
    from claimgraph.queries import bind_parameters, find_query, run_query

    query = find_query("entity-names")
    rows = run_query(store, query, bind_parameters(query, {"entity": "azerbaijan"}, iris.base)).rows
    assert {(r["language"].value, r["label"].value) for r in rows} == labels


def test_the_seed_cache_is_published_without_running_link(seed_build):
    iris = seed_build.assembled.iris
    wikidata = seed_build.assembled.graph(iris.base + "graph/wikidata")
    assert (WD.Q227, RDFS.label, Literal("Azərbaycan", lang="az")) in wikidata
    linked = {str(WD[e.wikidata_id]) for e in seed_build.assembled.corpus.entities.values() if e.wikidata_id}
    subjects = {str(s) for s in wikidata.subjects()}
    assert linked <= subjects
    # an item that is neither linked nor pointed at by a linked item's facts is left out
    assert str(WD.Q301832) not in subjects


# ---------------------------------------------------------------- federated queries

def query_json(capsys, out_dir: Path, name: str, **params: str) -> tuple[int, dict, str]:
    argv = ["query", name, "--out", str(out_dir), "--format", "json"]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    code, out, err = run(capsys, *argv)
    return code, (json.loads(out) if code == 0 else {}), err


def rows_of(document: dict) -> list[dict[str, str]]:
    return [{k: v["value"] for k, v in b.items()} for b in document["results"]["bindings"]]


def test_federated_capitals_and_birth_dates_against_the_standin(seed_build, standin, capsys):
    code, document, err = query_json(capsys, seed_build.out_dir, "federated-capitals", wikidata=standin)
    assert code == 0, err
    capitals = {(r["name"], r["capitalName"]) for r in rows_of(document)}
    assert capitals == {("Azerbaijan", "Baku"), ("United States", "Washington, D.C.")}
    assert {r["wikidata"] for r in rows_of(document)} == {standin}  # the endpoint, not the relay
    code, document, err = query_json(capsys, seed_build.out_dir, "federated-people-born", wikidata=standin)
    assert code == 0, err
    born = {(r["name"], r["birthDate"][:10], r.get("citizenshipName")) for r in rows_of(document)}
    assert ("Joe Biden", "1942-11-20", "United States") in born
    assert ("Barack Obama", "1961-08-04", "United States") in born


def test_federated_neighbours_of_armenia(seed_build, standin, capsys):
    code, document, err = query_json(capsys, seed_build.out_dir, "federated-claims-about-neighbours",
                                     country="armenia", wikidata=standin)
    assert code == 0, err
    iris = seed_build.assembled.iris
    neighbours = {iris.entity(k) for k in ("azerbaijan", "georgia", "iran", "turkey")}
    ds = Dataset()
    ds.parse(seed_build.out_dir / "dataset.trig", format="trig")
    expected = {str(s) for g in ds.graphs() if "/graph/article/" in str(g.identifier)
                for p in (SCHEMA.about, SCHEMA.mentions) for s, o in g.subject_objects(p)
                if o in neighbours and ((s, RDF.type, SCHEMA.Claim) in g or (s, RDF.type, SCHEMA.Quotation) in g)}
    assert expected
    assert {r["statement"] for r in rows_of(document)} == expected


def test_a_federated_query_reports_a_failing_endpoint_clearly(seed_build, faults, capsys):
    faults.plan.extend(["500"])
    code, _, err = query_json(capsys, seed_build.out_dir, "federated-capitals", wikidata=faults.url)
    assert code == 2
    assert "SERVICE endpoint failed" in err and "HTTP 500" in err
    assert len(faults.requests) == 1
    # the SERVICE call went out through the linking client, not pyoxigraph's own HTTP client
    assert faults.requests[0]["User-Agent"].startswith("claimgraph/")


def test_pyoxigraph_binds_the_service_endpoint_by_substitution(standin):
    # the mechanism the federated queries rely on: SERVICE ?var, the variable projected
    store = ox.Store()
    query = ("SELECT ?label ?wikidata WHERE { SERVICE ?wikidata { "
             "<http://www.wikidata.org/entity/Q227> <http://www.w3.org/2000/01/rdf-schema#label> ?label } }")
    solutions = store.query(query, substitutions={ox.Variable("wikidata"): ox.NamedNode(standin)})
    assert "Azərbaycan" in {s["label"].value for s in solutions}


# ---------------------------------------------------------------- reconciliation and acceptance

def test_reconcile_ranks_candidates_and_links_nothing(glimmer_data, standin, capsys):
    registry = digest(glimmer_data / "entities.yaml")
    code, out, err = run(capsys, *link("--reconcile", "--data", str(glimmer_data), "--endpoint", standin))
    assert code == 0, err
    assert digest(glimmer_data / "entities.yaml") == registry  # suggesting links nothing
    suggestions = (glimmer_data / "wikidata" / "suggestions.yaml").read_text(encoding="utf-8")
    from claimgraph.strict_yaml import parse_yaml

    document = parse_yaml(suggestions, glimmer_data / "wikidata" / "suggestions.yaml")
    ranked = [c["qid"] for c in document["glimmerport"]["candidates"]]
    # the name as label with a fitting type; an alternate name as alias with a fitting type;
    # the name as label, no type; the name as label but a person
    assert ranked == ["Q9999999901", "Q9999999903", "Q9999999904", "Q9999999902"]
    best = document["glimmerport"]["candidates"][0]
    assert best["type_fits"] == "yes" and best["instance_of"] == ["city (Q515)"]
    assert document["glimmerport"]["candidates"][-1]["type_fits"] == "no"
    assert document["tarnwick-ferry"]["candidates"] == []
    assert "1. Q9999999901 'Glimmerport'" in out


def test_accepting_a_candidate_records_who_when_and_how(glimmer_data, standin, capsys, tmp_path):
    run(capsys, *link("--reconcile", "--data", str(glimmer_data), "--endpoint", standin))
    registry = glimmer_data / "entities.yaml"
    before_text = registry.read_text(encoding="utf-8")
    cache_before = digest(glimmer_data / "wikidata" / "entities.ttl")
    # an item of the wrong type is refused, naming both sides, and nothing changes
    code, _, err = run(capsys, *link("--accept", "glimmerport", "Q9999999902", "--by", "Test Editor",
                                     "--data", str(glimmer_data), "--endpoint", standin))
    assert code == 1
    assert "Glimmerport" in err and "fictional person" in err and "city (Q515)" in err
    assert registry.read_text(encoding="utf-8") == before_text
    assert digest(glimmer_data / "wikidata" / "entities.ttl") == cache_before

    code, out, err = run(capsys, *link("--accept", "glimmerport", "Q9999999901", "--by", "Test Editor",
                                       "--data", str(glimmer_data), "--endpoint", standin))
    assert code == 0, err
    assert "recorded: glimmerport is Q9999999901 (accepted-suggestion, by Test Editor" in out
    entity = load_corpus(glimmer_data).entities["glimmerport"]
    assert entity.wikidata == "Q9999999901"
    assert entity.link is not None and (entity.link.method, entity.link.by) == ("accepted-suggestion", "Test Editor")
    # only the accepted entity's lines changed: comments and other entries are as they were
    after_text = registry.read_text(encoding="utf-8")
    assert after_text.replace("  wikidata: Q9999999901\n  link:\n    method: accepted-suggestion\n"
                              f'    by: "Test Editor"\n    date: {entity.link.date}\n',
                              "  wikidata: unreconciled\n") == before_text
    assert str(WD.Q9999999901) in load_cache(glimmer_data / "wikidata" / "entities.ttl").items()
    suggestions = (glimmer_data / "wikidata" / "suggestions.yaml").read_text(encoding="utf-8")
    assert "glimmerport:" not in suggestions and "tarnwick-ferry:" in suggestions

    # no item: decided by hand
    code, out, err = run(capsys, *link("--accept", "tarnwick-ferry", "no-item", "--by", "Test Editor",
                                       "--data", str(glimmer_data), "--endpoint", standin))
    assert code == 0, err
    ferry = load_corpus(glimmer_data).entities["tarnwick-ferry"]
    assert ferry.wikidata == "no-item" and ferry.link is not None and ferry.link.method == "by-hand"

    # the published graph carries the link with its provenance, and the item's names
    result = build(glimmer_data, tmp_path / "dist")
    iris = result.assembled.iris
    entities = result.assembled.graph(str(iris.entities_graph))
    node = iris.entity("glimmerport")
    assert (node, SCHEMA.sameAs, WD.Q9999999901) in entities
    assert (node, CG.linkMethod, CG.AcceptedSuggestion) in entities
    assert (node, CG.linkedBy, Literal("Test Editor")) in entities
    assert str(entities.value(node, CG.linkDate)) == entity.link.date
    assert (iris.entity("tarnwick-ferry"), CG.linkMethod, CG.ByHand) in entities
    wikidata = result.assembled.graph(iris.base + "graph/wikidata")
    assert (WD.Q9999999901, RDFS.label, Literal("Qlimmerport", lang="az")) in wikidata
    code, _, err = run(capsys, *link("--check", "--data", str(glimmer_data), "--endpoint", standin))
    assert code == 0, err


def test_an_existing_link_can_be_confirmed_to_record_its_provenance(data, standin, capsys):
    # the seed's links predate provenance: confirming one records it, a second time replaces it
    for who in ("First Editor", "Second Editor"):
        code, _, err = run(capsys, *link("--accept", "azerbaijan", "Q227", "--by", who,
                                         "--data", str(data), "--endpoint", standin))
        assert code == 0, err
    text = (data / "entities.yaml").read_text(encoding="utf-8")
    assert text.count("  link:\n") == 1 and "First Editor" not in text
    entity = load_corpus(data).entities["azerbaijan"]
    assert entity.wikidata == "Q227" and entity.link and (entity.link.method, entity.link.by) == ("by-hand",
                                                                                                  "Second Editor")
    assert entity.alternate_names == ("Republic of Azerbaijan",)  # the lines after it are intact


def test_a_flow_style_entry_is_not_edited(data, standin, capsys):
    with (data / "entities.yaml").open("a", encoding="utf-8") as registry:
        registry.write("\nglimmerport: {type: City, name: Glimmerport, wikidata: unreconciled}\n")
    before = digest(data / "entities.yaml")
    code, _, err = run(capsys, *link("--accept", "glimmerport", "Q9999999901", "--by", "Test Editor",
                                     "--data", str(data), "--endpoint", standin))
    assert code == 2 and "block style" in err and "entities.yaml:" in err
    assert digest(data / "entities.yaml") == before


def test_an_item_already_linked_elsewhere_is_refused(data, standin, capsys):
    code, _, err = run(capsys, *link("--accept", "lachin", "Q158903", "--by", "Test Editor",
                                     "--data", str(data), "--endpoint", standin))
    assert code == 1 and "already the link of entity 'shusha'" in err


def test_accept_needs_to_know_who_decides(glimmer_data, standin, capsys, monkeypatch):
    monkeypatch.delenv("CLAIMGRAPH_EDITOR", raising=False)
    code, _, err = run(capsys, *link("--accept", "tarnwick-ferry", "no-item", "--data", str(glimmer_data),
                                     "--endpoint", standin))
    assert code == 2 and "--by NAME" in err


def test_at_a_terminal_the_editor_picks_a_candidate(glimmer_data, standin, capsys, monkeypatch):
    answers = iter(["1", "q"])  # glimmerport comes first (keys in order): take its best candidate
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(answers))
    code = main(["link", "--reconcile", "--by", "Test Editor", "--data", str(glimmer_data), "--endpoint", standin])
    capsys.readouterr()
    assert code == 0
    entity = load_corpus(glimmer_data).entities["glimmerport"]
    assert entity.wikidata == "Q9999999901" and entity.link and entity.link.method == "accepted-suggestion"
    assert load_corpus(glimmer_data).entities["lachin"].wikidata == "unreconciled"


# ---------------------------------------------------------------- faults

def cache_of(data: Path) -> str:
    return digest(data / "wikidata" / "entities.ttl")


def test_429_with_retry_after_is_honoured_then_the_refresh_succeeds(data, faults, capsys):
    faults.plan.extend(["429:1"])
    started = time.monotonic()
    code, out, err = run(capsys, *link("--enrich", "--data", str(data), "--endpoint", faults.url))
    assert code == 0, err
    assert time.monotonic() - started >= 1.0  # it waited as asked
    assert "retried after HTTP 429 (waited 1 s)" in out
    assert load_cache(data / "wikidata" / "entities.ttl").provenance.source == faults.url


@pytest.mark.parametrize(("plan", "retries", "requests", "message"), [
    (["429:1"] * 3, "2", 3, "HTTP 429 Too Many Requests; gave up after 3 attempt(s)"),
    (["503:3600"], "3", 1, "asked to wait 3600 s, longer than the 120 s claimgraph waits"),
    (["500"], "3", 1, "HTTP 500 Internal Server Error: java.util.concurrent.TimeoutException"),
    (["hang"], "3", 1, "no answer within 1 s (timeout)"),
    (["malformed"], "3", 1, "malformed JSON"),
    (["html"], "3", 1, "answered with text/html, not SPARQL JSON results"),
], ids=["429-gives-up", "retry-after-too-long", "500", "timeout", "malformed-json", "html"])
def test_a_failing_endpoint_leaves_the_cache_unchanged(data, faults, capsys, plan, retries, requests, message):
    before = snapshot(data)
    faults.plan.extend(plan)
    code, _, err = run(capsys, *link("--enrich", "--data", str(data), "--endpoint", faults.url,
                                     "--timeout", "1", "--retries", retries))
    assert code == 2
    assert message in err and faults.url in err
    assert len(faults.requests) == requests
    assert snapshot(data) == before  # byte-identical cache, nothing else written


def test_a_failure_after_some_answers_writes_nothing(data, faults, capsys):
    before = snapshot(data)
    faults.plan.extend(["pass", "pass", "pass", "500"])  # the check's queries succeed, then one fails
    code, _, err = run(capsys, *link("--data", str(data), "--endpoint", faults.url, "--timeout", "5"))
    assert code == 2 and "HTTP 500" in err
    assert snapshot(data) == before
    assert not (data / "wikidata" / "suggestions.yaml").exists()


def test_the_client_never_retries_more_than_asked(faults):
    faults.plan.extend(["503:0"] * 10)
    client = WikidataClient(ClientSettings(faults.url, timeout=2, attempts=2), sleep=lambda s: None)
    with pytest.raises(LinkError, match="gave up after 2 attempt"):
        client.select(remote_query("items"), [{"item": ox.NamedNode(str(WD.Q227))}])
    assert len(faults.requests) == 2


# ---------------------------------------------------------------- strict sources

def test_link_provenance_on_an_unreconciled_entity_is_an_error_with_its_line(data):
    path = data / "entities.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  wikidata: unreconciled\n  description: Town in Azerbaijan"
    assert anchor in text
    path.write_text(text.replace(anchor, "  wikidata: unreconciled\n  link: {method: by-hand, by: X, "
                                         "date: 2026-11-27}\n  description: Town in Azerbaijan"), encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_corpus(data)
    line = path.read_text(encoding="utf-8").split("\n").index("  link: {method: by-hand, by: X, date: 2026-11-27}") + 1
    assert caught.value.line == line and "unreconciled entity has no link" in caught.value.message


def test_a_bad_type_rule_names_its_file_and_line(data, standin, capsys):
    path = data / "wikidata" / "types.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("classes: [Q5]", "classes: [human]"), encoding="utf-8")
    code, _, err = run(capsys, *link("--check", "--data", str(data), "--endpoint", standin))
    assert code == 2 and "types.yaml:" in err and "'human' in 'classes' is not a Wikidata item ID" in err


def test_a_malformed_cache_is_a_source_error_with_its_line(data, tmp_path):
    path = data / "wikidata" / "entities.ttl"
    path.write_text(path.read_text(encoding="utf-8") + '\nwd:Q1 rdfs:label "unclosed .\n', encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        build(data, tmp_path / "dist")
    assert caught.value.path == path and caught.value.line is not None

