"""Publishing a build's named graphs to a remote store: plan, guard, send, record, verify.

Only graphs whose content hash differs from the one the store's publish state records are
sent; graphs the state lists that the build no longer has are deleted. Each graph travels in
one request that replaces it whole, so after any failure every graph in the store is either its
old or its new version; the state is written after the graphs (in the same request per graph
with SPARQL Update), so a graph whose request failed or timed out still has its old hash there
and the next run sends it again. Running ``publish`` again therefore finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claimgraph.remote.errors import PublishFailed, PublishRefused, RemoteError
from claimgraph.remote.graphs import LocalBuild, LocalGraph
from claimgraph.remote.sparql import RemoteSparql
from claimgraph.remote.state import Published, state_graph_iri
from claimgraph.remote.stores import GraphStoreProtocol, RemoteStore, sparql_counts

# Refuse, unless told otherwise, a build that would leave the store with less than this share
# of the graphs or triples the last publish put there: a half-empty data folder or a build from
# the wrong branch should not wipe an archive.
SHRINK_LIMIT = 0.5


@dataclass(frozen=True)
class GraphCheck:
    iri: str
    local: int
    remote: int
    same_content: bool | None = None  # None: only counted, not read back

    @property
    def ok(self) -> bool:
        return self.local == self.remote and self.same_content is not False


@dataclass
class PublishReport:
    url: str
    state_graph: str
    sent: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    not_deleted: list[str] = field(default_factory=list)
    state_written: bool = False
    checks: list[GraphCheck] = field(default_factory=list)
    requests: int = 0

    @property
    def complete(self) -> bool:
        return not self.not_sent and not self.not_deleted

    @property
    def verified(self) -> bool:
        return all(check.ok for check in self.checks)


def plan(build: LocalBuild, state: dict[str, Published], everything: bool = False
         ) -> tuple[list[LocalGraph], list[str], list[str]]:
    """(graphs to send, graph IRIs to delete, graph IRIs already up to date)."""
    send = [g for g in build.graphs.values()
            if everything or state.get(g.iri) != Published(g.sha256, g.size)]
    unchanged = [iri for iri in build.graphs if iri not in {g.iri for g in send}]
    delete = sorted(iri for iri in state if iri not in build.graphs)
    return send, delete, unchanged


def check_shrink(build: LocalBuild, state: dict[str, Published], allow_shrink: bool) -> None:
    if allow_shrink:
        return
    if not build.graphs or build.triples == 0:
        raise PublishRefused(f"the build in {build.out_dir} has no triples: refusing to publish an "
                             "empty dataset (pass --allow-shrink to do it anyway)")
    if not state:
        return
    graphs_before, triples_before = len(state), sum(p.triples for p in state.values())
    if len(build.graphs) < SHRINK_LIMIT * graphs_before or build.triples < SHRINK_LIMIT * triples_before:
        raise PublishRefused(
            f"the build has {len(build.graphs)} graph(s) and {build.triples} triples; the store holds "
            f"{graphs_before} graph(s) and {triples_before} triples from the last publish. Refusing to "
            f"shrink it below {SHRINK_LIMIT:.0%} (pass --allow-shrink if this is intended)")


def publish(build: LocalBuild, store: RemoteStore, *, sparql: RemoteSparql | None = None,
            everything: bool = False, allow_shrink: bool = False, verify: bool = True) -> PublishReport:
    """Send what changed, delete what was removed, record the state, then verify."""
    state_iri = state_graph_iri(build.base_iri)
    if state_iri in build.graphs:
        raise PublishRefused(f"the build has a graph named {state_iri}, the name claimgraph keeps for "
                             "the remote publish state")
    report = PublishReport(store.url, state_iri)
    # The first request only reads: wrong credentials stop the run before anything is written.
    state = store.read_state(state_iri)
    check_shrink(build, state, allow_shrink)
    send, delete, report.unchanged = plan(build, state, everything)
    new_state = dict(state)
    try:
        for graph in send:
            store.replace(graph, state_iri)
            report.sent.append(graph.iri)
            new_state[graph.iri] = Published(graph.sha256, graph.size)
        for iri in delete:
            store.delete(iri, state_iri)
            report.deleted.append(iri)
            new_state.pop(iri, None)
        if store.keeps_state_per_graph or not (send or delete):
            report.state_written = True
        else:
            store.write_state(state_iri, new_state)
            report.state_written = True
    except RemoteError as exc:
        report.not_sent = [g.iri for g in send if g.iri not in report.sent]
        report.not_deleted = [iri for iri in delete if iri not in report.deleted]
        if store.keeps_state_per_graph:
            report.state_written = True
        elif report.sent or report.deleted:
            try:  # record what did get through, so the next run does not send it again
                store.write_state(state_iri, new_state)
                report.state_written = True
            except RemoteError:
                pass  # the next run re-sends those graphs too: harmless, only slower
        report.requests = store.client.requests_sent
        raise PublishFailed(
            f"publishing to {store.url} stopped: {exc.message}. {len(report.sent)} graph(s) sent and "
            f"{len(report.deleted)} deleted before it; {len(report.not_sent)} not sent and "
            f"{len(report.not_deleted)} not deleted. Every graph in the store is whole (its old or new "
            "version): run publish again to finish", report, exc.url, exc.status) from exc
    if verify:
        report.checks = verify_graphs(build, store, sparql)
    report.requests = store.client.requests_sent
    return report


def verify_graphs(build: LocalBuild, store: RemoteStore, sparql: RemoteSparql | None = None
                  ) -> list[GraphCheck]:
    """Per-graph triple counts in the store against the build: by one COUNT query when a query
    endpoint is known, else by reading each graph back over the Graph Store Protocol and
    comparing its content hash too."""
    sparql = sparql or getattr(store, "sparql", None)
    if sparql is not None:
        counts = sparql_counts(sparql, list(build.graphs))
        return [GraphCheck(iri, g.size, counts[iri]) for iri, g in build.graphs.items()]
    if not isinstance(store, GraphStoreProtocol):
        raise RemoteError("verifying needs a SPARQL query endpoint (--sparql URL)", store.url)
    checks = []
    for iri, graph in build.graphs.items():
        count, digest = store.remote_graph(iri)
        checks.append(GraphCheck(iri, graph.size, count, digest == graph.sha256))
    return checks


def format_report(report: PublishReport, base_iri: str = "") -> str:
    """A readable account of a publish, for the command line."""
    def short(iri: str) -> str:
        return iri[len(base_iri):] if base_iri and iri.startswith(base_iri) else iri

    lines = [f"store: {report.url}"]
    for title, iris in (("sent", report.sent), ("deleted", report.deleted),
                        ("not sent", report.not_sent), ("not deleted", report.not_deleted)):
        if iris:
            lines.append(f"{title} ({len(iris)}):")
            lines.extend(f"  {short(iri)}" for iri in iris)
    lines.append(f"unchanged, not sent: {len(report.unchanged)} graph(s)")
    if not (report.sent or report.deleted):
        lines.append(f"publish state already current in {short(report.state_graph)}")
    else:
        lines.append(f"publish state {'recorded' if report.state_written else 'NOT recorded'} in "
                     f"{short(report.state_graph)}")
    if report.checks:
        lines.append("verification (triples local / remote):")
        for check in report.checks:
            verdict = "ok" if check.ok else "MISMATCH"
            if check.same_content is False:
                verdict += " (content differs)"
            lines.append(f"  {verdict:8} {check.local:>8} / {check.remote:<8} {short(check.iri)}")
    lines.append(f"{report.requests} request(s) to {report.url}, retries included")
    return "\n".join(lines) + "\n"
