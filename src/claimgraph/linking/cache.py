"""The committed Wikidata cache, ``data/wikidata/entities.ttl``.

It holds Wikidata's own triples about the linked items (shaped like Wikidata's RDF: ``wd:``,
``wdt:``, ``rdfs:label``, ``skos:altLabel``, ``schema:description``) and one description of
where they came from: the endpoint and the time of retrieval. The build reads it and never the
network. ``claimgraph link`` rewrites it in one atomic rename, only after every query has
succeeded, so a failed refresh leaves the file byte-for-byte as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from claimgraph import __version__
from claimgraph.errors import OutputError, SourceError

CACHE_FILE = "wikidata/entities.ttl"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
SKOS_ALT_LABEL = ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel")
SCHEMA_DESCRIPTION = ox.NamedNode("http://schema.org/description")
OWL_SAME_AS = ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs")
VOID_DATASET = ox.NamedNode("http://rdfs.org/ns/void#Dataset")
PROV_DERIVED = ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom")
PROV_GENERATED_AT = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
DCTERMS_LICENSE = ox.NamedNode("http://purl.org/dc/terms/license")
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
WD = "http://www.wikidata.org/entity/"
LABEL_PROPERTIES = (RDFS_LABEL, SKOS_ALT_LABEL, SCHEMA_DESCRIPTION)

PREFIXES = {
    "wd": WD,
    "wdt": "http://www.wikidata.org/prop/direct/",
    "wikibase": "http://wikiba.se/ontology#",
    "schema": "http://schema.org/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "void": "http://rdfs.org/ns/void#",
}


@dataclass(frozen=True)
class CacheProvenance:
    """Where the cached triples came from: an endpoint (or Wikidata itself), and when."""

    source: str
    retrieved: str | None  # the xsd:dateTime lexical form, as written
    comment: str | None


@dataclass(frozen=True)
class WikidataCache:
    path: Path
    triples: tuple[ox.Triple, ...]  # the Wikidata triples, without the provenance description
    provenance: CacheProvenance | None

    def items(self) -> set[str]:
        return {t.subject.value for t in self.triples if isinstance(t.subject, ox.NamedNode)}


def load_cache(path: Path) -> WikidataCache:
    """Read the cache strictly; a syntax error names the file and line."""
    try:
        quads = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except SyntaxError as exc:
        raise SourceError(f"the Wikidata cache is not valid Turtle: {exc.msg}", path, exc.lineno) from None
    except OSError as exc:
        raise SourceError(f"cannot read the Wikidata cache: {exc.strerror}", path) from exc
    described = {q.subject for q in quads if q.predicate == RDF_TYPE and q.object == VOID_DATASET
                 and isinstance(q.subject, ox.BlankNode)}
    provenance = None
    for node in described:
        values = {q.predicate: q.object for q in quads if q.subject == node}
        source = values.get(PROV_DERIVED)
        if isinstance(source, ox.NamedNode):
            retrieved, comment = values.get(PROV_GENERATED_AT), values.get(RDFS_COMMENT)
            provenance = CacheProvenance(source.value, retrieved.value if retrieved else None,
                                         comment.value if comment else None)
    triples = tuple(q.triple for q in quads if q.subject not in described)
    return WikidataCache(Path(path), triples, provenance)


def provenance_triples(provenance: CacheProvenance) -> list[ox.Triple]:
    node = ox.BlankNode("retrieval")  # a fixed label keeps the file byte-stable
    triples = [
        ox.Triple(node, RDF_TYPE, VOID_DATASET),
        ox.Triple(node, PROV_DERIVED, ox.NamedNode(provenance.source)),
        ox.Triple(node, DCTERMS_LICENSE, ox.NamedNode(CC0)),
    ]
    if provenance.retrieved:
        triples.append(ox.Triple(node, PROV_GENERATED_AT, ox.Literal(provenance.retrieved, datatype=XSD_DATETIME)))
    if provenance.comment:
        triples.append(ox.Triple(node, RDFS_COMMENT, ox.Literal(provenance.comment)))
    return triples


def _order(triple: ox.Triple) -> tuple[int, int, str, str, str]:
    # items in Q-number order, then each item's names before its statements
    subject = triple.subject.value
    number = int(subject[len(WD) + 1:]) if subject.startswith(WD + "Q") and subject[len(WD) + 1:].isdigit() else 0
    names = 0 if triple.predicate in LABEL_PROPERTIES else 1
    return (number, names, subject, triple.predicate.value, str(triple.object))


def render_cache(triples: Iterable[ox.Triple], provenance: CacheProvenance) -> bytes:
    ordered = sorted(set(triples), key=_order)
    header = (
        "# Wikidata cache of claimgraph: Wikidata's own triples about the items the registry\n"
        "# links to (labels in en/az/ru/tr/hy, descriptions, types and a few facts per type),\n"
        f"# written by claimgraph {__version__} 'link' from {provenance.source}\n"
        f"# at {provenance.retrieved}. Wikidata content is CC0; see NOTICE.md. Do not edit by hand:\n"
        "# run 'claimgraph link --enrich' to refresh it.\n\n"
    )
    body = ox.serialize([*provenance_triples(provenance), *ordered], format=ox.RdfFormat.TURTLE,
                        prefixes=PREFIXES)
    return header.encode("utf-8") + body


def write_cache(path: Path, triples: Iterable[ox.Triple], provenance: CacheProvenance) -> None:
    """Replace the cache in one rename: readers see the old file or the new one, never half."""
    write_file_atomically(path, render_cache(triples, provenance))


def write_file_atomically(path: Path, content: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror}", path) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write: {exc.strerror}", path) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
