"""The SPARQL the documents stage runs itself, kept in ``.rq`` files beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def query_text(name: str) -> str:
    """The text of ``<name>.rq`` in this package."""
    return (Path(__file__).parent / f"{name}.rq").read_text(encoding="utf-8")
