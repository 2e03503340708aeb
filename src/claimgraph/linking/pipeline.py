"""The ``claimgraph link`` stage: verify, reconcile, enrich, accept. Returns reports; never
prints. Every network exchange happens before anything is written, and each file is replaced
in one atomic rename, so a failure leaves the cache, the suggestions and the registry as they
were."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import ClaimgraphError, SourceError
from claimgraph.linking.cache import CACHE_FILE, CacheProvenance, load_cache, write_cache
from claimgraph.linking.classes import TypeRules, load_type_rules
from claimgraph.linking.client import Exchange, LinkError, WikidataClient, wikidata_item
from claimgraph.linking.enrich import fetch_triples
from claimgraph.linking.reconcile import (
    SUGGESTIONS_FILE,
    EntitySuggestions,
    drop_suggestions,
    entity_languages,
    load_suggestions,
    suggest,
    write_suggestions,
)
from claimgraph.linking.registry import record_link
from claimgraph.linking.verify import MISMATCH, CheckReport, LinkCheck, check_links
from claimgraph.records import Corpus, Entity, LinkProvenance, SourceLocation
from claimgraph.sources import QID_RE, load_corpus
from claimgraph.vocabulary import SchemaVocabulary


class LinkRefused(ClaimgraphError):
    """An editor's link was not recorded: the item does not fit, is stale, or is taken."""

    exit_code = 1


@dataclass
class LinkOutcome:
    endpoint: str
    check: CheckReport | None = None
    suggestions: list[EntitySuggestions] | None = None
    written: list[Path] = field(default_factory=list)
    cached_items: int = 0
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass
class AcceptOutcome:
    key: str
    wikidata: str
    provenance: LinkProvenance
    registry: Path
    check: LinkCheck | None
    written: list[Path] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _retrieval(client: WikidataClient, when: datetime) -> CacheProvenance:
    return CacheProvenance(client.endpoint, when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "Retrieved by 'claimgraph link' with SPARQLWrapper")


def _cache_items(corpus: Corpus, rules: TypeRules, vocab: SchemaVocabulary,
                 entities: dict[str, Entity] | None = None) -> dict:
    entities = entities if entities is not None else corpus.entities
    return {e.wikidata_id: rules.for_type(e.type, vocab) for e in sorted(entities.values(), key=lambda e: e.key)
            if e.wikidata_id}


# Refuse, unless told otherwise, a refresh that would leave the cache with facts about fewer than
# this share of the items it described: an endpoint that answers "no results" for everything (an
# empty stand-in, a wrong URL that happens to speak SPARQL) must not wipe the committed cache.
CACHE_SHRINK_LIMIT = 0.5


class CacheShrinkRefused(LinkError):
    """The refreshed cache would describe far fewer items than the one on disk."""


def _check_cache_shrink(path: Path, expected: set[str], triples: list) -> None:
    fetched = {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)} & expected
    before = load_cache(path).items() & expected if path.is_file() else set()
    if expected and not fetched:
        raise CacheShrinkRefused(f"the endpoint returned no facts about any of the {len(expected)} linked "
                                 f"item(s): refusing to empty the cache {path.name} (is it the right endpoint? "
                                 "pass --allow-shrink to write it anyway)")
    if before and len(fetched) < CACHE_SHRINK_LIMIT * len(before):
        raise CacheShrinkRefused(f"the endpoint returned facts about {len(fetched)} of the {len(expected)} linked "
                                 f"item(s), and the cache describes {len(before)}: refusing to shrink it below "
                                 f"{CACHE_SHRINK_LIMIT:.0%} (pass --allow-shrink to write it anyway)")


def link(data_dir: Path, client: WikidataClient, *, check: bool = True, reconcile: bool = True,
         enrich: bool = True, limit: int = 5, now: datetime | None = None,
         allow_shrink: bool = False) -> LinkOutcome:
    """Verify the links, suggest candidates for unreconciled entities, refresh the cache."""
    data_dir = Path(data_dir)
    vocab = SchemaVocabulary.load()
    corpus = load_corpus(data_dir, vocab)
    rules = load_type_rules(data_dir, vocab)
    when = _now(now)
    outcome = LinkOutcome(client.endpoint)
    if check:
        outcome.check = check_links(list(corpus.entities.values()), rules, vocab, client)
    if reconcile:
        linked = {e.wikidata_id: e.key for e in corpus.entities.values() if e.wikidata_id}
        todo = [e for e in sorted(corpus.entities.values(), key=lambda e: e.key) if e.wikidata == "unreconciled"]
        outcome.suggestions = suggest(todo, entity_languages(corpus), linked, rules, vocab, client, limit)
    triples = None
    if enrich:
        items = _cache_items(corpus, rules, vocab)
        triples = fetch_triples(client, items)
        if not allow_shrink:
            _check_cache_shrink(data_dir / CACHE_FILE, {wikidata_item(q).value for q in items}, triples)
        outcome.cached_items = len({t.subject for t in triples})
    # every query has succeeded: only now does anything on disk change
    if outcome.suggestions is not None:
        path = data_dir / SUGGESTIONS_FILE
        write_suggestions(path, outcome.suggestions, client.endpoint, when, data_dir)
        outcome.written.append(path)
    if triples is not None:
        path = data_dir / CACHE_FILE
        write_cache(path, triples, _retrieval(client, when))
        outcome.written.append(path)
    outcome.exchanges = list(client.log)
    return outcome


def accept(data_dir: Path, key: str, target: str, by: str, client: WikidataClient | None, *,
           today: date | None = None, now: datetime | None = None) -> AcceptOutcome:
    """Record an editor's decision for entity ``key``: a Wikidata item (checked first, and the
    cache refreshed with it) or ``no-item``. Refuses an item that is stale, does not fit the
    entity's type, or is already another entity's link."""
    data_dir = Path(data_dir)
    vocab = SchemaVocabulary.load()
    corpus = load_corpus(data_dir, vocab)
    entity = corpus.entities.get(key)
    if entity is None:
        raise SourceError(f"no entity '{key}' in the registry", data_dir / "entities.yaml")
    if not (QID_RE.match(target) or target == "no-item"):
        raise SourceError(f"'{target}' is neither a Wikidata item ID (Q followed by digits) nor 'no-item'")
    if not by.strip():
        raise SourceError("say who is deciding: --by NAME (or set CLAIMGRAPH_EDITOR)")
    suggestions_path = data_dir / SUGGESTIONS_FILE
    suggested = load_suggestions(suggestions_path).get(key, ())
    method = "accepted-suggestion" if target in suggested else "by-hand"
    provenance = LinkProvenance(method, by.strip(), (today or _now(now).date()).isoformat(),
                                SourceLocation(entity.location.path, entity.location.line))
    outcome = AcceptOutcome(key, target, provenance, entity.location.path, None)
    triples = None
    if target != "no-item":
        if client is None:
            raise SourceError("checking an item needs a SPARQL endpoint")
        owner = next((e.key for e in corpus.entities.values() if e.wikidata == target and e.key != key), None)
        if owner:
            raise LinkRefused(f"{target} is already the link of entity '{owner}': one registry entity per "
                              "real-world thing (merge the two entries instead)", entity.location.path,
                              entity.location.line)
        rules = load_type_rules(data_dir, vocab)
        linked = dataclasses.replace(entity, wikidata=target)
        result = check_links([linked], rules, vocab, client).checks[0]
        outcome.check = result
        if result.failed:
            verb = "does not fit" if result.status == MISMATCH else "is stale"
            raise LinkRefused(f"not linked: {target} {verb}: {result.message}", entity.location.path,
                              entity.location.line)
        entities = {**corpus.entities, key: linked}
        triples = fetch_triples(client, _cache_items(corpus, rules, vocab, entities))
        outcome.exchanges = list(client.log)
    # everything checked and fetched: now the cache, then the registry, then the suggestions
    if triples is not None and client is not None:
        path = data_dir / CACHE_FILE
        write_cache(path, triples, _retrieval(client, _now(now)))
        outcome.written.append(path)
    record_link(entity.location.path, key, target, provenance, vocab)
    outcome.written.append(entity.location.path)
    if key in load_suggestions(suggestions_path):
        drop_suggestions(suggestions_path, key)
        outcome.written.append(suggestions_path)
    return outcome

