"""Fetch what the cache keeps about linked items: labels, aliases and descriptions in the
published languages, instance-of types, the facts their registry type asks for, redirects, and
the labels of the items those facts point to (a capital, a country, a class)."""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox

from claimgraph.linking.cache import OWL_SAME_AS, RDFS_LABEL
from claimgraph.linking.classes import TypeRule
from claimgraph.linking.client import WikidataClient, qid_of, remote_query, wikidata_item

WDT = "http://www.wikidata.org/prop/direct/"


def fetch_triples(client: WikidataClient, items: Mapping[str, TypeRule | None]) -> list[ox.Triple]:
    """Wikidata's triples about ``items`` (Q-id → the rule of its registry type)."""
    qids = sorted(items, key=lambda q: int(q[1:]))
    fact_rows = []
    for qid in qids:
        rule = items[qid]
        node = wikidata_item(qid)
        fact_rows.append({"item": node, "property": OWL_SAME_AS})  # a merged item keeps only this
        for pid in ("P31", *(rule.facts if rule else ())):
            fact_rows.append({"item": node, "property": ox.NamedNode(WDT + pid)})
    triples = _triples(client.select(remote_query("facts"), fact_rows))
    triples += _triples(client.select(remote_query("labels"), [{"item": wikidata_item(q)} for q in qids]))
    # the items the facts point to get their names only, so that a capital reads as "Baku"
    referenced = sorted({q for t in triples if (q := qid_of(t.object)) and q not in items},
                        key=lambda q: int(q[1:]))
    names = client.select(remote_query("labels"), [{"item": wikidata_item(q)} for q in referenced])
    triples += [t for t in _triples(names) if t.predicate == RDFS_LABEL]
    return triples


def _triples(rows: list[dict]) -> list[ox.Triple]:
    out = []
    for row in rows:
        item, prop, value = row.get("item"), row.get("property"), row.get("value")
        # blank nodes ("some value" in older dumps) say nothing a reader could use
        if isinstance(item, ox.NamedNode) and isinstance(prop, ox.NamedNode) and \
                isinstance(value, ox.NamedNode | ox.Literal):
            out.append(ox.Triple(item, prop, value))
    return out
