"""Per-resource documents: what a dereferenced IRI returns, in RDF formats and HTML.

Shared by the static site (written at build time) and the server (rendering on request), so
both show the same thing.
"""
