"""What ``claimgraph link`` shows: reports as text, and the question an editor answers at a
terminal. Functions return strings; the CLI prints them and reads the answers."""

from __future__ import annotations

from pathlib import Path

from claimgraph.linking.client import Exchange
from claimgraph.linking.pipeline import AcceptOutcome, LinkOutcome
from claimgraph.linking.reconcile import Candidate, EntitySuggestions
from claimgraph.linking.verify import DUPLICATE, MISMATCH, OK, STALE, UNCHECKED, CheckReport

_MARKS = {OK: "ok", UNCHECKED: "unchecked", MISMATCH: "MISMATCH", STALE: "STALE", DUPLICATE: "DUPLICATE"}
QUIT = "quit"


def format_check(report: CheckReport) -> str:
    lines = [f"checked {len(report.checks)} Wikidata link(s) against {report.endpoint}"]
    for check in sorted(report.checks, key=lambda c: (not c.failed, c.status != UNCHECKED, c.entity.key)):
        where = f"{check.entity.location}: " if check.failed else ""
        lines.append(f"  {_MARKS[check.status]:9} {where}{check.message}")
    counts = {status: sum(1 for c in report.checks if c.status == status) for status in _MARKS}
    lines.append(f"  {counts[OK]} fit, {counts[MISMATCH]} mismatched, {counts[STALE]} stale, "
                 f"{counts[DUPLICATE]} shared with another entity, {counts[UNCHECKED]} not checked")
    return "\n".join(lines) + "\n"


def _candidate(c: Candidate) -> str:
    name = f"{c.qid} '{c.label}'" if c.label else c.qid
    about = f" ({c.description})" if c.description else ""
    types = ", ".join(c.types) or "no instance-of"
    fit = {True: "type fits", False: "TYPE DOES NOT FIT", None: "type unknown"}[c.fits]
    taken = f"; already linked to {c.linked_to}" if c.linked_to else ""
    return f"{name}{about}: {types}; {fit}; score {c.score:.2f}; matched {', '.join(c.matched)}{taken}"


def format_suggestions(suggestions: list[EntitySuggestions]) -> str:
    found = sum(1 for s in suggestions if s.candidates)
    lines = [f"searched Wikidata for {len(suggestions)} unreconciled entit{'y' if len(suggestions) == 1 else 'ies'}"
             f" ({found} with candidates)"]
    for s in suggestions:
        head = f"  {s.entity.key} ({s.entity.type} '{s.entity.name}')"
        if not s.candidates:
            lines.append(f"{head}: no item has one of its names as label or alias in "
                         f"{'/'.join(s.languages)}")
            continue
        lines.append(f"{head}:")
        lines.extend(f"    {i}. {_candidate(c)}" for i, c in enumerate(s.candidates, start=1))
    return "\n".join(lines) + "\n"


def _retries(exchanges: list[Exchange]) -> list[str]:
    # an exchange that was waited after is one that was retried
    return [f"  retried after HTTP {e.status} (waited {e.waited:g} s)" for e in exchanges if e.waited]


def format_outcome(outcome: LinkOutcome) -> str:
    parts = []
    if outcome.check is not None:
        parts.append(format_check(outcome.check))
    if outcome.suggestions is not None:
        parts.append(format_suggestions(outcome.suggestions))
    if outcome.cached_items:
        parts.append(f"cached Wikidata's triples about {outcome.cached_items} item(s)\n")
    notes = _retries(outcome.exchanges)
    if notes:
        parts.append("\n".join(notes) + "\n")
    parts.extend(f"wrote {path}\n" for path in outcome.written)
    return "".join(parts)


def format_accept(outcome: AcceptOutcome) -> str:
    p = outcome.provenance
    what = "has no Wikidata item" if outcome.wikidata == "no-item" else f"is {outcome.wikidata}"
    lines = [f"recorded: {outcome.key} {what} ({p.method}, by {p.by}, {p.date})"]
    if outcome.check is not None:
        lines.append(f"  {_MARKS[outcome.check.status]:9} {outcome.check.message}")
    lines.extend(f"wrote {path}" for path in outcome.written)
    return "\n".join(lines) + "\n"


def choice_prompt(s: EntitySuggestions, registry: Path | None = None) -> str:
    lines = [f"\n{s.entity.key} ({s.entity.type} '{s.entity.name}', {registry or s.entity.location}):"]
    lines.extend(f"  {i}. {_candidate(c)}" for i, c in enumerate(s.candidates, start=1))
    lines.append(f"link to [1-{len(s.candidates)}], n = Wikidata has no item, s = skip, q = quit: ")
    return "\n".join(lines)


def parse_choice(answer: str, s: EntitySuggestions) -> str | None:
    """The decision an answer stands for: a Q-id, 'no-item', None (skip) or QUIT."""
    answer = answer.strip().lower()
    if answer in ("q", "quit"):
        return QUIT
    if answer in ("n", "no-item"):
        return "no-item"
    if answer.isdigit() and 1 <= int(answer) <= len(s.candidates):
        return s.candidates[int(answer) - 1].qid
    return None
