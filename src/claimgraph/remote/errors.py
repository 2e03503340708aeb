"""Errors of the remote-store stages: each names the URL it was talking to and, when the store
answered, the HTTP status, so a user can tell a wrong password from a store that is down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimgraph.errors import ClaimgraphError

if TYPE_CHECKING:
    from claimgraph.remote.publish import PublishReport


class RemoteError(ClaimgraphError):
    """A remote store or endpoint could not be reached, or refused a request."""

    def __init__(self, message: str, url: str | None = None, status: int | None = None):
        # ClaimgraphError's ``path`` is a filesystem path; a URL goes in the message instead
        # (Path() would fold its '//').
        super().__init__(message)
        self.url = url
        self.status = status


class RemoteAuthError(RemoteError):
    """The store refused the credentials (HTTP 401 or 403)."""


class PublishRefused(RemoteError):
    """Publishing would empty or sharply shrink the remote dataset, and no flag allowed it."""


class PublishFailed(RemoteError):
    """Publishing stopped part way; ``report`` says what was and was not published."""

    def __init__(self, message: str, report: PublishReport, url: str | None = None,
                 status: int | None = None):
        super().__init__(message, url, status)
        self.report = report
