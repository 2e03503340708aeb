"""Rendered resource documents, kept for the server's lifetime, with their entity tags.

A server serves one build, opened read-only: the document an IRI gives in a format never
changes while the server runs, so it is rendered once (describing a resource and writing it
costs 10-40 ms; sending a kept copy, well under one) and kept in a least-recently-used cache
bounded in bytes. Each document carries a strong ETag (a hash of its bytes), so a client
holding a copy revalidates with ``If-None-Match`` and gets a bodiless 304.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Document:
    """One resource in one format, ready to send."""

    body: bytes
    media_type: str
    headers: Mapping[str, str]  # Vary, Link, Content-Location
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str, headers: Mapping[str, str]) -> Document:
        return cls(body, media_type, dict(headers), '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')

    @property
    def size(self) -> int:
        return len(self.body) + 512  # the headers and the entry itself, roughly

    def response(self, request: Request) -> Response:
        headers = {**self.headers, "ETag": self.etag}
        if etag_matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (the weak comparison RFC 9110 asks for
    on GET and HEAD: a ``W/`` prefix is ignored) or is ``*``."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


class LruCache(Generic[K, V]):
    """Values by key, the least recently used dropped first past ``max_bytes`` (sizes as the
    caller counts them). Used from the event loop's thread only, so it takes no lock."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.max_item = max_bytes // 8  # one huge value must not flush all the others
        self.bytes = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        self._items.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> None:
        if size > self.max_item:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and self._items:
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped


class DocumentCache(LruCache[tuple[str, str], Document]):
    """Documents by (IRI, format extension)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        super().__init__(max_bytes)

    def keep(self, key: tuple[str, str], document: Document) -> None:
        self.put(key, document, document.size)
