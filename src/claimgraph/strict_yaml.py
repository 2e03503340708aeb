"""A strict YAML reader that keeps line numbers.

Hand-written YAML is where most bad input comes from, so this reader refuses everything
that YAML would otherwise guess at: every scalar stays a string (``no``, ``1.10`` and
``012345`` are text, never a boolean or a number), and tags, anchors, aliases, duplicate keys
and multiple documents are errors. It walks PyYAML's event stream (libyaml when available)
instead of its constructor, so no YAML type resolution ever runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from claimgraph.errors import SourceError

try:  # libyaml's parser is several times faster; the events are the same.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_SOURCE_BYTES = 5 * 1024 * 1024


class YamlStr(str):
    """A scalar, with the 1-based line it starts on."""

    line: int

    def __new__(cls, value: str, line: int) -> YamlStr:
        obj = super().__new__(cls, value)
        obj.line = line
        return obj


class YamlMap(dict[str, Any]):
    """A mapping, with its own line and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class YamlList(list[Any]):
    """A sequence, with the line it starts on."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line


def read_text(path: Path, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    """Read a UTF-8 source file, refusing oversized or undecodable ones with their line."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"file is {size} bytes, over the {max_bytes}-byte limit for a source file", path)
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror}", path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8", path, line) from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_yaml(text: str, path: Path, first_line: int = 1) -> Any:
    """Parse one YAML document into YamlMap/YamlList/YamlStr; ``first_line`` offsets lines."""
    offset = first_line - 1
    try:
        events = list(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        raise SourceError(f"malformed YAML: {exc.problem or exc.context}", path, line) from exc
    except yaml.YAMLError as exc:
        raise SourceError(f"malformed YAML: {exc}", path) from exc
    return _Builder(events, path, offset).document()


def load_yaml_file(path: Path) -> Any:
    return parse_yaml(read_text(path), path)


class _Builder:
    def __init__(self, events: list[yaml.Event], path: Path, offset: int) -> None:
        self.events = events
        self.pos = 0
        self.path = path
        self.offset = offset

    def _line(self, event: yaml.Event) -> int:
        return event.start_mark.line + 1 + self.offset

    def _next(self) -> yaml.Event:
        event = self.events[self.pos]
        self.pos += 1
        return event

    def document(self) -> Any:
        docs = [e for e in self.events if isinstance(e, yaml.DocumentStartEvent)]
        if not docs:
            return YamlMap(1 + self.offset)
        if len(docs) > 1:
            raise SourceError("more than one YAML document (a second '---'): keep one per file",
                              self.path, self._line(docs[1]))
        while not isinstance(self._next(), yaml.DocumentStartEvent):
            pass
        return self._node()

    def _refuse_extras(self, event: yaml.Event) -> None:
        if getattr(event, "anchor", None):
            raise SourceError(f"YAML anchor '&{event.anchor}' is not allowed: write the value out",
                              self.path, self._line(event))
        tag = getattr(event, "tag", None)
        implicit = getattr(event, "implicit", True)
        explicit = tag is not None and tag != "!" and not (
            isinstance(event, yaml.ScalarEvent) and implicit[0]) and not (
            not isinstance(event, yaml.ScalarEvent) and implicit)
        if explicit:
            raise SourceError(f"YAML tag '{tag}' is not allowed: every value is plain text",
                              self.path, self._line(event))

    def _node(self) -> Any:
        event = self._next()
        if isinstance(event, yaml.AliasEvent):
            raise SourceError(f"YAML alias '*{event.anchor}' is not allowed: write the value out",
                              self.path, self._line(event))
        self._refuse_extras(event)
        if isinstance(event, yaml.ScalarEvent):
            return YamlStr(event.value, self._line(event))
        if isinstance(event, yaml.SequenceStartEvent):
            seq = YamlList(self._line(event))
            while not isinstance(self.events[self.pos], yaml.SequenceEndEvent):
                seq.append(self._node())
            self.pos += 1
            return seq
        if isinstance(event, yaml.MappingStartEvent):
            mapping = YamlMap(self._line(event))
            while not isinstance(self.events[self.pos], yaml.MappingEndEvent):
                key = self._node()
                if not isinstance(key, YamlStr):
                    raise SourceError("a mapping key must be plain text", self.path,
                                      getattr(key, "line", mapping.line))
                if key in mapping:
                    raise SourceError(
                        f"duplicate key '{key}' (first on line {mapping.key_lines[key]})",
                        self.path, key.line)
                mapping.key_lines[str(key)] = key.line
                mapping[str(key)] = self._node()
            self.pos += 1
            return mapping
        raise SourceError(f"unexpected YAML event {type(event).__name__}", self.path,
                          self._line(event))
