"""What a running server needs to know, fixed at start-up (never taken from requests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServeSettings:
    out_dir: Path  # a build output: dist/ with store/, dumps, build.json
    base_iri: str  # the IRIs the dataset mints (from build.json)
    base_url: str  # where this server is reached; links in every response point here
    query_timeout: float = 10.0  # seconds a SPARQL query may run before it is stopped
    result_limit: int = 10_000  # rows (or triples) a SPARQL response may carry
    workers: int = 2  # query worker processes
    endpoint: str | None = None  # a remote SPARQL endpoint to serve from instead of the store
    max_request_bytes: int = 1_000_000
    worker_memory: int | None = 2048  # MB of address space per query worker; None: no limit
    body_timeout: float = 30.0  # seconds a client has to send a request body (/sparql POST)
    document_cache_bytes: int = 64 * 1024 * 1024  # rendered resource documents kept; 0: none
    result_cache_bytes: int = 32 * 1024 * 1024  # SPARQL answers kept for repeated queries; 0: none

    def to_public(self, iri: str) -> str:
        """An IRI of the dataset as a link on this server."""
        if self.base_url != self.base_iri and iri.startswith(self.base_iri):
            return self.base_url + iri[len(self.base_iri):]
        return iri

    def from_public(self, url: str) -> str:
        if self.base_url != self.base_iri and url.startswith(self.base_url):
            return self.base_iri + url[len(self.base_url):]
        return url
