"""Recording an editor's decision in the registry: ``wikidata:`` and its ``link:`` provenance.

The registry is hand-written YAML with comments, so it is edited as text, line by line, at the
lines the strict reader located; everything else in the file stays exactly as it was. The
edited file is loaded again before it replaces the original (in one atomic rename).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from claimgraph.errors import SourceError
from claimgraph.linking.cache import write_file_atomically
from claimgraph.records import LinkProvenance
from claimgraph.sources import load_registry
from claimgraph.strict_yaml import YamlMap, parse_yaml, read_text
from claimgraph.vocabulary import SchemaVocabulary

_BLOCK_WIKIDATA = re.compile(r"^(\s+)wikidata:\s*[A-Za-z0-9-]+\s*(#.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def record_link(path: Path, key: str, wikidata: str, provenance: LinkProvenance,
                vocab: SchemaVocabulary) -> None:
    """Set entity ``key``'s ``wikidata`` in registry file ``path`` and record how it was decided."""
    text = read_text(path)
    root = parse_yaml(text, path)
    node = root.get(key) if isinstance(root, YamlMap) else None
    if not isinstance(node, YamlMap) or "wikidata" not in node:
        raise SourceError(f"entity '{key}' has no 'wikidata' field here", path)
    lines = text.split("\n")
    at = node.line_of("wikidata") - 1
    match = _BLOCK_WIKIDATA.match(lines[at])
    if not match:
        raise SourceError(f"entity '{key}' is not written in block style (one field per line); "
                          "rewrite it so, then accept again", path, at + 1)
    indent, comment = match.group(1), match.group(2)
    drop: set[int] = set()
    if "link" in node:  # a decision is being replaced: its old provenance goes with it
        start = node.line_of("link") - 1
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(lines[start])):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # keep the blank lines that separate entities
        drop = set(range(start, end))
    pad = indent + "  "
    new_lines = [f"{indent}wikidata: {wikidata}" + (f"  {comment}" if comment else ""),
                 f"{indent}link:",
                 f"{pad}method: {provenance.method}",
                 # a JSON string is a valid YAML double-quoted scalar: any name is safe
                 f"{pad}by: {json.dumps(provenance.by, ensure_ascii=False)}",
                 f"{pad}date: {provenance.date}"]
    out: list[str] = []
    for index, line in enumerate(lines):
        if index == at:
            out.extend(new_lines)
        elif index not in drop:
            out.append(line)
    new_text = "\n".join(out)
    # load the edited text before it replaces the file; outside data/, where no build looks
    with tempfile.TemporaryDirectory(prefix="claimgraph-accept-") as folder:
        tmp = Path(folder) / path.name
        try:
            tmp.write_text(new_text, encoding="utf-8")
            entity = load_registry([tmp], vocab)[key]
        except SourceError as exc:  # the edit broke the file: say so, and leave the original alone
            raise SourceError(f"recording the link of '{key}' would break the file ({exc.message}); "
                              "it is unchanged", path, exc.line) from None
        except OSError as exc:
            raise SourceError(f"cannot check the edited registry: {exc.strerror}", path) from exc
    if entity.wikidata != wikidata or entity.link is None or entity.link.by != provenance.by:
        raise SourceError(f"could not record the link of '{key}' safely; the file is unchanged", path, at + 1)
    write_file_atomically(path, new_text.encode("utf-8"))
