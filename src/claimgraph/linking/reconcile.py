"""Reconciliation: find Wikidata candidates for entities nobody has linked yet, rank them, and
write them down for an editor. Nothing here links anything: an editor accepts a candidate
with ``claimgraph link --accept KEY QID`` (see :mod:`claimgraph.linking.registry`).

Candidates are items whose label or alias is exactly one of the entity's names (its name and
alternate names) in one of its languages (English, the registry's language, and the language
of every article that refers to it). They are ranked by how they matched and whether their
instance-of types fit the entity's registry type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
import yaml

from claimgraph.errors import SourceError
from claimgraph.linking.cache import write_file_atomically
from claimgraph.linking.classes import TypeRules
from claimgraph.linking.client import WikidataClient, qid_of, remote_query
from claimgraph.linking.verify import english_labels, fetch_items, fitting_pairs
from claimgraph.records import Corpus, Entity
from claimgraph.strict_yaml import YamlList, YamlMap, YamlStr, parse_yaml, read_text
from claimgraph.vocabulary import SchemaVocabulary

SUGGESTIONS_FILE = "wikidata/suggestions.yaml"
REGISTRY_LANGUAGE = "en"
# How a candidate matched, best first: the entity's own name as the item's label, as one of
# its aliases, then an alternate name as label or alias.
MATCH_WEIGHTS = {(True, "label"): 0.5, (True, "alias"): 0.4, (False, "label"): 0.35, (False, "alias"): 0.3}
TYPE_FITS, TYPE_UNKNOWN = 0.4, 0.1


@dataclass(frozen=True)
class Candidate:
    qid: str
    label: str | None
    description: str | None
    types: tuple[str, ...]  # "human (Q5)"
    matched: tuple[str, ...]  # 'label "Lachin"@en'
    fits: bool | None  # None: the item has no P31, or the registry type has no rule
    sitelinks: int | None
    score: float
    linked_to: str | None  # the registry key already linked to this item, if any


@dataclass(frozen=True)
class EntitySuggestions:
    entity: Entity
    languages: tuple[str, ...]
    candidates: tuple[Candidate, ...]


def entity_languages(corpus: Corpus) -> dict[str, tuple[str, ...]]:
    """For each registry key, the languages to search its names in."""
    found: dict[str, set[str]] = {key: {REGISTRY_LANGUAGE} for key in corpus.entities}
    for article in corpus.articles:
        language = article.language.lower()
        keys = {article.author, article.publisher, article.copyright_holder}
        for item in (*article.claims, *article.quotations):
            keys.update(item.about, item.mentions, [item.speaker] if item.speaker else [])
        for event in article.events:
            keys.update(event.about, [event.same_as] if event.same_as else [])
        for stance in article.stances:
            keys.update(stance.about)
        for key in keys & found.keys():
            found[key].update({language, language.split("-")[0]})
    return {key: tuple(sorted(langs, key=lambda lang: (lang != REGISTRY_LANGUAGE, lang)))
            for key, langs in found.items()}


def suggest(entities: Sequence[Entity], languages: Mapping[str, tuple[str, ...]], linked: Mapping[str, str],
            rules: TypeRules, vocab: SchemaVocabulary, client: WikidataClient, limit: int = 5
            ) -> list[EntitySuggestions]:
    """Ranked candidates for each of ``entities``; ``linked`` maps Q-ids already used to keys."""
    wanted: dict[ox.Literal, list[tuple[str, bool]]] = {}
    for entity in entities:
        for index, name in enumerate((entity.name, *entity.alternate_names)):
            for language in languages.get(entity.key, (REGISTRY_LANGUAGE,)):
                wanted.setdefault(ox.Literal(name, language=language), []).append((entity.key, index == 0))
    rows = client.select(remote_query("candidates"), [{"name": n} for n in wanted])
    matches: dict[str, dict[str, list[tuple[bool, str, ox.Literal]]]] = {e.key: {} for e in entities}
    sitelinks: dict[str, int] = {}
    for row in rows:
        qid, name, how = qid_of(row.get("item")), row.get("name"), row.get("matched")
        if not qid or not isinstance(name, ox.Literal) or name not in wanted or how is None:
            continue
        if "sitelinks" in row and row["sitelinks"].value.isdigit():
            sitelinks[qid] = int(row["sitelinks"].value)
        for key, primary in wanted[name]:
            matches[key].setdefault(qid, []).append((primary, how.value, name))
    items = fetch_items(client, {q for found in matches.values() for q in found})
    entity_rules = {e.key: rules.for_type(e.type, vocab) for e in entities}
    pairs = {(t, c) for e in entities if (rule := entity_rules[e.key])
             for q in matches[e.key] for t in items[q].types for c in rule.classes}
    fits = fitting_pairs(client, pairs)
    labels = english_labels(client, {t for f in items.values() for t in f.types})
    out = []
    for entity in entities:
        rule = entity_rules[entity.key]
        candidates = []
        for qid, how in matches[entity.key].items():
            item = items[qid]
            if not item.exists or item.redirect:
                continue  # a merged item answers under its new ID, which is a candidate of its own
            fit = None if rule is None or not item.types else any(
                (t, c) in fits for t in item.types for c in rule.classes)
            best = max(MATCH_WEIGHTS[(primary, kind)] for primary, kind, _ in how)
            extra = min(0.1, 0.05 * (len({(kind, n) for _, kind, n in how}) - 1))
            score = best + extra + (TYPE_FITS if fit else TYPE_UNKNOWN if fit is None else 0.0)
            candidates.append(Candidate(
                qid, item.label, item.description,
                tuple(f"{labels[t]} ({t})" if t in labels else t for t in item.types),
                tuple(sorted({f'{kind} "{n.value}"@{n.language}' for _, kind, n in how})),
                fit, sitelinks.get(qid), round(min(score, 1.0), 2), linked.get(qid)))
        candidates.sort(key=lambda c: (-c.score, -(c.sitelinks or 0), int(c.qid[1:])))
        out.append(EntitySuggestions(entity, languages.get(entity.key, (REGISTRY_LANGUAGE,)),
                                     tuple(candidates[:limit])))
    return out


# --------------------------------------------------------------------------- the file

def render_suggestions(suggestions: Sequence[EntitySuggestions], endpoint: str, when: datetime,
                       data_dir: Path) -> str:
    header = (
        "# Wikidata candidates for the registry entities nobody has reconciled yet, best first.\n"
        f"# Written by 'claimgraph link' from {endpoint} at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}.\n"
        "# Nothing here is linked. Check a candidate on Wikidata, then accept it with\n"
        "#   claimgraph link --accept KEY QID --by 'Your Name'\n"
        "# or record that Wikidata has no item with --accept KEY no-item.\n"
        "# score: how the names matched (label before alias, the name before an alternate name)\n"
        "# plus 0.4 when the item's types fit the registry type (data/wikidata/types.yaml).\n\n"
    )
    document = {}
    for s in sorted(suggestions, key=lambda s: s.entity.key):
        where = s.entity.location
        try:
            registry = f"{where.path.relative_to(data_dir)}:{where.line}"
        except ValueError:
            registry = str(where)
        entry: dict[str, object] = {"name": s.entity.name, "type": s.entity.type, "registry": registry,
                                    "languages": list(s.languages)}
        entry["candidates"] = [_candidate_entry(c) for c in s.candidates]
        document[s.entity.key] = entry
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100) if document else "{}\n"
    return header + body


def _candidate_entry(c: Candidate) -> dict[str, object]:
    entry: dict[str, object] = {"qid": c.qid, "score": f"{c.score:.2f}"}
    if c.label:
        entry["label"] = c.label
    if c.description:
        entry["description"] = c.description
    entry["instance_of"] = list(c.types)
    entry["type_fits"] = {True: "yes", False: "no", None: "unknown"}[c.fits]
    entry["matched"] = list(c.matched)
    if c.sitelinks is not None:
        entry["sitelinks"] = str(c.sitelinks)
    if c.linked_to:
        entry["already_linked_to"] = c.linked_to
    return entry


def write_suggestions(path: Path, suggestions: Sequence[EntitySuggestions], endpoint: str, when: datetime,
                      data_dir: Path) -> None:
    write_file_atomically(path, render_suggestions(suggestions, endpoint, when, data_dir).encode("utf-8"))


def load_suggestions(path: Path) -> dict[str, tuple[str, ...]]:
    """Registry key → the Q-ids suggested for it (empty when there is no suggestions file)."""
    if not path.is_file():
        return {}
    root = parse_yaml(read_text(path), path)
    if not isinstance(root, YamlMap):
        raise SourceError("the suggestions file must map registry keys to their candidates", path)
    out = {}
    for key, entry in root.items():
        candidates = entry.get("candidates") if isinstance(entry, YamlMap) else None
        if not isinstance(candidates, YamlList):
            raise SourceError(f"suggestions for '{key}' have no 'candidates' list", path, root.line_of(key))
        out[key] = tuple(str(c["qid"]) for c in candidates if isinstance(c, YamlMap) and "qid" in c)
    return out


def drop_suggestions(path: Path, key: str) -> None:
    """Remove ``key`` from the suggestions file once it has been decided."""
    if not path.is_file():
        return
    text = read_text(path)
    root = parse_yaml(text, path)
    if not isinstance(root, YamlMap) or key not in root:
        return
    header = "".join(line + "\n" for line in text.split("\n") if line.startswith("#")) + "\n"
    rest = {k: _plain(v) for k, v in root.items() if k != key}
    body = yaml.safe_dump(rest, allow_unicode=True, sort_keys=False, width=100) if rest else "{}\n"
    write_file_atomically(path, (header + body).encode("utf-8"))


def _plain(node: object) -> object:
    # the strict reader's located str/dict/list subclasses, back to what PyYAML can write
    if isinstance(node, YamlMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, YamlList):
        return [_plain(v) for v in node]
    if isinstance(node, YamlStr):
        return str(node)
    return node
