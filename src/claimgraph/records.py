"""Typed records of the sources, each remembering the file and line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class SourceFile:
    """A file the build read, named relative to the data folder, with its content hash."""

    relative_path: str
    sha256: str


@dataclass(frozen=True)
class DatasetConfig:
    base_iri: str
    title: str
    description: str
    license: str
    publisher: str
    created: str
    location: SourceLocation


@dataclass(frozen=True)
class LinkProvenance:
    """How an entity's Wikidata decision (an item, or no-item) was made, by whom and when."""

    method: str  # "by-hand" or "accepted-suggestion"
    by: str  # the editor, as they name themselves
    date: str  # YYYY-MM-DD
    location: SourceLocation


@dataclass(frozen=True)
class Entity:
    key: str
    type: str  # a schema.org class local name
    name: str
    wikidata: str  # "Q<digits>", "no-item" or "unreconciled"
    alternate_names: tuple[str, ...]
    description: str | None
    url: str | None
    location: SourceLocation
    link: LinkProvenance | None = None  # recorded by `claimgraph link --accept` or by hand

    @property
    def wikidata_id(self) -> str | None:
        return self.wikidata if self.wikidata.startswith("Q") else None


@dataclass(frozen=True)
class TextAnchor:
    """An exact excerpt of an article body and its code-point offsets [start, end)."""

    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Party:
    """Someone the text attributes a statement to without naming them."""

    key: str
    description: str
    kind: str  # "group" or "person"
    location: SourceLocation


@dataclass(frozen=True)
class EventReference:
    key: str
    name: str
    date: str  # YYYY, YYYY-MM or YYYY-MM-DD
    anchor: TextAnchor | None
    about: tuple[str, ...]
    same_as: str | None
    location: SourceLocation


@dataclass(frozen=True)
class ClaimRecord:
    key: str
    anchor: TextAnchor
    kind: str  # factual | evaluative | predictive | normative
    speaker: str | None  # registry or party key; None: the article's author
    event: str | None
    about: tuple[str, ...]
    mentions: tuple[str, ...]
    summary: str | None
    location: SourceLocation


@dataclass(frozen=True)
class QuotationRecord:
    key: str
    anchor: TextAnchor
    speaker: str
    event: str | None
    about: tuple[str, ...]
    mentions: tuple[str, ...]
    location: SourceLocation


@dataclass(frozen=True)
class StanceRecord:
    key: str
    position: str  # supports | opposes | neutral | mixed
    proposition: str
    about: tuple[str, ...]
    anchor: TextAnchor | None
    location: SourceLocation


@dataclass(frozen=True)
class Article:
    slug: str
    headline: str
    date_published: str
    author: str
    publisher: str
    url: str
    language: str
    section: str | None
    editor_note: str | None
    copyright_holder: str
    publish_body: bool
    body: str
    location: SourceLocation  # the text file, line 1
    annotations_location: SourceLocation
    sources: tuple[SourceFile, ...]
    parties: tuple[Party, ...] = ()
    events: tuple[EventReference, ...] = ()
    claims: tuple[ClaimRecord, ...] = ()
    quotations: tuple[QuotationRecord, ...] = ()
    stances: tuple[StanceRecord, ...] = ()


@dataclass(frozen=True)
class ArticleFiles:
    """An article's source files, found and hashed but not yet read: enough to tell whether
    the previous build already holds its graph."""

    slug: str
    text_path: Path
    sources: tuple[SourceFile, ...]  # the text file and, when present, its annotations


@dataclass(frozen=True)
class CorpusFiles:
    """A data folder with its dataset and registry loaded and its articles only found."""

    data_dir: Path
    dataset: DatasetConfig
    entities: dict[str, Entity]
    articles: tuple[ArticleFiles, ...]
    sources: tuple[SourceFile, ...]  # every source, articles' included, by relative path
    # each source's [size, mtime_ns, ctime_ns, inode, sha256], for the next scan to trust
    stamps: dict[str, list] = field(default_factory=dict, compare=False, repr=False)
    scanned_ns: int = field(default=0, compare=False)  # when the scan began


@dataclass(frozen=True)
class Corpus:
    """Everything the sources say, loaded and cross-checked."""

    data_dir: Path
    dataset: DatasetConfig
    entities: dict[str, Entity]
    articles: tuple[Article, ...]
    sources: tuple[SourceFile, ...] = field(default=())
