"""The strict YAML reader: plain text only, nothing guessed, every error with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimgraph.errors import SourceError
from claimgraph.strict_yaml import YamlMap, parse_yaml

PATH = Path("sample.yaml")


def test_scalars_stay_text_with_their_lines():
    doc = parse_yaml("a: no\nb: 1.10\nc: 012345\nd: 1:20\ne: 2026-01-08\nf: [x, ~]\n", PATH)
    assert doc == {"a": "no", "b": "1.10", "c": "012345", "d": "1:20", "e": "2026-01-08", "f": ["x", "~"]}
    assert isinstance(doc, YamlMap)
    assert doc["e"].line == 5 and doc.line_of("f") == 6


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: 1\nb: !!int 2\n", 2, "YAML tag"),
    ("a: &x 1\nb: *x\n", 1, "anchor"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)"),
    ("a: [1, 2\n", 2, "malformed YAML"),
    ("a: 1\n---\nb: 2\n", 2, "more than one YAML document"),
    ("? [a, b]\n: c\n", 1, "plain text"),
])
def test_refusals_name_the_line(text, line, words):
    with pytest.raises(SourceError) as caught:
        parse_yaml(text, PATH)
    assert caught.value.line == line
    assert words in caught.value.message
    assert str(caught.value).startswith(f"sample.yaml:{line}: ")


def test_first_line_offsets_front_matter_lines():
    with pytest.raises(SourceError) as caught:
        parse_yaml("a: 1\na: 2\n", PATH, first_line=2)
    assert caught.value.line == 3
