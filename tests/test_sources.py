"""Broken sources: each gives exit 2 (bad input) or 1 (shape violation), a message naming the
file and line, and leaves the previous build output unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from claimgraph.build import build
from claimgraph.cli import main
from conftest import SEED_SLUG, copy_data

ARTICLE = f"articles/{SEED_SLUG}.txt"
ANNOTATIONS = f"articles/{SEED_SLUG}.annotations.yaml"


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A data folder and its good build output, which every broken build must leave alone."""
    root = tmp_path_factory.mktemp("broken")
    data = copy_data(root / "data")
    out = root / "dist"
    build(data, out)
    return data, out


@pytest.fixture
def workspace(published, tmp_path):
    _, out = published
    return copy_data(tmp_path / "data"), out


def edit(data: Path, relative: str, old: str, new: str) -> int:
    """Replace the first ``old`` by ``new``; return the 1-based line where it was."""
    path = data / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def run_build(data: Path, out: Path, capsys) -> tuple[int, str]:
    before = snapshot(out)
    code = main(["build", "--data", str(data), "--out", str(out)])
    err = capsys.readouterr().err
    assert snapshot(out) == before, "the previous output changed"
    assert "Traceback" not in err
    return code, err


def expect(code: int, err: str, exit_code: int, file: str, line: int | None, *words: str) -> None:
    assert code == exit_code, err
    location = f"{file}:{line}" if line is not None else file
    assert location in err, f"expected {location} in:\n{err}"
    for word in words:
        assert word in err, f"expected {word!r} in:\n{err}"


def test_quotation_not_in_the_text(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, '"The blockade argument formulated', '"The blockade argument was formulated')
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "not found verbatim")


def test_straight_quotes_get_a_hint(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "claims of “Armenia being blockaded” had no basis",
                "claims of \\\"Armenia being blockaded\\\" had no basis")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "quotes, apostrophes or dashes")


def test_unknown_entity_key(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "about: [armenia]", "about: [armenia, atlantis]")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "unknown entity key 'atlantis'")


def test_unknown_speaker(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "speaker: blockade-proponents", "speaker: blockade-fans")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "unknown speaker 'blockade-fans'")


def test_invalid_date(workspace, capsys):
    data, out = workspace
    line = edit(data, ARTICLE, "date_published: 2026-01-08", "date_published: 2026-02-30")
    expect(*run_build(data, out, capsys), 2, ARTICLE, line, "2026-02-30", "not a date")


def test_invalid_event_date(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "date: 1993", "date: 1993-13")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "'1993-13' is not a date")


def test_malformed_front_matter(workspace, capsys):
    data, out = workspace
    line = edit(data, ARTICLE, "language: en", "language: [en")
    code, err = run_build(data, out, capsys)
    assert code == 2 and f"{ARTICLE}:" in err and "malformed YAML" in err
    assert line >= 2


def test_unclosed_front_matter(workspace, capsys):
    data, out = workspace
    path = data / ARTICLE
    path.write_text(path.read_text(encoding="utf-8").replace("\n---\n", "\n\n", 1), encoding="utf-8")
    expect(*run_build(data, out, capsys), 2, ARTICLE, 1, "never closed")


def test_duplicate_claim_key(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "  armenia-borders-open:\n",
                "  historical-injustice:\n    text: \"Section 907\"\n    kind: factual\n"
                "    occurrence: 1\n  armenia-borders-open:\n")
    lines = (data / ANNOTATIONS).read_text(encoding="utf-8").splitlines()
    line = max(i for i, text in enumerate(lines, start=1) if text == "  historical-injustice:")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "duplicate key 'historical-injustice'")


def test_wikidata_id_that_is_not_a_qid(workspace, capsys):
    data, out = workspace
    line = edit(data, "entities.yaml", "wikidata: Q227", "wikidata: wd:Q227")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line, "'wd:Q227'", "Q followed by digits")


def test_empty_headline(workspace, capsys):
    data, out = workspace
    text = (data / ARTICLE).read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("headline:"))
    line = edit(data, ARTICLE, old, 'headline: ""')
    expect(*run_build(data, out, capsys), 2, ARTICLE, line, "'headline'", "empty")


def test_missing_required_field(workspace, capsys):
    data, out = workspace
    text = (data / ARTICLE).read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("url:"))
    edit(data, ARTICLE, old + "\n", "")
    expect(*run_build(data, out, capsys), 2, ARTICLE, 2, "missing the required field 'url'")


def test_unknown_field(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "    kind: evaluative\n", "    kind: evaluative\n    verdict: true\n") + 1
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "unknown field 'verdict'")


def test_unknown_claim_kind(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "kind: evaluative", "kind: opinion")
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "'opinion'", "factual, evaluative")


def test_ambiguous_text_needs_an_occurrence(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, '"blockade claim"', '"Section 907"')
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "occurs", "occurrence: N")


def test_yaml_tag_is_refused(workspace, capsys):
    data, out = workspace
    line = edit(data, "entities.yaml", "wikidata: Q227", "wikidata: !!str Q227")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line, "YAML tag")


def test_author_must_be_a_person(workspace, capsys):
    data, out = workspace
    line = edit(data, ARTICLE, "author: faig-mahmudov", "author: azerbaijan")
    expect(*run_build(data, out, capsys), 2, ARTICLE, line, "must be a Person", "Country")


def test_entity_type_must_be_a_schemaorg_class(workspace, capsys):
    data, out = workspace
    line = edit(data, "entities.yaml", "type: Legislation", "type: Law")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line, "'Law' is not a schema.org v30.0 class")


def test_invalid_utf8(workspace, capsys):
    data, out = workspace
    path = data / ANNOTATIONS
    raw = path.read_bytes()
    line = raw[: raw.index(b"claims:")].count(b"\n") + 1
    path.write_bytes(raw.replace(b"claims:", b"claims:\xff", 1))
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "not valid UTF-8")


def test_shape_violation_exits_1_and_names_the_source_line(workspace, capsys):
    """A fact-like annotation the loader accepts but the shapes refuse: an interpreter that is
    also the author (a claim reported by its own author)."""
    data, out = workspace
    edit(data, ANNOTATIONS, "speaker: ilham-aliyev\n    event: aliyev-interview\n    about: [armenia]\n",
         "speaker: faig-mahmudov\n    event: aliyev-interview\n    about: [armenia]\n")
    lines = (data / ANNOTATIONS).read_text(encoding="utf-8").splitlines()
    claim_line = lines.index("  blockade-had-no-basis:") + 1
    code, err = run_build(data, out, capsys)
    assert code == 1, err
    assert f"{ANNOTATIONS}:{claim_line}" in err, err
    assert "Violation" in err and "claimInterpreter" in err and "nothing was written" in err


def test_validate_command_writes_nothing(workspace, capsys, tmp_path):
    data, _ = workspace
    assert main(["validate", "--data", str(data)]) == 0
    assert "0 violation(s)" in capsys.readouterr().out
    assert not (Path.cwd() / "dist.previous").exists()
