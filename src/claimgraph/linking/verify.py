"""Verify the registry's Wikidata links: each item still exists, is not a redirect, and is an
instance of a class its registry type allows (``data/wikidata/types.yaml``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph.linking.cache import OWL_SAME_AS, RDFS_LABEL, SCHEMA_DESCRIPTION
from claimgraph.linking.classes import TypeRule, TypeRules
from claimgraph.linking.client import WikidataClient, qid_of, remote_query, wikidata_item
from claimgraph.records import Entity
from claimgraph.vocabulary import SchemaVocabulary

P31 = ox.NamedNode("http://www.wikidata.org/prop/direct/P31")

OK, MISMATCH, STALE, UNCHECKED, DUPLICATE = "ok", "mismatch", "stale", "unchecked", "duplicate"


@dataclass(frozen=True)
class ItemFacts:
    """What Wikidata says about an item, as far as verification needs it."""

    qid: str
    exists: bool
    label: str | None = None
    description: str | None = None
    types: tuple[str, ...] = ()
    redirect: str | None = None  # the item this one was merged into


@dataclass(frozen=True)
class LinkCheck:
    entity: Entity
    qid: str
    status: str  # ok | mismatch | stale | unchecked
    message: str
    item: ItemFacts | None = None

    @property
    def failed(self) -> bool:
        return self.status in (MISMATCH, STALE, DUPLICATE)

    def __str__(self) -> str:
        return f"{self.entity.location}: {self.message}"


@dataclass
class CheckReport:
    endpoint: str
    checks: list[LinkCheck]

    @property
    def problems(self) -> list[LinkCheck]:
        return [c for c in self.checks if c.failed]

    @property
    def conforms(self) -> bool:
        return not self.problems


def fetch_items(client: WikidataClient, qids: Iterable[str]) -> dict[str, ItemFacts]:
    """Label, description, types and redirect of each item; ``exists=False`` for deleted ones."""
    qids = sorted(set(qids), key=_qnumber)
    found: dict[str, dict[str, list[ox.NamedNode | ox.Literal]]] = {q: {} for q in qids}
    rows = client.select(remote_query("items"), [{"item": wikidata_item(q)} for q in qids])
    for row in rows:
        qid = qid_of(row.get("item"))
        if qid in found and "property" in row and "value" in row:
            found[qid].setdefault(row["property"].value, []).append(row["value"])
    silent = [q for q in qids if not found[q]]
    existing = {qid_of(r.get("item")) for r in client.select(
        remote_query("exists"), [{"item": wikidata_item(q)} for q in silent])}
    facts = {}
    for qid in qids:
        values = found[qid]
        redirect = next((qid_of(v) for v in values.get(OWL_SAME_AS.value, []) if qid_of(v)), None)
        facts[qid] = ItemFacts(
            qid, exists=bool(values) or qid in existing,
            label=_first_text(values.get(RDFS_LABEL.value)),
            description=_first_text(values.get(SCHEMA_DESCRIPTION.value)),
            types=tuple(sorted({q for v in values.get(P31.value, []) if (q := qid_of(v))}, key=_qnumber)),
            redirect=redirect)
    return facts


def english_labels(client: WikidataClient, qids: Iterable[str]) -> dict[str, str]:
    rows = client.select(remote_query("labels"), [{"item": wikidata_item(q)} for q in sorted(set(qids))])
    labels = {}
    for row in rows:
        value, qid = row.get("value"), qid_of(row.get("item"))
        if qid and row.get("property") == RDFS_LABEL and isinstance(value, ox.Literal) and value.language == "en":
            labels[qid] = value.value
    return labels


def fitting_pairs(client: WikidataClient, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (type, class) pairs where the type is the class or a subclass of it (wdt:P279*)."""
    rows = [{"type": wikidata_item(t), "class": wikidata_item(c)} for t, c in sorted(set(pairs))]
    fits = set()
    for row in client.select(remote_query("subclass"), rows):
        t, c = qid_of(row.get("type")), qid_of(row.get("class"))
        if t and c:
            fits.add((t, c))
    return fits


def check_links(entities: Sequence[Entity], rules: TypeRules, vocab: SchemaVocabulary,
                client: WikidataClient) -> CheckReport:
    """Check every entity with a Wikidata ID; the report holds one result per entity."""
    linked = [e for e in sorted(entities, key=lambda e: e.key) if e.wikidata_id]
    items = fetch_items(client, [e.wikidata_id for e in linked if e.wikidata_id])
    entity_rules = {e.key: rules.for_type(e.type, vocab) for e in linked}
    pairs = {(t, c) for e in linked if (rule := entity_rules[e.key]) and e.wikidata_id
             for t in items[e.wikidata_id].types for c in rule.classes}
    fits = fitting_pairs(client, pairs)
    named = {q for f in items.values() for q in (*f.types, *([f.redirect] if f.redirect else []))}
    named |= {c for rule in entity_rules.values() if rule for c in rule.classes}
    labels = english_labels(client, named)
    checks = [_judge(e, items[e.wikidata_id], entity_rules[e.key], fits, labels, rules)
              for e in linked if e.wikidata_id]
    return CheckReport(client.endpoint, [_unique(c, linked) for c in checks])


def _unique(check: LinkCheck, linked: Sequence[Entity]) -> LinkCheck:
    """One registry entity per real-world thing: a second entity on the same item is an error."""
    others = [e.key for e in linked if e.wikidata_id == check.qid and e.key != check.entity.key]
    if not others:
        return check
    note = f"; {check.qid} is also the link of {', '.join(others)}"
    status = check.status if check.failed else DUPLICATE
    return dataclasses.replace(check, status=status, message=check.message + note)


def _judge(entity: Entity, item: ItemFacts, rule: TypeRule | None, fits: set[tuple[str, str]],
           labels: dict[str, str], rules: TypeRules) -> LinkCheck:
    qid = item.qid
    ours = f"{entity.key} ({entity.type} '{entity.name}')"
    theirs = _item_text(item)
    if not item.exists:
        return LinkCheck(entity, qid, STALE, f"{ours} is linked to {qid}, which Wikidata no longer has "
                                             "(deleted: the item has no triples); find the right item", item)
    if item.redirect:
        target = f"{item.redirect} '{labels[item.redirect]}'" if item.redirect in labels else item.redirect
        return LinkCheck(entity, qid, STALE, f"{ours} is linked to {qid}, which was merged into {target} "
                                             f"(a redirect): link {item.redirect} instead", item)
    if rule is None:
        return LinkCheck(entity, qid, UNCHECKED, f"{ours} → {theirs}: no rule for {entity.type} or its "
                                                 f"supertypes in {rules.path.name}; type not checked", item)
    if not item.types:
        return LinkCheck(entity, qid, UNCHECKED, f"{ours} → {theirs}: Wikidata gives it no instance-of "
                                                 "(P31); type not checked", item)
    allowed = ", ".join(_class_text(c, labels) for c in rule.classes)
    fitting = [t for t in item.types if any((t, c) in fits for c in rule.classes)]
    if fitting:
        return LinkCheck(entity, qid, OK, f"{ours} → {theirs}, an instance of "
                                          f"{', '.join(_class_text(t, labels) for t in fitting)}", item)
    types = ", ".join(_class_text(t, labels) for t in item.types)
    return LinkCheck(entity, qid, MISMATCH,
                     f"{ours} is linked to {theirs}, an instance of {types}; a {rule.type} must be an "
                     f"instance of {allowed} or a subclass (rule at {rule.location})", item)


def _item_text(item: ItemFacts) -> str:
    text = f"{item.qid} '{item.label}'" if item.label else item.qid
    return f"{text} ({item.description})" if item.description else text


def _class_text(qid: str, labels: dict[str, str]) -> str:
    return f"{labels[qid]} ({qid})" if qid in labels else qid


def _first_text(values: list | None) -> str | None:
    texts = sorted(v.value for v in values or () if isinstance(v, ox.Literal))
    return texts[0] if texts else None


def _qnumber(qid: str) -> int:
    return int(qid[1:]) if qid[1:].isdigit() else 0
