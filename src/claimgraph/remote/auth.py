"""Credentials for remote stores: from the environment or a netrc file, never from the command
line (where any user of the machine could read them in the process list).

``CLAIMGRAPH_STORE_USER`` and ``CLAIMGRAPH_STORE_PASSWORD`` win over the netrc entry for the
URL's host (``$NETRC`` or ``~/.netrc``). The scheme is ``basic``, ``digest`` or ``auto``:
``auto`` sends no credentials until the server asks, then answers its challenge in the scheme
it named (Virtuoso asks for Digest, Fuseki and most proxies for Basic).
"""

from __future__ import annotations

import contextlib
import netrc
import os
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from claimgraph.remote.errors import RemoteError

ENV_USER = "CLAIMGRAPH_STORE_USER"
ENV_PASSWORD = "CLAIMGRAPH_STORE_PASSWORD"
ENV_SCHEME = "CLAIMGRAPH_STORE_AUTH"
SCHEMES = ("auto", "basic", "digest")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)
    scheme: str = "auto"


def find_credentials(url: str, scheme: str | None = None,
                     environ: Mapping[str, str] = os.environ) -> Credentials | None:
    """The credentials for ``url``, or None when neither the environment nor netrc has any."""
    scheme = scheme or environ.get(ENV_SCHEME) or "auto"
    if scheme not in SCHEMES:
        raise RemoteError(f"unknown authentication scheme '{scheme}' (one of: {', '.join(SCHEMES)})")
    user, password = environ.get(ENV_USER), environ.get(ENV_PASSWORD)
    if user and password is not None:
        return Credentials(user, password, scheme)
    if user or password:
        raise RemoteError(f"set both {ENV_USER} and {ENV_PASSWORD}, or neither")
    path = Path(environ["NETRC"]) if environ.get("NETRC") else Path.home() / ".netrc"
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(urlsplit(url).hostname or "")
    except (netrc.NetrcParseError, OSError) as exc:
        raise RemoteError(f"cannot read the netrc file {path}: {exc}") from exc
    if entry is None:
        return None
    login, _, password = entry
    return Credentials(login or "", password or "", scheme)


class ChallengeAuth(httpx.Auth):
    """HTTP Basic or Digest, as configured or (``auto``) as the server's first challenge asks."""

    requires_request_body = True  # a challenged request is sent again, body included

    def __init__(self, credentials: Credentials):
        self._basic = httpx.BasicAuth(credentials.user, credentials.password)
        self._digest = httpx.DigestAuth(credentials.user, credentials.password)
        self._scheme: str | None = None if credentials.scheme == "auto" else credentials.scheme

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        offered = {h.split(" ", 1)[0].lower() for h in response.headers.get_list("www-authenticate")}
        if "digest" in offered:
            self._scheme = "digest"
            # Hand the challenge we already hold to httpx's Digest flow: it builds the answer.
            flow = self._digest.auth_flow(request)
            next(flow)
            try:
                answered = flow.send(response)
            except StopIteration:
                return
            response = yield answered
            with contextlib.suppress(StopIteration):
                flow.send(response)
        elif "basic" in offered:
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)


def httpx_auth(credentials: Credentials | None) -> httpx.Auth | None:
    return ChallengeAuth(credentials) if credentials else None
