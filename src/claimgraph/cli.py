"""The ``claimgraph`` command: a thin layer that parses arguments, calls a stage, prints the
result and picks the exit code (0 success, 1 validation failure, 2 bad input or could not run).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox

from claimgraph import __version__
from claimgraph.build import assemble, build
from claimgraph.errors import ClaimgraphError, OutputError, QueryError, ValidationFailed
from claimgraph.publishing import STORE_DIR
from claimgraph.queries import bind_parameters, find_query, format_result, list_queries, run_query
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
    p = commands.add_parser("validate", help="load, map and validate without writing anything")
    data_options(p)
    p = commands.add_parser("query", help="run a named query (queries/NAME.rq) against the built store")
    p.add_argument("name", nargs="?", help="the query's name; omit it to list the queries")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a query parameter (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--out", type=Path, default=Path("dist"), help="the build output to query (default: dist/)")
    return parser


def _print_report(report: ValidationReport, stream: object) -> None:
    for finding in report.findings:
        print(finding, file=stream)  # type: ignore[call-overload]
    print(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)",
          file=stream)  # type: ignore[call-overload]


def _cmd_build(args: argparse.Namespace) -> int:
    result = build(args.data, args.out, args.base_iri)
    if result.assembled.report.warnings:
        _print_report(result.assembled.report, sys.stderr)
    corpus = result.assembled.corpus
    print(f"built {len(corpus.articles)} article(s), {len(corpus.entities)} entities, "
          f"{result.quad_count} quads into {result.out_dir}/")
    for path in sorted(result.files.values()):
        print(f"  {path}")
    print(f"  {result.out_dir / STORE_DIR}/ (pyoxigraph store)")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    assembled = assemble(args.data, args.base_iri)
    _print_report(assembled.report, sys.stdout if assembled.report.conforms else sys.stderr)
    return EXIT_OK if assembled.report.conforms else EXIT_INVALID


def _cmd_query(args: argparse.Namespace) -> int:
    if not args.name:
        for query in list_queries():
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
    store_path = args.out / STORE_DIR
    if not store_path.is_dir():
        raise OutputError("no built store here: run 'claimgraph build' first", store_path)
    store = ox.Store.read_only(str(store_path))
    base = _built_base(args.out)
    result = run_query(store, query, bind_parameters(query, values, base))
    sys.stdout.write(format_result(result, args.format, base))
    return EXIT_OK


def _built_base(out: Path) -> str:
    import json

    try:
        return str(json.loads((out / "build.json").read_text(encoding="utf-8"))["base_iri"])
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError("the build manifest is missing or unreadable: rebuild", out / "build.json") from exc


COMMANDS = {"build": _cmd_build, "validate": _cmd_validate, "query": _cmd_query}


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
