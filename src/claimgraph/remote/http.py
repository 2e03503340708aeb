"""One HTTP client for every write to a store: a timeout on each request, bounded retries with
exponential backoff on 5xx answers, timeouts and dropped connections, and errors that name the
URL and the status.

Every request claimgraph sends to a store is idempotent (a PUT or DELETE of a whole graph, a
DROP + INSERT of a whole graph, a read), so sending one again after a timeout, when the store
may or may not have applied it, leaves the same result.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

import httpx

from claimgraph.remote.auth import ENV_PASSWORD, ENV_USER, Credentials, httpx_auth
from claimgraph.remote.errors import RemoteAuthError, RemoteError


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries per request, the first included
    backoff: float = 0.5  # seconds before the second try; doubled for each further one
    max_backoff: float = 8.0
    max_wait: float = 120.0  # the longest Retry-After (429, 503) honoured; a longer one gives up

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1))


# A store that is overloaded or rate-limits says so with 429 or 503, often with Retry-After.
RETRY_AFTER_STATUSES = (429, 503)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None when it is
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())




def describe_status(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f": {text}" if text else ""


class StoreClient:
    """Sends requests to one store with retries; raises RemoteError subclasses, never httpx's."""

    def __init__(self, timeout: float = 30.0, credentials: Credentials | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout, auth=httpx_auth(credentials),
                                    follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                content: bytes | None = None, headers: Mapping[str, str] | None = None,
                accept_statuses: tuple[int, ...] = (), what: str | None = None) -> httpx.Response:
        """Send one request, retrying what may succeed on a second try.

        2xx and ``accept_statuses`` (e.g. 404 for a graph that is not there) are returned;
        401/403 raise RemoteAuthError at once (retrying a wrong password never helps), other
        4xx RemoteError at once, 429, 5xx and transport errors after the last try. A 429 or 503
        with ``Retry-After`` waits as long as it asks (at most ``retry.max_wait``: a longer wait
        gives up at once), instead of the exponential backoff.
        """
        what = what or (f"graph {params['graph']}" if params and "graph" in params else None)
        shown = f"{method} {url}" + (f" ({what})" if what else "")
        failure = ""
        status: int | None = None
        wait: float | None = None
        for attempt in range(1, self.retry.attempts + 1):
            if attempt > 1:
                self._sleep(self.retry.delay(attempt - 1) if wait is None else wait)
            wait = None
            self.requests_sent += 1
            try:
                response = self._client.request(method, url, params=params, content=content,
                                                headers=headers)
            except httpx.TimeoutException as exc:
                failure, status = f"timed out ({type(exc).__name__})", None
                continue
            except httpx.TransportError as exc:
                failure, status = f"could not connect or the connection broke ({exc or type(exc).__name__})", None
                continue
            if response.is_success or response.status_code in accept_statuses:
                return response
            status = response.status_code
            if status in RETRY_AFTER_STATUSES:
                wait = retry_after(response.headers.get("retry-after"))
                if wait is not None and wait > self.retry.max_wait:
                    raise RemoteError(f"{shown}: {describe_status(status)} and asked to wait {wait:.0f} s, longer "
                                      f"than the {self.retry.max_wait:g} s claimgraph waits; try again later",
                                      url, status)
            if status in (401, 403):
                raise RemoteAuthError(f"{url} refused the credentials: {describe_status(status)}"
                                      + ("" if status == 403 else
                                         f" (set {ENV_USER}/{ENV_PASSWORD} or a netrc entry for the host)"),
                                      url, status)
            if status < 500 and status not in RETRY_AFTER_STATUSES:
                raise RemoteError(f"{shown} was refused: {describe_status(status)}{_snippet(response)}",
                                  url, status)
            failure = f"{describe_status(status)}{_snippet(response)}"
        raise RemoteError(f"{shown} failed after {self.retry.attempts} tries: {failure}", url, status)

