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
from typing import TypeVar

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


class RetryableFailure(Exception):
    """A try that another may mend: what went wrong, the HTTP status (None when the connection
    failed or timed out) and how long a Retry-After asked to wait (None: the usual backoff)."""

    def __init__(self, failure: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(failure)
        self.failure, self.status, self.wait = failure, status, wait


T = TypeVar("T")


def with_retries(policy: RetryPolicy, sleep: Callable[[float], None], attempt: Callable[[], T]) -> T:
    """``attempt()`` until it returns, at most ``policy.attempts`` times. A RetryableFailure is
    tried again after the backoff, or after the wait its Retry-After asked for; the last one is
    raised. Any other error ends the tries at once."""
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except RetryableFailure as failure:
            if number == policy.attempts:
                raise
            sleep(policy.delay(number) if failure.wait is None else failure.wait)
    raise ValueError(f"a retry policy needs at least one attempt, not {policy.attempts}")


def judge_status(status: int, retry_after_header: str | None, policy: RetryPolicy, url: str, where: str,
                 refused: str, detail: str = "", credentials_hint: str = "") -> RetryableFailure:
    """What an unsuccessful HTTP ``status`` means for the next try: raises the error that ends
    the tries (credentials refused, any other client error, a Retry-After longer than
    ``policy.max_wait``), or returns the failure to try again (429, 5xx). ``where`` names the
    request and ``refused`` says what a client error did (``"was refused"``); ``detail`` (": …",
    from the answer's body) follows the status in the message, and ``credentials_hint`` the
    refusal of credentials on a 401."""
    wait = None
    if status in RETRY_AFTER_STATUSES:
        wait = retry_after(retry_after_header)
        if wait is not None and wait > policy.max_wait:
            raise RemoteError(f"{where}: {describe_status(status)} and asked to wait {wait:.0f} s, longer "
                              f"than the {policy.max_wait:g} s claimgraph waits; try again later", url, status)
    if status in (401, 403):
        raise RemoteAuthError(f"{url} refused the credentials: {describe_status(status)}"
                              + (credentials_hint if status == 401 else ""), url, status)
    if status < 500 and status not in RETRY_AFTER_STATUSES:
        raise RemoteError(f"{where} {refused}: {describe_status(status)}{detail}", url, status)
    return RetryableFailure(f"{describe_status(status)}{detail}", status, wait)


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

        def attempt() -> httpx.Response:
            self.requests_sent += 1
            try:
                response = self._client.request(method, url, params=params, content=content, headers=headers)
            except httpx.TimeoutException as exc:
                raise RetryableFailure(f"timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise RetryableFailure(f"could not connect or the connection broke ({exc or type(exc).__name__})"
                                       ) from exc
            if response.is_success or response.status_code in accept_statuses:
                return response
            raise judge_status(response.status_code, response.headers.get("retry-after"), self.retry, url, shown,
                               "was refused", _snippet(response),
                               f" (set {ENV_USER}/{ENV_PASSWORD} or a netrc entry for the host)")

        try:
            return with_retries(self.retry, self._sleep, attempt)
        except RetryableFailure as last:
            raise RemoteError(f"{shown} failed after {self.retry.attempts} tries: {last.failure}", url,
                              last.status) from None

