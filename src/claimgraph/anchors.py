"""Anchoring excerpts in an article body: exact text plus code-point offsets.

The offsets follow the W3C Web Annotation ``TextPositionSelector`` (Unicode code points, start
inclusive, end exclusive); the short prefix and suffix make a ``TextQuoteSelector`` that still
finds the excerpt if the body is reflowed.
"""

from __future__ import annotations

import re
from pathlib import Path

from claimgraph.errors import SourceError
from claimgraph.records import TextAnchor

CONTEXT_CHARS = 32

# Typographic variants an editor is likely to type differently from the published text.
_LOOKALIKES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                             "\u00a0": " "})


def occurrences(body: str, text: str) -> list[int]:
    """Start offsets of every (possibly overlapping) occurrence of ``text`` in ``body``."""
    found, start = [], body.find(text)
    while start != -1:
        found.append(start)
        start = body.find(text, start + 1)
    return found


def find_anchor(body: str, text: str, occurrence: int | None, path: Path, line: int) -> TextAnchor:
    """Anchor ``text`` in ``body``; ``occurrence`` (1-based) picks one of several matches."""
    starts = occurrences(body, text)
    if not starts:
        raise SourceError(f"text not found verbatim in the article body: {_preview(text)}"
                          f"{_hint(body, text)}", path, line)
    if occurrence is None and len(starts) > 1:
        raise SourceError(f"text occurs {len(starts)} times in the article body: add "
                          f"'occurrence: N' (1 to {len(starts)}) to say which: {_preview(text)}",
                          path, line)
    if occurrence is not None and not 1 <= occurrence <= len(starts):
        raise SourceError(f"occurrence {occurrence} asked, but the text occurs {len(starts)} "
                          f"time(s): {_preview(text)}", path, line)
    start = starts[(occurrence or 1) - 1]
    end = start + len(text)
    return TextAnchor(text, start, end, body[max(0, start - CONTEXT_CHARS):start],
                      body[end:end + CONTEXT_CHARS])


def _preview(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _hint(body: str, text: str) -> str:
    if text.translate(_LOOKALIKES) in body.translate(_LOOKALIKES):
        return " (it matches once quotes, apostrophes or dashes are normalised: copy them from the body)"
    if re.sub(r"\s+", " ", text) in re.sub(r"\s+", " ", body):
        return " (it matches once spaces and line breaks are normalised)"
    return ""
