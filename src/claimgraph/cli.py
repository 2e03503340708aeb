"""The ``claimgraph`` command: a thin layer that parses arguments, calls a stage, prints the
result and picks the exit code (0 success, 1 validation failure, 2 bad input or could not run).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox

from claimgraph import __version__
from claimgraph.build import assemble, build
from claimgraph.errors import ClaimgraphError, OutputError, QueryError, ValidationFailed
from claimgraph.publishing import STORE_DIR
from claimgraph.queries import (
    bind_parameters,
    find_query,
    format_result,
    list_federated_queries,
    list_queries,
    remote_rows,
    run_query,
    run_remote_query,
)
from claimgraph.query_pages import RowsRunner, is_paged, run_page, store_runner
from claimgraph.remote.auth import SCHEMES
from claimgraph.validation import ValidationReport

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimgraph", description=(
        "Publish opinion journalism as linked data: attributed claims and quotations, anchored "
        "in the text, linked to Wikidata."))
    parser.add_argument("--version", action="version", version=f"claimgraph {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=Path("data"), help="the sources (default: data/)")
        p.add_argument("--base-iri", help="mint IRIs under this base instead of dataset.yaml's")

    p = commands.add_parser("build", help="load, map, validate and publish the dataset")
    data_options(p)
    p.add_argument("--out", type=Path, default=Path("dist"), help="the output folder (default: dist/)")
    p.add_argument("--no-site", action="store_true",
                   help="skip the static site (one file per resource and format): for large corpora "
                   "served by 'claimgraph serve', which renders the same documents on request")
    p = commands.add_parser("serve", help="serve the built dataset: pages, negotiation, SPARQL endpoint")
    data_options(p)
    p.add_argument("--out", type=Path, default=Path("dist"), help="the build output to serve (default: dist/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--base-url", help="the URL the server is reached at (default: http://HOST:PORT/); "
                   "links in every response point there")
    p.add_argument("--query-timeout", type=float, default=10.0, help="seconds a SPARQL query may run (default: 10)")
    p.add_argument("--result-limit", type=int, default=10_000,
                   help="most rows a SPARQL response carries (default: 10000)")
    p.add_argument("--workers", type=int, default=2, help="SPARQL worker processes (default: 2)")
    p.add_argument("--worker-memory", type=int, default=2048, metavar="MB",
                   help="memory a SPARQL worker may use; a query needing more is stopped (default: 2048; 0: no limit)")
    p.add_argument("--endpoint", help="serve the dataset from this SPARQL endpoint (a store filled by "
                   "'claimgraph publish') instead of the embedded store")
    p = commands.add_parser("validate", help="load, map and validate without writing anything")
    data_options(p)
    p = commands.add_parser("query", help="run a named query (queries/NAME.rq) against the built store")
    p.add_argument("name", nargs="?", help="the query's name; omit it to list the queries")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a query parameter (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--page", type=int, metavar="N",
                   help="only page N (from 1) of a long listing; without it, the whole answer")
    p.add_argument("--out", type=Path, default=Path("dist"), help="the build output to query (default: dist/)")
    p.add_argument("--endpoint", metavar="URL", help="run on this SPARQL endpoint instead of the built store")
    p.add_argument("--base-iri", help="with --endpoint and no build: the base IRI entity keys expand under")
    remote_options(p)
    p = commands.add_parser("publish", help="push the build's named graphs to a triple store")
    p.add_argument("--to", required=True, metavar="URL",
                   help="the store's Graph Store Protocol endpoint (with --protocol update: its SPARQL "
                   "Update endpoint). Credentials come from CLAIMGRAPH_STORE_USER/CLAIMGRAPH_STORE_PASSWORD "
                   "or netrc, never from the command line")
    p.add_argument("--out", type=Path, default=Path("dist"), help="the build to publish (default: dist/)")
    p.add_argument("--protocol", choices=("gsp", "update"), default="gsp",
                   help="Graph Store Protocol (default) or SPARQL 1.1 Update, for stores without it")
    p.add_argument("--sparql", metavar="URL", help="the store's SPARQL query endpoint: verify by counting "
                   "there instead of reading every graph back (required with --protocol update)")
    p.add_argument("--all", action="store_true", dest="everything",
                   help="send every graph, even those the store already has in this version")
    p.add_argument("--allow-shrink", action="store_true",
                   help="publish even an empty build, or one less than half the size of the last publish")
    p.add_argument("--no-verify", action="store_true", help="skip comparing remote and local triple counts")
    p.add_argument("--retries", type=int, default=3, help="tries after the first on 5xx, timeouts and "
                   "broken connections (default: 3)")
    remote_options(p)
    p = commands.add_parser("link", help="check, reconcile and enrich the registry's Wikidata links")
    p.add_argument("--data", type=Path, default=Path("data"), help="the sources (default: data/)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only verify the links, writing nothing; "
                      "exit 1 on an item that does not fit its entity's type or is stale")
    mode.add_argument("--reconcile", action="store_true", help="only search candidates for unreconciled "
                      "entities (written to data/wikidata/suggestions.yaml)")
    mode.add_argument("--enrich", action="store_true", help="only refresh the cache data/wikidata/entities.ttl")
    mode.add_argument("--accept", nargs=2, metavar=("KEY", "QID"),
                      help="link entity KEY to item QID (or 'no-item'), recording who decided and when")
    p.add_argument("--by", default=os.environ.get("CLAIMGRAPH_EDITOR"),
                   help="who decides, for --accept (default: $CLAIMGRAPH_EDITOR)")
    p.add_argument("--endpoint", default="https://query.wikidata.org/sparql", metavar="URL",
                   help="the SPARQL endpoint (default: the Wikidata Query Service)")
    p.add_argument("--timeout", type=float, default=70.0, help="seconds to wait for an answer (default: 70)")
    p.add_argument("--retries", type=int, default=3, help="tries after the first on 429/502/503/504 (default: 3)")
    p.add_argument("--max-wait", type=float, default=120.0, help="the longest Retry-After to honour (default: 120)")
    p.add_argument("--contact", default=os.environ.get("CLAIMGRAPH_CONTACT"), help="an e-mail address or URL "
                   "for the User-Agent, as Wikimedia's policy asks (default: $CLAIMGRAPH_CONTACT)")
    p.add_argument("--candidates", type=int, default=5, help="candidates kept per entity (default: 5)")
    p.add_argument("--no-input", action="store_true", help="never ask to accept candidates, even at a terminal")
    p.add_argument("--allow-shrink", action="store_true", help="refresh the cache even if the endpoint describes "
                   "less than half of the items the cache describes now")
    return parser


def remote_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auth", choices=SCHEMES, help="HTTP authentication scheme (default: auto, or "
                   "CLAIMGRAPH_STORE_AUTH): auto answers the server's Basic or Digest challenge")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each request (default: 30)")


def _print_report(report: ValidationReport, stream: object) -> None:
    for finding in report.findings:
        print(finding, file=stream)  # type: ignore[call-overload]
    print(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)",
          file=stream)  # type: ignore[call-overload]


def _base_iri(args: argparse.Namespace) -> str | None:
    """``--base-iri``, checked like dataset.yaml's base_iri (every IRI is minted under it)."""
    from claimgraph.errors import SourceError
    from claimgraph.sources import base_iri_problem

    if args.base_iri is not None and (problem := base_iri_problem(args.base_iri)):
        raise SourceError(f"--base-iri: {problem}")
    return args.base_iri


class _ProgressPrinter:
    """A progress bar on a terminal; a plain line per stage and per tenth elsewhere."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = 10 * done // total if total else 10
        if self.tty:
            width = 30
            bar = "#" * (width * done // total if total else width)
            self.stream.write(f"\r{stage}: [{bar:<{width}}] {done:,}/{total:,}")
            if done >= total:
                self.stream.write("\n")
        elif (stage, tenth) != self.last:
            self.stream.write(f"{stage}: {done:,}/{total:,}\n")
        self.last = (stage, tenth)
        self.stream.flush()


def _cmd_build(args: argparse.Namespace) -> int:
    # A build makes millions of short-lived rdflib terms and dicts, few of them in cycles, next
    # to the long-lived schema.org vocabulary; at Python's default threshold (700) the cycle
    # collector runs every few hundred triples and keeps walking that vocabulary: a fifth of a
    # worker's time. The workers, forked from here, inherit the setting.
    gc.set_threshold(50_000, 20, 100)
    result = build(args.data, args.out, _base_iri(args), site=not getattr(args, "no_site", False),
                   progress=_ProgressPrinter(sys.stderr))
    if result.assembled.report.warnings:
        _print_report(result.assembled.report, sys.stderr)
    files = result.assembled.files
    print(f"built {len(files.articles)} article(s) ({result.assembled.reused} unchanged), "
          f"{len(files.entities)} entities, "
          f"{result.quad_count} quads into {result.out_dir}/")
    for path in sorted(result.files.values()):
        print(f"  {path}")
    print(f"  {result.out_dir / STORE_DIR}/ (pyoxigraph store)")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="claimgraph-validate-") as work:
        assembled = assemble(args.data, _base_iri(args), work_dir=Path(work))
        _print_report(assembled.report, sys.stdout if assembled.report.conforms else sys.stderr)
        return EXIT_OK if assembled.report.conforms else EXIT_INVALID


def _cmd_query(args: argparse.Namespace) -> int:
    if not args.name:
        for query in [*list_queries(), *list_federated_queries()]:
            params = " ".join(f"[{p.name}=…]" if not p.required else f"{p.name}=…" for p in query.parameters)
            print(f"{query.name:28} {query.title}{'  ' + params if params else ''}")
        return EXIT_OK
    query = find_query(args.name)
    values = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise QueryError(f"--param '{item}' must read KEY=VALUE")
        values[key.strip()] = value
    if args.endpoint:
        from claimgraph.remote import RemoteSparql, find_credentials

        base = args.base_iri or _built_base(args.out)
        client = RemoteSparql(args.endpoint, args.timeout, find_credentials(args.endpoint, args.auth))
        run_rows: RowsRunner = lambda q, rows: remote_rows(client, q, rows)  # noqa: E731
    else:
        store_path = args.out / STORE_DIR
        if not store_path.is_dir():
            raise OutputError("no built store here: run 'claimgraph build' first", store_path)
        base = _built_base(args.out)
        store = ox.Store.read_only(str(store_path))
        run_rows = store_runner(store)
    bindings = bind_parameters(query, values, base)
    if args.page is None:
        result = run_remote_query(client, query, bindings) if args.endpoint else run_query(store, query, bindings)
        sys.stdout.write(format_result(result, args.format, base))
        return EXIT_OK
    if not is_paged(query, bindings):
        raise QueryError(f"query '{query.name}' with these parameters comes whole, not in pages: "
                         "leave out --page", query.path)
    result, page = run_page(run_rows, query, bindings, args.page)
    sys.stdout.write(format_result(result, args.format, base))
    # CSV and JSON stay one document a program can read: the page line goes to stderr there
    label = f"({page.label(query.page.description if query.page else '')})\n"
    (sys.stdout if args.format == "table" else sys.stderr).write(label)
    return EXIT_OK


def _built_base(out: Path) -> str:
    import json

    try:
        return str(json.loads((out / "build.json").read_text(encoding="utf-8"))["base_iri"])
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError("the build manifest is missing or unreadable: rebuild", out / "build.json") from exc


def _cmd_publish(args: argparse.Namespace) -> int:
    from claimgraph.remote import (
        GraphStoreProtocol,
        PublishFailed,
        RemoteSparql,
        RetryPolicy,
        SparqlUpdate,
        StoreClient,
        find_credentials,
        format_report,
        publish,
        read_build,
    )

    local = read_build(args.out)
    if args.protocol == "update" and not args.sparql:
        raise ClaimgraphError("--protocol update needs --sparql URL, the store's query endpoint")
    retry = RetryPolicy(attempts=max(1, args.retries + 1))
    credentials = find_credentials(args.to, args.auth)
    sparql = (RemoteSparql(args.sparql, args.timeout, find_credentials(args.sparql, args.auth), retry)
              if args.sparql else None)
    with StoreClient(args.timeout, credentials, retry) as client:
        store = (SparqlUpdate(args.to, client, sparql) if args.protocol == "update" and sparql
                 else GraphStoreProtocol(args.to, client))
        try:
            report = publish(local, store, sparql=sparql, everything=args.everything,
                             allow_shrink=args.allow_shrink, verify=not args.no_verify)
        except PublishFailed as exc:
            sys.stderr.write(format_report(exc.report, local.base_iri))
            raise
    sys.stdout.write(format_report(report, local.base_iri))
    if not report.verified:
        print("claimgraph: the store's triple counts differ from the build (see above); "
              "'claimgraph publish --all' sends every graph again", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _cmd_link(args: argparse.Namespace) -> int:
    from claimgraph.linking import report
    from claimgraph.linking.client import ClientSettings, WikidataClient
    from claimgraph.linking.pipeline import LinkRefused, accept, link

    def client() -> WikidataClient:
        return WikidataClient(ClientSettings(args.endpoint, args.timeout, max(0, args.retries) + 1,
                                             args.max_wait, args.contact))

    def decide(key: str, target: str) -> int:
        try:
            sys.stdout.write(report.format_accept(accept(args.data, key, target, args.by or "", client())))
        except LinkRefused as exc:
            print(f"claimgraph: {exc}", file=sys.stderr)
            return EXIT_INVALID
        return EXIT_OK

    if args.accept:
        return decide(*args.accept)
    only = args.check or args.reconcile or args.enrich
    outcome = link(args.data, client(), check=args.check or not only, reconcile=args.reconcile or not only,
                   enrich=args.enrich or not only, limit=args.candidates, allow_shrink=args.allow_shrink)
    sys.stdout.write(report.format_outcome(outcome))
    status = EXIT_OK
    if outcome.check and outcome.check.problems:
        print(f"claimgraph: {len(outcome.check.problems)} Wikidata link(s) failed the check (see above)",
              file=sys.stderr)
        status = EXIT_INVALID
    if outcome.suggestions and sys.stdin.isatty() and not args.no_input:
        for suggestions in (s for s in outcome.suggestions if s.candidates):
            choice = report.parse_choice(input(report.choice_prompt(suggestions)), suggestions)
            if choice == report.QUIT:
                break
            if choice is not None:
                args.by = args.by or input("your name, recorded with the link: ")
                status = max(status, decide(suggestions.entity.key, choice))
    return status


def _cmd_serve(args: argparse.Namespace) -> int:
    from claimgraph.web.server import run_server  # the web stack loads only for this command

    if not (args.out / STORE_DIR).is_dir():
        print(f"no build in {args.out}/: building from {args.data}/ first", file=sys.stderr)
        _cmd_build(args)
    return run_server(args.out, host=args.host, port=args.port, base_url=args.base_url,
                      query_timeout=args.query_timeout, result_limit=args.result_limit, workers=args.workers,
                      endpoint=args.endpoint, worker_memory=args.worker_memory)


COMMANDS = {"build": _cmd_build, "serve": _cmd_serve, "validate": _cmd_validate, "query": _cmd_query,
            "publish": _cmd_publish, "link": _cmd_link}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ValidationFailed as exc:
        if isinstance(exc.report, ValidationReport):
            _print_report(exc.report, sys.stderr)
        print(f"claimgraph: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ClaimgraphError as exc:
        print(f"claimgraph: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("claimgraph: interrupted; the previous output is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: stop quietly, as command-line tools do
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps interpreter shutdown quiet
        return EXIT_OK
