"""The README's example sources are a complete article that builds."""

from __future__ import annotations

import re
import shutil

from rdflib import Graph
from rdflib.namespace import RDF

from claimgraph.build import build
from claimgraph.namespaces import SCHEMA
from conftest import DATA, ROOT


def example_block(readme: str, label: str) -> str:
    match = re.search(re.escape(f"`{label}`") + r"[^\n]*\n\n```[a-z]*\n(.*?)```", readme, re.S)
    assert match, f"no example for {label} in the README"
    return match.group(1)


def test_readme_example_builds(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    data = tmp_path / "data"
    (data / "articles").mkdir(parents=True)
    shutil.copy(DATA / "dataset.yaml", data / "dataset.yaml")
    for label in ("data/articles/example-op-ed.txt", "data/articles/example-op-ed.annotations.yaml",
                  "data/entities.yaml"):
        (tmp_path / label).write_text(example_block(readme, label), encoding="utf-8")
    result = build(data, tmp_path / "dist")
    g = Graph().parse(result.out_dir / "dataset.ttl")
    assert len(list(g.subjects(RDF.type, SCHEMA.Claim))) == 3
    assert len(list(g.subjects(RDF.type, SCHEMA.Quotation))) == 1
    assert result.assembled.report.conforms
