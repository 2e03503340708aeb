"""Where the project's own files (ontology, shapes, queries, templates) are found.

In a source checkout they are the top-level folders; an installed wheel carries copies under
``claimgraph/_resources``. Either way the code asks for them by their project-relative path.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_ROOT = _PACKAGE_DIR.parents[1]


@cache
def project_root() -> Path:
    """The folder holding ``ontology/``, ``shapes/`` and ``queries/``."""
    if (_CHECKOUT_ROOT / "ontology" / "claimgraph.ttl").is_file():
        return _CHECKOUT_ROOT
    return _PACKAGE_DIR / "_resources"


def project_file(relative: str) -> Path:
    return project_root() / relative


SCHEMAORG_VOCAB = "ontology/schemaorg/schemaorg-current-http.ttl"
SCHEMAORG_CONTEXT = "ontology/schemaorg/schemaorgcontext.jsonld"
ONTOLOGY = "ontology/claimgraph.ttl"
SHAPES_DIR = "shapes"
SHAPES = "shapes/claimgraph.ttl"
DATASET_CHECKS = "shapes/dataset-checks.ttl"
QUERIES_DIR = "queries"
