"""What the SPARQL endpoint, its engines and its query workers share: the media types an
answer can take, and the frame each message between the server and a worker travels in (a
4-byte big-endian length, then a pickle)."""

from __future__ import annotations

import struct

import pyoxigraph as ox

# --- media types -------------------------------------------------------------------------------

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
RDF_XML = "application/rdf+xml"
TRIG = "application/trig"
N_QUADS = "application/n-quads"

RESULT_MEDIA_TYPES: tuple[str, ...] = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
"""What a SELECT or ASK answer can be written as, the default first."""
GRAPH_MEDIA_TYPES: tuple[str, ...] = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML, TRIG, N_QUADS)
"""What a CONSTRUCT or DESCRIBE answer can be written as, the default first."""

RDF_FORMATS = {
    TURTLE: ox.RdfFormat.TURTLE, N_TRIPLES: ox.RdfFormat.N_TRIPLES, JSON_LD: ox.RdfFormat.JSON_LD,
    RDF_XML: ox.RdfFormat.RDF_XML, TRIG: ox.RdfFormat.TRIG, N_QUADS: ox.RdfFormat.N_QUADS,
}
BOOLEAN_FORMATS = {
    SPARQL_JSON: ox.QueryResultsFormat.JSON, SPARQL_XML: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV, TSV: ox.QueryResultsFormat.TSV,
}

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple

FRAME = struct.Struct(">I")
