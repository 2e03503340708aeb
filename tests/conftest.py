"""Shared fixtures: real builds of the seed (and of the seed plus the fictional test article)
into temporary folders, made once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from claimgraph.build import BuildResult, build
from claimgraph.publishing import STORE_DIR
from claimgraph.queries import QueryResult, bind_parameters, find_query, run_query

# Every test fails if the code under test opens a connection beyond loopback.
pytest_plugins = ["netguard"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EXTRA = ROOT / "tests" / "fixtures" / "extra"
SEED_SLUG = "section-907-opinion"
EXTRA_SLUG = "caspian-ledger-waiver"


def copy_data(target: Path, with_extra: bool = False) -> Path:
    """A private copy of data/ (optionally with the fictional article) that a test may change."""
    shutil.copytree(DATA, target)
    if with_extra:
        shutil.copytree(EXTRA, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build(DATA, tmp_path_factory.mktemp("seed") / "dist")


@pytest.fixture(scope="session")
def two_article_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    data = copy_data(tmp_path_factory.mktemp("two") / "data", with_extra=True)
    return build(data, data.parent / "dist")


@pytest.fixture
def content(seed_build) -> tuple[Graph, dict]:
    """A private copy of the seed's article and entities graphs, and their source lines."""
    g = Graph()
    locations = {}
    for mapped in seed_build.assembled.graphs:
        if "/graph/article/" in str(mapped.iri) or str(mapped.iri).endswith("/graph/entities"):
            for triple in mapped.graph:
                g.add(triple)
            locations.update({str(k): v for k, v in mapped.locations.items()})
    return g, locations


def open_store(result: BuildResult) -> ox.Store:
    return ox.Store.read_only(str(result.out_dir / STORE_DIR))


@pytest.fixture(scope="session")
def seed_store(seed_build: BuildResult) -> ox.Store:
    return open_store(seed_build)


@pytest.fixture(scope="session")
def two_article_store(two_article_build: BuildResult) -> ox.Store:
    return open_store(two_article_build)


def ask(store: ox.Store, build_result: BuildResult, name: str, **params: str) -> QueryResult:
    """Run the named query file ``name`` with ``params`` as a user of the CLI would."""
    query = find_query(name)
    return run_query(store, query, bind_parameters(query, params, build_result.assembled.iris.base))
