"""The type rules of ``data/wikidata/types.yaml``: which Wikidata classes fit a registry type,
and which statements the cache keeps for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from claimgraph.errors import SourceError
from claimgraph.records import SourceLocation
from claimgraph.strict_yaml import YamlList, YamlMap, YamlStr, parse_yaml, read_text
from claimgraph.vocabulary import SchemaVocabulary

TYPES_FILE = "wikidata/types.yaml"
_QID_RE = re.compile(r"^Q[1-9][0-9]*$")
_PID_RE = re.compile(r"^P[1-9][0-9]*$")
_S = "http://schema.org/"


@dataclass(frozen=True)
class TypeRule:
    type: str  # the schema.org class the rule is written for
    classes: tuple[str, ...]  # Q-ids
    facts: tuple[str, ...]  # P-ids
    location: SourceLocation


@dataclass(frozen=True)
class TypeRules:
    rules: dict[str, TypeRule]
    path: Path

    def for_type(self, type_name: str, vocab: SchemaVocabulary) -> TypeRule | None:
        """The rule of ``type_name`` or of its nearest schema.org supertype that has one."""
        if type_name in self.rules:
            return self.rules[type_name]
        fitting = [r for name, r in self.rules.items() if vocab.is_a(_S + type_name, _S + name)]
        # the nearest supertype is the one with the most ancestors of its own
        return max(fitting, key=lambda r: (len(vocab.superclasses.get(_S + r.type, ())), r.type), default=None)


def load_type_rules(data_dir: Path, vocab: SchemaVocabulary) -> TypeRules:
    path = Path(data_dir) / TYPES_FILE
    if not path.is_file():
        raise SourceError(f"no {TYPES_FILE}: it says which Wikidata classes fit each registry type", path)
    root = parse_yaml(read_text(path), path)
    if not isinstance(root, YamlMap):
        raise SourceError("the type rules must be a mapping from schema.org type to its rule", path,
                          getattr(root, "line", 1))
    rules = {}
    for name, node in root.items():
        line = root.line_of(name)
        if not vocab.is_class(name):
            raise SourceError(f"'{name}' is not a schema.org v30.0 class", path, line)
        if not isinstance(node, YamlMap):
            raise SourceError(f"the rule for {name} must be a mapping with 'classes' and 'facts'", path, line)
        for key in node:
            if key not in ("classes", "facts"):
                raise SourceError(f"unknown field '{key}' in the rule for {name} (allowed: classes, facts)",
                                  path, node.line_of(key))
        if "classes" not in node:
            raise SourceError(f"the rule for {name} has no 'classes'", path, line)
        classes = _ids(node, "classes", _QID_RE, "a Wikidata item ID (Q…)", path)
        if not classes:
            raise SourceError(f"the rule for {name} lists no classes", path, node.line_of("classes"))
        facts = _ids(node, "facts", _PID_RE, "a Wikidata property ID (P…)", path) if "facts" in node else ()
        rules[name] = TypeRule(name, classes, facts, SourceLocation(path, line))
    return TypeRules(rules, path)


def _ids(node: YamlMap, key: str, pattern: re.Pattern[str], what: str, path: Path) -> tuple[str, ...]:
    value = node[key]
    if not isinstance(value, YamlList):
        raise SourceError(f"'{key}' must be a list, e.g. [Q5]", path, node.line_of(key))
    out = []
    for item in value:
        if not isinstance(item, YamlStr) or not pattern.match(item):
            raise SourceError(f"'{item}' in '{key}' is not {what}", path, getattr(item, "line", value.line))
        out.append(str(item))
    return tuple(dict.fromkeys(out))
