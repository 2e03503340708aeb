"""Loading the sources: dataset settings, the entity registry, articles and annotations.

Loading is strict and complete: every unknown or missing field, duplicate key, dangling
reference, malformed date or IRI, and every excerpt not found verbatim in the article body is
a :class:`SourceError` that names the file and line. Nothing here touches RDF.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from claimgraph.anchors import find_anchor
from claimgraph.errors import SourceError
from claimgraph.records import (
    Article,
    ArticleFiles,
    ClaimRecord,
    Corpus,
    CorpusFiles,
    DatasetConfig,
    Entity,
    EventReference,
    LinkProvenance,
    Party,
    QuotationRecord,
    SourceFile,
    SourceLocation,
    StanceRecord,
    TextAnchor,
)
from claimgraph.strict_yaml import YamlList, YamlMap, YamlStr, parse_yaml, read_text
from claimgraph.vocabulary import SchemaVocabulary

# ASCII only, anchored with \Z ('$' would also match before a final newline, and '\d' matches
# every script's digits): these values become IRIs and typed literals.
KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
QID_RE = re.compile(r"^Q[1-9][0-9]*\Z")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")
PARTIAL_DATE_RE = re.compile(r"^[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?\Z")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # category Cc, but tab and newline
# Characters an IRI must not carry (RFC 3987 4.1 forbids the bidi controls; the others are
# invisible or are not text): formatting (bidi, zero-width), separators, controls, private use.
_IRI_BAD_CATEGORIES = ("Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs", "Cn")
WIKIDATA_STATUSES = ("no-item", "unreconciled")
LINK_METHODS = ("by-hand", "accepted-suggestion")
CLAIM_KINDS = ("factual", "evaluative", "predictive", "normative")
STANCE_POSITIONS = ("supports", "opposes", "neutral", "mixed")
BODY_POLICIES = {"publish": True, "withhold": False}
SPEAKER_TYPES = ("Person", "Organization")


class _Fields:
    """Typed, located access to one YAML mapping of a source file."""

    def __init__(self, node: object, path: Path, what: str, line: int = 1) -> None:
        if not isinstance(node, YamlMap):
            raise SourceError(f"{what} must be a mapping of fields", path, getattr(node, "line", line))
        self.map = node
        self.path = path
        self.what = what
        self.key_line = line  # where the entry's key stands: what an editor looks for

    def check(self, required: Iterable[str], optional: Iterable[str] = ()) -> _Fields:
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in self.map:
            if key not in allowed:
                raise SourceError(f"unknown field '{key}' in {self.what} (allowed: "
                                  f"{', '.join(sorted(allowed))})", self.path, self.map.line_of(key))
        for key in required:
            if key not in self.map:
                raise SourceError(f"{self.what} is missing the required field '{key}'",
                                  self.path, self.map.line)
        return self

    def line(self, key: str | None = None) -> int:
        return self.map.line if key is None else self.map.line_of(key)

    def location(self) -> SourceLocation:
        return SourceLocation(self.path, self.key_line)

    def error(self, key: str, message: str) -> SourceError:
        return SourceError(message, self.path, self.line(key))

    def text(self, key: str) -> str:
        value = self.map[key]
        if not isinstance(value, YamlStr):
            raise self.error(key, f"field '{key}' of {self.what} must be text")
        if not value.strip():
            raise self.error(key, f"field '{key}' of {self.what} is empty")
        if _CONTROL_RE.search(value):
            raise self.error(key, f"field '{key}' of {self.what} contains a control character")
        return str(value).strip()

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.map else None

    def choice(self, key: str, choices: Iterable[str]) -> str:
        value = self.text(key)
        choices = tuple(choices)
        if value not in choices:
            raise self.error(key, f"field '{key}' is '{value}'; expected one of: {', '.join(choices)}")
        return value

    def key_list(self, key: str) -> tuple[str, ...]:
        if key not in self.map:
            return ()
        value = self.map[key]
        items = [value] if isinstance(value, YamlStr) else value
        if not isinstance(items, YamlList) and not isinstance(value, YamlStr):
            raise self.error(key, f"field '{key}' must be a list of keys")
        keys = []
        for item in items:
            if not isinstance(item, YamlStr) or not KEY_RE.match(item):
                raise SourceError(f"'{item}' in '{key}' is not a key (lowercase letters, digits, '-')",
                                  self.path, getattr(item, "line", self.line(key)))
            keys.append(str(item))
        return tuple(keys)

    def sub(self, key: str, what: str) -> _Fields:
        return _Fields(self.map[key], self.path, what, self.line(key))


def _check_key(key: str, path: Path, line: int, what: str) -> None:
    if not KEY_RE.match(key):
        raise SourceError(f"{what} key {key!r} must be lowercase letters, digits and single '-' "
                          "(it becomes part of an IRI)", path, line)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an http(s) IRI of the dataset, or None when it can."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s<>\"{}|\\^`]", url):
        return f"'{url}' is not an absolute http(s) URL without spaces"
    hidden = next((ch for ch in url if unicodedata.category(ch) in _IRI_BAD_CATEGORIES), None)
    if hidden is not None:
        return (f"{url!r} contains the invisible or control character U+{ord(hidden):04X} "
                f"({unicodedata.name(hidden, 'unnamed')}), which an IRI must not carry")
    return None


def base_iri_problem(base: str) -> str | None:
    """Why ``base`` cannot be the base IRI the dataset's IRIs are minted under, or None."""
    problem = url_problem(base)
    if problem is None and (not base.endswith("/") or urlsplit(base).query or urlsplit(base).fragment):
        problem = f"base_iri '{base}' must end with '/' and have no query or fragment"
    return problem


def _check_url(fields: _Fields, key: str) -> str:
    url = fields.text(key)
    problem = url_problem(url)
    if problem:
        raise fields.error(key, problem)
    return url


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative(path: Path, data_dir: Path) -> str:
    return path.relative_to(data_dir).as_posix()


# --------------------------------------------------------------------------- dataset

def load_dataset_config(path: Path) -> DatasetConfig:
    fields = _Fields(parse_yaml(read_text(path), path), path, "the dataset settings")
    fields.check(("base_iri", "title", "description", "license", "publisher", "created"))
    base = fields.text("base_iri")
    if problem := base_iri_problem(base):
        raise fields.error("base_iri", problem)
    created = fields.text("created")
    _check_date(created, fields, "created")
    return DatasetConfig(base, fields.text("title"), fields.text("description"),
                         _check_url(fields, "license"), fields.text("publisher"), created,
                         fields.location())


def _check_date(value: str, fields: _Fields, key: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise fields.error(key, f"'{value}' is not a date (YYYY-MM-DD)") from None
    if not DATE_RE.fullmatch(value):
        raise fields.error(key, f"'{value}' is not a date (YYYY-MM-DD)")


# --------------------------------------------------------------------------- registry

def load_registry(paths: Iterable[Path], vocab: SchemaVocabulary) -> dict[str, Entity]:
    entities: dict[str, Entity] = {}
    for path in paths:
        root = parse_yaml(read_text(path), path)
        if not isinstance(root, YamlMap):
            raise SourceError("the registry must be a mapping from entity key to entity", path,
                              getattr(root, "line", 1))
        for key, node in root.items():
            line = root.line_of(key)
            _check_key(key, path, line, "entity")
            if key in entities:
                raise SourceError(f"entity '{key}' is already defined at {entities[key].location}",
                                  path, line)
            entities[key] = _entity(key, _Fields(node, path, f"entity '{key}'", line), vocab)
    return entities


def _entity(key: str, fields: _Fields, vocab: SchemaVocabulary) -> Entity:
    fields.check(("type", "name", "wikidata"), ("alternate_names", "description", "url", "link"))
    type_name = fields.text("type")
    if not vocab.is_class(type_name):
        raise fields.error("type", f"type '{type_name}' is not a schema.org v30.0 class "
                                   "(e.g. Person, Country, City, Organization, Legislation, Event)")
    wikidata = fields.text("wikidata")
    if not (QID_RE.match(wikidata) or wikidata in WIKIDATA_STATUSES):
        raise fields.error("wikidata", f"wikidata '{wikidata}' must be a Wikidata item ID "
                                       "(Q followed by digits), 'no-item' or 'unreconciled'")
    alternate: tuple[str, ...] = ()
    if "alternate_names" in fields.map:
        node = fields.map["alternate_names"]
        if not isinstance(node, YamlList) or not all(isinstance(n, YamlStr) and n.strip() for n in node):
            raise fields.error("alternate_names", "alternate_names must be a list of non-empty names")
        alternate = tuple(str(n).strip() for n in node)
    url = _check_url(fields, "url") if "url" in fields.map else None
    link = _link_provenance(fields, wikidata) if "link" in fields.map else None
    return Entity(key, type_name, fields.text("name"), wikidata, alternate,
                  fields.optional_text("description"), url, fields.location(), link)


def _link_provenance(fields: _Fields, wikidata: str) -> LinkProvenance:
    """The optional ``link:`` record of who decided an entity's Wikidata link, when and how."""
    if wikidata == "unreconciled":
        raise fields.error("link", "an unreconciled entity has no link to describe: remove 'link', "
                                   "or set 'wikidata' to the item (or no-item) that was decided")
    link = fields.sub("link", f"the link of {fields.what}").check(("method", "by", "date"))
    method = link.choice("method", LINK_METHODS)
    if wikidata == "no-item" and method != "by-hand":
        raise link.error("method", "'no-item' is decided by hand (method: by-hand): a suggestion is an item")
    when = link.text("date")
    _check_date(when, link, "date")
    return LinkProvenance(method, link.text("by"), when, link.location())


# --------------------------------------------------------------------------- articles

def split_front_matter(text: str, path: Path) -> tuple[str, int, str]:
    """Return (front-matter YAML, its first line number, body) of an article file."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise SourceError("an article file must start with a '---' line opening its front matter",
                          path, 1)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            body = "\n".join(lines[index + 1:]).strip("\n")
            return "\n".join(lines[1:index]), 2, body.rstrip()
    raise SourceError("the front matter opened on line 1 is never closed by a '---' line", path, 1)


def load_article(text_path: Path, data_dir: Path, entities: dict[str, Entity],
                 vocab: SchemaVocabulary, sources: tuple[SourceFile, ...] | None = None) -> Article:
    """One article and its annotations. ``sources``: the files' records from the corpus scan,
    which has just hashed them (a file changed since is hashed again by the next scan)."""
    slug = text_path.name.removesuffix(".txt")
    _check_key(slug, text_path, 1, "article file name (slug)")
    text = read_text(text_path)
    control = _CONTROL_RE.search(text)
    if control:
        raise SourceError(f"the file contains the control character U+{ord(control.group()):04X}, which "
                          "cannot be published as text (RDF/XML and HTML refuse it): remove it",
                          text_path, text.count("\n", 0, control.start()) + 1)
    front, first_line, body = split_front_matter(text, text_path)
    if not body.strip():
        raise SourceError("the article has no body after its front matter", text_path)
    fields = _Fields(parse_yaml(front, text_path, first_line), text_path, "the front matter")
    fields.check(("headline", "date_published", "author", "publisher", "url", "language", "rights"),
                 ("section", "editor_note"))
    date_published = fields.text("date_published")
    _check_publication_date(date_published, fields)
    language = fields.text("language")
    if not LANGUAGE_RE.match(language):
        raise fields.error("language", f"language '{language}' is not a BCP 47 tag such as 'en' or 'az'")
    rights = fields.sub("rights", "rights").check(("copyright_holder", "body"))
    refs = _References(entities, {}, {}, text_path)
    author = refs.entity(fields, "author", ("Person",), vocab)
    publisher = refs.entity(fields, "publisher", ("Organization",), vocab)
    holder = refs.entity(rights, "copyright_holder", SPEAKER_TYPES, vocab)
    annotations_path = text_path.with_name(f"{slug}.annotations.yaml")
    if not annotations_path.is_file():
        raise SourceError(f"the article has no annotations file {annotations_path.name} beside it",
                          text_path)
    annotations = _load_annotations(annotations_path, body, entities, vocab)
    return Article(
        slug=slug, headline=fields.text("headline"), date_published=date_published, author=author,
        publisher=publisher, url=_check_url(fields, "url"), language=language,
        section=fields.optional_text("section"), editor_note=fields.optional_text("editor_note"),
        copyright_holder=holder, publish_body=BODY_POLICIES[rights.choice("body", BODY_POLICIES)],
        body=body, location=SourceLocation(text_path, 1),
        annotations_location=SourceLocation(annotations_path, 1),
        sources=sources or tuple(SourceFile(_relative(p, data_dir), _sha256(p))
                                 for p in (text_path, annotations_path)),
        **annotations,
    )


def _check_publication_date(value: str, fields: _Fields) -> None:
    if DATE_RE.fullmatch(value):
        _check_date(value, fields, "date_published")
        return
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise fields.error("date_published", f"'{value}' is not a date (YYYY-MM-DD) or a timestamp "
                                             "with timezone (YYYY-MM-DDTHH:MM:SS+HH:MM)")


class _References:
    """Resolves the keys annotations refer to, with the error naming the referring line."""

    def __init__(self, entities: dict[str, Entity], parties: dict[str, Party],
                 events: dict[str, EventReference], path: Path) -> None:
        self.entities, self.parties, self.events, self.path = entities, parties, events, path

    def entity(self, fields: _Fields, key: str, types: tuple[str, ...], vocab: SchemaVocabulary) -> str:
        ref = fields.text(key)
        entity = self.entities.get(ref)
        if entity is None:
            raise fields.error(key, f"unknown entity key '{ref}' in '{key}': add it to the registry "
                                    "(data/entities.yaml) or fix the spelling")
        s = "http://schema.org/"
        if not any(vocab.is_a(s + entity.type, s + t) for t in types):
            raise fields.error(key, f"'{key}' must be a {' or '.join(types)}, but '{ref}' is a {entity.type}")
        return ref

    def entities_in(self, fields: _Fields, key: str) -> tuple[str, ...]:
        keys = fields.key_list(key)
        for ref in keys:
            if ref not in self.entities:
                raise fields.error(key, f"unknown entity key '{ref}' in '{key}': add it to the "
                                        "registry (data/entities.yaml) or fix the spelling")
        return keys

    def speaker(self, fields: _Fields, vocab: SchemaVocabulary) -> str:
        ref = fields.text("speaker")
        if ref in self.parties:
            return ref
        if ref not in self.entities:
            raise fields.error("speaker", f"unknown speaker '{ref}': not a registry entity nor a key "
                                          "under 'parties'")
        return self.entity(fields, "speaker", SPEAKER_TYPES, vocab)

    def event(self, fields: _Fields) -> str | None:
        ref = fields.optional_text("event")
        if ref is not None and ref not in self.events:
            raise fields.error("event", f"unknown event '{ref}': declare it under 'events'")
        return ref


def _sections(root: YamlMap, path: Path) -> dict[str, list[tuple[str, _Fields]]]:
    allowed = ("parties", "events", "claims", "quotations", "stance")
    out: dict[str, list[tuple[str, _Fields]]] = {name: [] for name in allowed}
    for name, node in root.items():
        if name not in allowed:
            raise SourceError(f"unknown section '{name}' (allowed: {', '.join(allowed)})", path,
                              root.line_of(name))
        if not isinstance(node, YamlMap):
            raise SourceError(f"section '{name}' must be a mapping from key to entry", path,
                              root.line_of(name))
        for key, entry in node.items():
            _check_key(key, path, node.line_of(key), name)
            out[name].append((key, _Fields(entry, path, f"{name} '{key}'", node.line_of(key))))
    return out


def _load_annotations(path: Path, body: str, entities: dict[str, Entity],
                      vocab: SchemaVocabulary) -> dict[str, tuple]:
    root = parse_yaml(read_text(path), path)
    if not isinstance(root, YamlMap):
        raise SourceError("the annotations file must be a mapping of sections", path,
                          getattr(root, "line", 1))
    sections = _sections(root, path)
    seen: dict[str, SourceLocation] = {}
    for entries in sections.values():
        for key, fields in entries:
            if key in seen:
                raise SourceError(f"key '{key}' is already used at {seen[key]}; keys must be unique "
                                  "within an annotations file", path, fields.key_line)
            seen[key] = fields.location()

    def anchor(fields: _Fields, required: bool = True) -> TextAnchor | None:
        if "text" not in fields.map and not required:
            return None
        occurrence = fields.optional_text("occurrence")
        if occurrence is not None and not re.fullmatch(r"[0-9]{1,9}", occurrence):
            raise fields.error("occurrence", "occurrence must be a whole number counting from 1")
        return find_anchor(body, fields.text("text"), int(occurrence) if occurrence else None,
                           path, fields.line("text"))

    parties: dict[str, Party] = {}
    for key, fields in sections["parties"]:
        if key in entities:
            raise fields.error("", f"party '{key}' has the key of a registry entity; choose another")
        fields.check(("description",), ("kind",))
        kind = fields.choice("kind", ("group", "person")) if "kind" in fields.map else "group"
        parties[key] = Party(key, fields.text("description"), kind, fields.location())
    refs = _References(entities, parties, {}, path)
    events: dict[str, EventReference] = {}
    for key, fields in sections["events"]:
        fields.check(("name", "date"), ("text", "occurrence", "about", "same_as"))
        when = fields.text("date")
        if not PARTIAL_DATE_RE.match(when) or not _valid_partial_date(when):
            raise fields.error("date", f"'{when}' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        same_as = refs.entity(fields, "same_as", ("Event",), vocab) if "same_as" in fields.map else None
        events[key] = EventReference(key, fields.text("name"), when, anchor(fields, required=False),
                                     refs.entities_in(fields, "about"), same_as, fields.location())
    refs.events = events
    claims = []
    for key, fields in sections["claims"]:
        fields.check(("text", "kind"), ("speaker", "event", "about", "mentions", "summary", "occurrence"))
        claims.append(ClaimRecord(
            key, anchor(fields), fields.choice("kind", CLAIM_KINDS),
            refs.speaker(fields, vocab) if "speaker" in fields.map else None, refs.event(fields),
            refs.entities_in(fields, "about"), refs.entities_in(fields, "mentions"),
            fields.optional_text("summary"), fields.location()))
    quotations = []
    for key, fields in sections["quotations"]:
        fields.check(("text", "speaker"), ("event", "about", "mentions", "occurrence"))
        quotations.append(QuotationRecord(
            key, anchor(fields), refs.speaker(fields, vocab), refs.event(fields),
            refs.entities_in(fields, "about"), refs.entities_in(fields, "mentions"), fields.location()))
    stances = []
    for key, fields in sections["stance"]:
        fields.check(("position", "proposition"), ("about", "text", "occurrence"))
        stances.append(StanceRecord(
            key, fields.choice("position", STANCE_POSITIONS), fields.text("proposition"),
            refs.entities_in(fields, "about"), anchor(fields, required=False), fields.location()))
    return {"parties": tuple(parties.values()), "events": tuple(events.values()),
            "claims": tuple(claims), "quotations": tuple(quotations), "stances": tuple(stances)}


def _valid_partial_date(value: str) -> bool:
    parts = value.split("-")
    try:
        date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- corpus

class _Hasher:
    """SHA-256 of source files, trusting a previous scan's hash of a file whose size, times
    and inode are unchanged (as git's index does): hashing every article again was most of
    a rebuild's scan. A file changed less than a second before that scan began is hashed
    again, since its timestamps may be too coarse to show a change made during the scan."""

    def __init__(self, data_dir: Path, known: Mapping[str, list] | None, known_at_ns: int) -> None:
        self.data_dir = data_dir
        self.known = known or {}
        self.trusted_before = known_at_ns - 1_000_000_000
        self.started_ns = time.time_ns()
        self.stamps: dict[str, list] = {}

    def source(self, path: Path, relative: str | None = None) -> SourceFile:
        """``path``'s source record; ``relative``: its path from the data folder, when known
        (working it out with pathlib is a third of a rebuild's scan at 10,000 articles)."""
        relative = relative or _relative(path, self.data_dir)
        info = os.stat(path)
        stamp = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        known = self.known.get(relative)
        if (isinstance(known, list) and known[:4] == stamp and len(known) == 5
                and info.st_ctime_ns < self.trusted_before):
            digest = str(known[4])
        else:
            digest = _sha256(path)
        self.stamps[relative] = [*stamp, digest]
        return SourceFile(relative, digest)


def _scan_files(folder: Path) -> list[os.DirEntry]:
    """The regular files (or links to them) directly in ``folder``; none if it is missing."""
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if e.is_file()]
    except FileNotFoundError:
        return []


def scan_corpus(data_dir: Path, vocab: SchemaVocabulary | None = None,
                known: Mapping[str, list] | None = None, known_at_ns: int = 0) -> CorpusFiles:
    """Load the dataset and registry under ``data_dir`` and find and hash its articles,
    without reading them (a build reads only the articles that changed). ``known``: the
    ``stamps`` of a scan that began at ``known_at_ns``, whose hashes may be reused."""
    vocab = vocab or SchemaVocabulary.load()
    data_dir = Path(data_dir)
    dataset_path = data_dir / "dataset.yaml"
    if not dataset_path.is_file():
        raise SourceError("no dataset.yaml: is this a claimgraph data folder?", data_dir)
    dataset = load_dataset_config(dataset_path)
    registry_paths = [p for p in [data_dir / "entities.yaml"] if p.is_file()]
    registry_paths += sorted((data_dir / "entities").glob("*.yaml"))
    if not registry_paths:
        raise SourceError("no entity registry (entities.yaml)", data_dir)
    entities = load_registry(registry_paths, vocab)
    articles_dir = data_dir / "articles"
    # one listing of the folder (two globs and a stat per article cost a second at 10,000)
    names = {entry.name for entry in _scan_files(articles_dir)}
    for orphan in sorted(n for n in names if n.endswith(".annotations.yaml")):
        if orphan.replace(".annotations.yaml", ".txt") not in names:
            raise SourceError("annotations without an article file beside them", articles_dir / orphan)
    hasher = _Hasher(data_dir, known, known_at_ns)
    articles = []
    for name in sorted(n for n in names if n.endswith(".txt")):
        slug = name.removesuffix(".txt")
        text_path = articles_dir / name
        article_sources = [hasher.source(text_path, f"articles/{name}")]
        if f"{slug}.annotations.yaml" in names:
            article_sources.append(hasher.source(articles_dir / f"{slug}.annotations.yaml",
                                                 f"articles/{slug}.annotations.yaml"))
        articles.append(ArticleFiles(slug, text_path, tuple(article_sources)))
    # the Wikidata cache is a build input too: the build publishes it (claimgraph.linking.cache)
    cache_paths = [p for p in [data_dir / "wikidata" / "entities.ttl"] if p.is_file()]
    sources = [hasher.source(p) for p in [dataset_path, *registry_paths, *cache_paths]]
    sources += [s for a in articles for s in a.sources]
    return CorpusFiles(data_dir, dataset, entities, tuple(articles),
                       tuple(sorted(sources, key=lambda s: s.relative_path)), hasher.stamps,
                       hasher.started_ns)


def load_corpus(data_dir: Path, vocab: SchemaVocabulary | None = None) -> Corpus:
    """Load and cross-check every source under ``data_dir``."""
    vocab = vocab or SchemaVocabulary.load()
    files = scan_corpus(data_dir, vocab)
    articles = tuple(load_article(a.text_path, files.data_dir, files.entities, vocab) for a in files.articles)
    return Corpus(files.data_dir, files.dataset, files.entities, articles, files.sources)
