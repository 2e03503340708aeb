"""Hostile source files: what a careless or malicious editor can put in the YAML and text files.

Each test feeds one bad input to ``claimgraph build`` (in-process, as the CLI runs it) and checks
what a user would check: the exit code, a message naming the file and line, and the previous
``dist/`` left byte-for-byte as it was. The last tests build an article full of text that tends to
break serializers (quotes, backslashes, newlines, ``</script>``, bidi marks) and check that it
comes back exactly from every dump and only escaped in HTML, and that a build fetches nothing.
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyld import jsonld

from claimgraph.build import BuildResult, build
from claimgraph.cli import main
from claimgraph.sources import load_corpus
from claimgraph.strict_yaml import MAX_SOURCE_BYTES, parse_yaml
from conftest import ROOT, SEED_SLUG, copy_data
from netguard import Canary, netguard  # noqa: F401 - the autouse guard against non-loopback connections
from test_sources import ANNOTATIONS, ARTICLE, edit, expect, run_build, snapshot

S = "http://schema.org/"
OA = "http://www.w3.org/ns/oa#"


@pytest.fixture(scope="module")
def prior(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder and its good build, which no broken build may change."""
    root = tmp_path_factory.mktemp("prior")
    data = copy_data(root / "data")
    build(data, root / "dist")
    return data, root / "dist"


@pytest.fixture
def workspace(prior: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of data/ to break, and the previous output it must leave alone."""
    return copy_data(tmp_path / "data"), prior[1]


def append(data: Path, relative: str, text: str) -> int:
    """Append ``text``; return the 1-based line its first line lands on."""
    path = data / relative
    old = path.read_text(encoding="utf-8")
    if not old.endswith("\n"):
        old += "\n"
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


# ---------------------------------------------------------------- YAML: no typing, tags, aliases

def test_implicit_typing_never_happens(workspace):
    """``no``, ``1.10``, ``012345``, ``1:20`` and friends stay the text the editor wrote."""
    data, _ = workspace
    tricky = ["no", "yes", "off", "1.10", "012345", "1:20", "0x1F", "0o17", ".inf", "~", "null",
              "1e3", "2026-01-08", "+1", "-0"]
    append(data, "entities.yaml", "tricky-names:\n  type: Person\n  name: No\n  wikidata: no-item\n"
           f"  alternate_names: [{', '.join(tricky)}]\n  description: 1:20\n")
    entity = load_corpus(data).entities["tricky-names"]
    assert entity.name == "No" and entity.description == "1:20"
    assert entity.alternate_names == tuple(tricky)
    assert all(type(v) is str for v in (entity.name, entity.description, *entity.alternate_names))
    document = parse_yaml("a: no\nb: 1.10\nc: 012345\nd: 1:20\ne: [on, 0777]\n", Path("x.yaml"))
    assert document == {"a": "no", "b": "1.10", "c": "012345", "d": "1:20", "e": ["on", "0777"]}


@pytest.mark.parametrize(("entry", "words"), [
    ("base: &b {type: Person, name: A, wikidata: no-item}\nother: *b\n", "YAML anchor '&b'"),
    ("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n", "YAML anchor '&a'"),  # billion laughs
    ("evil: !!python/object/apply:os.system ['touch pwned']\n",
     "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("evil: !!binary aGVsbG8=\n", "YAML tag 'tag:yaml.org,2002:binary'"),
    ("evil: !custom {type: Person}\n", "YAML tag '!custom'"),
    ("evil:\n  <<: {type: Person, name: A, wikidata: no-item}\n", "unknown field '<<'"),
    ("? [evil, key]\n: {type: Person, name: A, wikidata: no-item}\n", "a mapping key must be plain text"),
    ("---\nsecond-document: {type: Person, name: A, wikidata: no-item}\n", "more than one YAML document"),
], ids=["alias", "billion-laughs", "python-tag", "binary-tag", "local-tag", "merge-key", "complex-key",
        "second-document"])
def test_yaml_features_beyond_plain_text_are_refused(workspace, capsys, entry, words, monkeypatch, tmp_path):
    data, out = workspace
    monkeypatch.chdir(tmp_path)
    line = append(data, "entities.yaml", entry)
    code, err = run_build(data, out, capsys)
    assert code == 2, err
    assert "entities.yaml:" in err and words in err
    reported = int(err.split("entities.yaml:")[1].split(":")[0])
    assert line <= reported <= line + 3
    assert not (tmp_path / "pwned").exists()


def test_duplicate_keys_are_refused_with_both_lines(workspace, capsys):
    data, out = workspace
    line = edit(data, "entities.yaml", "azerbaijan:\n  type: Country", "azerbaijan:\n  type: Country\n  type: Person")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line + 2,
           f"duplicate key 'type' (first on line {line + 1})")


def test_a_quoted_key_duplicates_the_plain_one(workspace, capsys):
    data, out = workspace
    line = edit(data, "entities.yaml", "  name: Azerbaijan\n", '  name: Azerbaijan\n  "name": Azerbaijan\n')
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line + 1, f"duplicate key 'name' (first on line {line})")


def test_an_entity_defined_twice_in_one_file(workspace, capsys):
    data, out = workspace
    first = (data / "entities.yaml").read_text(encoding="utf-8").split("\n").index("baku:") + 1
    line = append(data, "entities.yaml", "baku:\n  type: City\n  name: Baku again\n  wikidata: no-item\n")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line, f"duplicate key 'baku' (first on line {first})")


def test_an_annotation_key_used_in_two_sections(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "claims:\n", "claims:\n  aliyev-interview:\n    text: Section 907\n"
                "    occurrence: 1\n    kind: factual\n") + 1
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "key 'aliyev-interview' is already used at")


def test_duplicate_entity_across_registry_files(workspace, capsys):
    data, out = workspace
    (data / "entities").mkdir()
    (data / "entities" / "more.yaml").write_text("# more\nbaku:\n  type: City\n  name: Baku\n  wikidata: Q9248\n",
                                                 encoding="utf-8")
    code, err = run_build(data, out, capsys)
    expect(code, err, 2, "entities/more.yaml", 2, "entity 'baku' is already defined at", "entities.yaml:")


# ---------------------------------------------------------------- dates, numbers, encodings

@pytest.mark.parametrize(("relative", "old", "new", "words"), [
    (ARTICLE, "date_published: 2026-01-08", "date_published: 2026-02-30", "not a date"),
    (ARTICLE, "date_published: 2026-01-08", "date_published: 2026-13-01", "not a date"),
    (ARTICLE, "date_published: 2026-01-08", "date_published: 26-01-08", "not a date"),
    (ARTICLE, "date_published: 2026-01-08", "date_published: 2026-01-08T10:00:00", "timestamp with timezone"),
    (ARTICLE, "date_published: 2026-01-08", 'date_published: "٢٠٢٦-٠١-٠٨"', "not a date"),
    (ARTICLE, "date_published: 2026-01-08", 'date_published: "２０２６-01-08"', "not a date"),
    (ANNOTATIONS, "date: 1992", 'date: "١٩٩٢"', "is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"),
    (ANNOTATIONS, "date: 1992", "date: 1992-00", "is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"),
    (ANNOTATIONS, "date: 1992", "date: 1992-02-30", "is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"),
    ("dataset.yaml", "created: 2026-11-26", "created: 2026-11-31", "not a date"),
], ids=["feb-30", "month-13", "two-digit-year", "no-timezone", "arabic-indic-digits", "fullwidth-digits",
        "event-arabic-indic-year", "event-month-0", "event-feb-30", "dataset-created"])
def test_bad_dates_name_file_and_line(workspace, capsys, relative, old, new, words):
    data, out = workspace
    line = edit(data, relative, old, new)
    expect(*run_build(data, out, capsys), 2, relative, line, words)


@pytest.mark.parametrize("value", ["①", "١", "1e3", "-1", "0x2", "9999999999999"])
def test_occurrence_must_be_a_plain_number(workspace, capsys, value):
    data, out = workspace
    line = edit(data, ANNOTATIONS, 'text: "the September 11, 2001 attacks"',
                f'text: "the September 11, 2001 attacks"\n    occurrence: "{value}"') + 1
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "occurrence must be a whole number")


@pytest.mark.parametrize(("raw", "words"), [
    (b"\xff", "not valid UTF-8"),
    (b"\xc0\xaf", "not valid UTF-8"),  # an overlong '/'
    (b"\xed\xa0\x80", "not valid UTF-8"),  # an encoded surrogate (CESU-8)
], ids=["invalid-byte", "overlong", "surrogate"])
def test_invalid_utf8_is_refused_with_its_line(workspace, capsys, raw, words):
    data, out = workspace
    path = data / "entities.yaml"
    text = path.read_bytes()
    at = text.index(b"name: Baku")
    path.write_bytes(text[:at] + b"name: Ba" + raw + text[at + len(b"name: Ba"):])
    expect(*run_build(data, out, capsys), 2, "entities.yaml", text[:at].count(b"\n") + 1, words)


def test_a_utf16_file_is_refused(workspace, capsys):
    data, out = workspace
    path = data / "dataset.yaml"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    expect(*run_build(data, out, capsys), 2, "dataset.yaml", 1, "not valid UTF-8")


def test_an_oversized_source_is_refused_before_it_is_read(workspace, capsys):
    data, out = workspace
    path = data / ARTICLE
    with path.open("a", encoding="utf-8") as handle:
        handle.write(("\nFiller paragraph. " * 1000 + "\n") * (MAX_SOURCE_BYTES // 18000 + 2))
    assert path.stat().st_size > MAX_SOURCE_BYTES
    expect(*run_build(data, out, capsys), 2, ARTICLE, None, f"over the {MAX_SOURCE_BYTES}-byte limit")


def test_deeply_nested_yaml_is_refused(workspace, capsys):
    data, out = workspace
    append(data, ANNOTATIONS, "stance:\n  deep:\n    about: " + "[" * 20_000 + "]" * 20_000 + "\n")
    code, err = run_build(data, out, capsys)
    assert code == 2 and f"{ANNOTATIONS}:" in err and "nesting depth" in err, err


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\x0c"],
                         ids=["nul", "escape", "delete", "c1-next-line", "form-feed"])
def test_control_characters_in_the_article_body_are_refused(workspace, capsys, char):
    data, out = workspace
    path = data / ARTICLE
    lines = path.read_text(encoding="utf-8").split("\n")
    at = len(lines) - 2
    lines[at] = lines[at][:10] + char + lines[at][10:]
    path.write_text("\n".join(lines), encoding="utf-8")
    expect(*run_build(data, out, capsys), 2, ARTICLE, at + 1, f"control character U+{ord(char):04X}")


def test_control_characters_in_annotation_text_are_refused(workspace, capsys):
    data, out = workspace
    line = edit(data, ANNOTATIONS, "name: The September 11, 2001 attacks", 'name: "The September\\a 11 attacks"')
    expect(*run_build(data, out, capsys), 2, ANNOTATIONS, line, "contains a control character")


# ---------------------------------------------------------------- strings that become IRIs

@pytest.mark.parametrize("key", [
    '"evil\\n"',  # '$' would match before the newline: it reached the IRI and crashed the build
    "Baku",
    '"baku "',
    "ｂａｋｕ",  # NFKC folds it to 'baku': a collision after normalisation
    "bakü",
    '"ba\\u200bku"',  # zero width space
    '"baku\\u202e"',  # right-to-left override
    "ba--ku",
    "ba_ku",
], ids=["trailing-newline", "uppercase", "trailing-space", "fullwidth", "non-ascii", "zero-width", "bidi",
        "double-dash", "underscore"])
def test_entity_keys_that_would_break_or_spoof_iris_are_refused(workspace, capsys, key):
    data, out = workspace
    line = append(data, "entities.yaml", f"{key}:\n  type: City\n  name: Lookalike\n  wikidata: no-item\n")
    expect(*run_build(data, out, capsys), 2, "entities.yaml", line, "must be lowercase letters, digits")


@pytest.mark.parametrize("name", ["Section-907.txt", "sectıon-907.txt", "sec tion.txt", "séction.txt"],
                         ids=["uppercase", "dotless-i", "space", "accent"])
def test_article_file_names_that_would_break_iris_are_refused(workspace, capsys, name):
    data, out = workspace
    for suffix in (".txt", ".annotations.yaml"):
        shutil.copyfile(data / "articles" / f"{SEED_SLUG}{suffix}",
                        data / "articles" / name.replace(".txt", suffix))
    expect(*run_build(data, out, capsys), 2, f"articles/{name}", 1, "article file name (slug)")


@pytest.mark.parametrize("url", [
    "https://news.az/\u202egpj.exe",
    "https://news\u200b.az/",
    "https://news.az/\u00a0x",
    "https://news.az/\u2028x",
    "https://news.az/\ue000",
    "javascript:alert(1)//",
    "file:///etc/passwd",
    "https://news.az/<script>",
    "//news.az/x",
], ids=["bidi-override", "zero-width", "no-break-space", "line-separator", "private-use", "javascript",
        "file", "angle-brackets", "scheme-relative"])
def test_urls_with_hidden_or_hostile_characters_are_refused(workspace, capsys, url):
    data, out = workspace
    line = edit(data, ARTICLE, "url: https://news.az/news/-repealing-section-907-is-essential-to-restoring-"
                "fairness-in-us-azerbaijan-relations", f"url: {json.dumps(url)}")
    code, err = run_build(data, out, capsys)
    expect(code, err, 2, ARTICLE, line)
    assert "not an absolute http(s) URL" in err or "must not carry" in err


@pytest.mark.parametrize("base", ["http://exa mple/", "javascript:alert(1)//", "https://x.example/\u202e/",
                                  "https://x.example/no-slash", "https://x.example/?q=1/", "file:///tmp/"])
def test_the_base_iri_option_is_checked_like_the_dataset_setting(prior, capsys, base):
    data, out = prior
    before = snapshot(out)
    code = main(["build", "--data", str(data), "--out", str(out), "--base-iri", base])
    err = capsys.readouterr().err
    assert code == 2 and "--base-iri" in err and "Traceback" not in err, err
    assert snapshot(out) == before


# ---------------------------------------------------------------- text that breaks serializers

HOSTILE_SLUG = "hostile-text"
SCRIPT = "</script><script>alert('pwned')</script>"
HEADLINE = f'A "quoted" \'headline\' with a \\ backslash, {SCRIPT} and <!-- ]]> &amp; ‮bidi‬ 𝄞'
NOTE_LINES = ["Line one with \"\"\"triple quotes\"\"\" and '''more'''.",
              "Line two\twith a tab, C:\\path\\ and a trailing backslash \\",
              "Line three: <b>not bold</b> & {{ jinja }} ${shell} %s"]
BODY = (
    "It said \"enough\" and meant it: C:\\Users\\editor\\ was the path.\n\n"
    f"Then came {SCRIPT} in plain sight, followed by <!-- a comment --> and ]]>.\n\n"
    "Arabic ‏مرحبا‏ and Hebrew ‏שלום‏ sit beside a line\u2028separator and \\n written out.\n\n"
    "The last line ends with a backslash \\"
)
CLAIMS = {
    "quoted": 'It said "enough" and meant it: C:\\Users\\editor\\ was the path.',
    "script": f"Then came {SCRIPT} in plain sight",
    "comment": "<!-- a comment --> and ]]>",
    "rtl": "Arabic ‏مرحبا‏ and Hebrew ‏שלום‏ sit beside a line\u2028separator and \\n written out.",
    "spanning": "was the path.\n\nThen came",
    "backslash-end": "ends with a backslash \\",
}


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``text`` (escapes for everything
    but printable ASCII: a raw U+2028 would be folded as a line break by YAML 1.1)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def write_hostile_article(data: Path) -> None:
    front = {"headline": HEADLINE, "date_published": "2026-03-01", "author": "faig-mahmudov",
             "publisher": "news-az", "url": "https://news.az/hostile?x=1&y=%22", "language": "en"}
    lines = ["---", *(f"{k}: {yaml_quote(v)}" for k, v in front.items()),
             "editor_note: |", *(f"  {line}" for line in NOTE_LINES),
             "rights:", "  copyright_holder: news-az", "  body: publish", "---", BODY]
    (data / "articles" / f"{HOSTILE_SLUG}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    entries = ["claims:"]
    for key, text in CLAIMS.items():
        entries += [f"  {key}:", f"    text: {yaml_quote(text)}", "    kind: factual",
                    f"    summary: {yaml_quote('Summary of ' + text)}"]
    (data / "articles" / f"{HOSTILE_SLUG}.annotations.yaml").write_text("\n".join(entries) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    data = copy_data(tmp_path_factory.mktemp("hostile") / "data")
    write_hostile_article(data)
    return build(data, data.parent / "dist")


def expanded_jsonld_quads(path: Path) -> set[ox.Quad]:
    """The JSON-LD dump through pyld's expansion (contexts served offline) into N-Quads, parsed by
    pyoxigraph."""
    schema_context = json.loads((ROOT / "ontology" / "schemaorg" / "schemaorgcontext.jsonld").read_text())

    def loader(url: str, options: object = None) -> dict:
        if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
            return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                    "document": schema_context}
        raise AssertionError(f"the JSON-LD dump needs {url}")

    document = json.loads(path.read_text(encoding="utf-8"))
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    return set(ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS))


def test_every_dump_parses_strictly_and_they_agree(hostile_build: BuildResult):
    out = hostile_build.out_dir
    trig = set(ox.parse(path=str(out / "dataset.trig"), format=ox.RdfFormat.TRIG))
    nquads = set(ox.parse(path=str(out / "dataset.nq"), format=ox.RdfFormat.N_QUADS))
    turtle = {q.triple for q in ox.parse(path=str(out / "dataset.ttl"), format=ox.RdfFormat.TURTLE)}
    ntriples = {q.triple for q in ox.parse(path=str(out / "dataset.nt"), format=ox.RdfFormat.N_TRIPLES)}
    assert trig == nquads and len(nquads) == hostile_build.quad_count
    assert turtle == ntriples == {q.triple for q in nquads}
    assert not any(isinstance(t, ox.BlankNode) for q in nquads for t in (q.subject, q.object))
    assert expanded_jsonld_quads(out / "dataset.jsonld") == nquads
    store = ox.Store.read_only(str(out / "store"))
    assert set(store) == nquads


def literal_values(path: Path, fmt: ox.RdfFormat, predicate: str) -> set[str]:
    return {q.object.value for q in ox.parse(path=str(path), format=fmt) if q.predicate.value == predicate}


@pytest.mark.parametrize(("name", "fmt"), [
    ("dataset.trig", ox.RdfFormat.TRIG), ("dataset.nq", ox.RdfFormat.N_QUADS),
    ("dataset.ttl", ox.RdfFormat.TURTLE), ("dataset.nt", ox.RdfFormat.N_TRIPLES)])
def test_hostile_text_round_trips_exactly(hostile_build: BuildResult, name, fmt):
    path = hostile_build.out_dir / name
    assert HEADLINE in literal_values(path, fmt, S + "headline")
    assert "\n".join(NOTE_LINES) in literal_values(path, fmt, S + "text"), "the editor's note changed"
    assert set(CLAIMS.values()) <= literal_values(path, fmt, OA + "exact")
    assert BODY in literal_values(path, fmt, S + "articleBody")
    assert {"Summary of " + t for t in CLAIMS.values()} <= literal_values(path, fmt, S + "description")


class _Page(html.parser.HTMLParser):
    """Text, script blocks and tags of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self._script = dict(attrs).get("type") or ""
            self.scripts.append((self._script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            kind, text = self.scripts[-1]
            self.scripts[-1] = (kind, text + data)
        else:
            self.text.append(data)


def check_page(markup: str) -> None:
    page = _Page()
    page.feed(markup)
    # the hostile text is data on the page, never markup: no script runs, no element is injected
    assert all(kind == "application/ld+json" for kind, _ in page.scripts), page.scripts
    assert "b" not in page.tags
    text = "".join(page.text)
    assert HEADLINE in text and "<b>not bold</b>" in text  # shown as text, exactly
    assert len(page.scripts) == 1
    data = json.loads(page.scripts[0][1])  # the JSON-LD block parses, and gives the headline back exactly
    assert data["headline"] == HEADLINE


def test_hostile_text_is_escaped_in_the_static_site(hostile_build: BuildResult):
    page = hostile_build.out_dir / "site" / "article" / f"{HOSTILE_SLUG}.html"
    check_page(page.read_text(encoding="utf-8"))


def test_hostile_text_is_escaped_in_served_pages(hostile_build: BuildResult):
    import httpx

    from webserver import running_app

    with running_app(hostile_build.out_dir) as url:
        response = httpx.get(f"{url}article/{HOSTILE_SLUG}", headers={"Accept": "text/html"}, timeout=30)
        assert response.status_code == 200
        check_page(response.text)
        for fmt, parse in (("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES),
                           ("rdf", ox.RdfFormat.RDF_XML), ("trig", ox.RdfFormat.TRIG)):
            document = httpx.get(f"{url}article/{HOSTILE_SLUG}.{fmt}", timeout=30)
            assert document.status_code == 200, fmt
            values = {q.object.value for q in ox.parse(document.content, format=parse)
                      if q.predicate.value == S + "headline"}
            assert HEADLINE in values, fmt
        search = httpx.get(url + "search", params={"q": "script", "format": "json"}, timeout=30).json()
        html_search = httpx.get(url + "search", params={"q": "<script>alert(1)</script>"}, timeout=30)
        assert html_search.status_code == 200 and "<script>alert(1)</script>" not in html_search.text
        assert isinstance(search["results"], list)


# ---------------------------------------------------------------- a build fetches nothing

def test_a_build_reaches_no_network_and_no_file_outside_the_project(tmp_path, capsys):
    """Every URL the sources may carry points at a loopback canary, the Wikidata cache carries
    owl:imports of the canary and of a file outside the project, and @base is a file: URL; the
    build must contact nothing and open nothing outside its folders (an audit hook sees every
    open() Python makes; the netguard every socket; the canary what neither can)."""
    secret = tmp_path / "outside" / "secret.ttl"
    secret.parent.mkdir()
    secret.write_text("<urn:x> <urn:y> 'SECRET-6f1c' .\n", encoding="utf-8")
    data = copy_data(tmp_path / "data")
    with Canary() as canary:
        edit(data, "dataset.yaml", "license: https://creativecommons.org/licenses/by/4.0/",
             f"license: {canary.url}licence")
        edit(data, ARTICLE, "url: https://news.az/news/-repealing-section-907-is-essential-to-restoring-"
             "fairness-in-us-azerbaijan-relations", f"url: {canary.url}article")
        edit(data, "entities.yaml", "  wikidata: Q227\n", f"  wikidata: Q227\n  url: {canary.url}entity\n")
        cache = data / "wikidata" / "entities.ttl"
        cache.write_text(cache.read_text(encoding="utf-8") + (
            f"\n<{canary.url}ontology> <http://www.w3.org/2002/07/owl#imports> <{canary.url}imported> , "
            f"<{secret.as_uri()}> .\n<http://www.wikidata.org/entity/Q227> "
            f"<http://www.w3.org/2000/01/rdf-schema#seeAlso> <{canary.url}see-also> .\n"
            f"@base <{secret.parent.as_uri()}/> .\n<secret.ttl> <http://www.w3.org/2002/07/owl#imports> "
            "<secret.ttl> .\n"), encoding="utf-8")
        opened: list[str] = []
        _AUDIT.append(opened)
        try:
            assert main(["build", "--data", str(data), "--out", str(tmp_path / "dist")]) == 0, \
                capsys.readouterr().err
        finally:
            _AUDIT.remove(opened)
    assert canary.hits == []
    outside = [p for p in opened if "outside" in p]
    assert outside == [], outside
    dumped = b"".join(p.read_bytes() for p in (tmp_path / "dist").glob("dataset.*"))
    assert b"SECRET-6f1c" not in dumped
    assert canary.url.encode() in dumped  # the URLs are data, published as written


_AUDIT: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if _AUDIT and event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        _AUDIT[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_audit)
