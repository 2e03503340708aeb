"""The one tree of error types claimgraph raises.

Every error says where (``path`` and, when known, ``line``) and what a user can do about it.
The CLI turns them into one readable line and an exit code; nothing below the CLI prints.
"""

from __future__ import annotations

from pathlib import Path


class ClaimgraphError(Exception):
    """Base of all errors claimgraph raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # An error raised in a build worker process reaches the CLI pickled: keep where it was.
        return (self.__class__, (self.message, self.path, self.line))


class SourceError(ClaimgraphError):
    """A source file (article, annotations, registry, dataset, query) is malformed."""


class ValidationFailed(ClaimgraphError):
    """The graph violates the shapes; ``report`` holds every finding."""

    exit_code = 1

    def __init__(self, message: str, report: object, path: Path | str | None = None,
                 line: int | None = None):
        super().__init__(message, path, line)
        self.report = report

    def __reduce__(self) -> tuple[object, ...]:
        return (self.__class__, (self.message, self.report, self.path, self.line))


class QueryError(ClaimgraphError):
    """A query could not be run: unknown name, bad parameter, or the engine refused it."""


class OutputError(ClaimgraphError):
    """The build output could not be written (disk full, permissions, missing store)."""
