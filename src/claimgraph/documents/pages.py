"""HTML pages of resources: articles (with their claims and quotations highlighted or listed
by anchor), entities (with the claims about them across articles), statements, and any other
resource as a table of its triples."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from claimgraph.documents.article_jsonld import article_structured_data
from claimgraph.documents.rdf import embedded_jsonld
from claimgraph.documents.view import Linker, QuadView, S, compact_iri
from claimgraph.namespaces import CG, OA

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
WIKIDATA = "http://www.wikidata.org/entity/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
CGN = str(CG)
OAN = str(OA)


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("claimgraph", "templates"),
                      autoescape=select_autoescape(["html", "xml"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["compact"] = compact_iri
    return env


def render(template: str, linker: Linker, **context: object) -> str:
    return environment().get_template(template).render(link=linker.href, path=linker.path,
                                                       public=linker.public, **context)


@dataclass
class Ref:
    iri: str
    label: str


@dataclass
class Statement:
    iri: str
    kind: str  # "claim" or "quotation"
    text: str
    speaker: Ref | None
    interpreter: Ref | None
    statement_kind: str | None
    start: int
    end: int
    prefix: str
    suffix: str
    summary: str | None
    about: list[Ref] = field(default_factory=list)
    event: Ref | None = None

    @property
    def anchor_id(self) -> str:
        return self.kind + "-" + self.iri.rsplit("/", 1)[-1]


def _ref(view: QuadView, iri: str | None) -> Ref | None:
    return Ref(iri, view.label(iri)) if iri else None


def _concept_label(iri: str | None) -> str | None:
    if not iri:
        return None
    local = iri.rsplit("#", 1)[-1]
    return "not yet reconciled" if local == "NotYetReconciled" else "no item" if local == "NoItem" else local.lower()


def _anchor(view: QuadView, node: str) -> tuple[int, int, str, str]:
    target = view.value(node, CGN + "anchor")
    start = end = -1
    prefix = suffix = ""
    for selector in view.iris(target, OAN + "hasSelector") if target else []:
        if view.value(selector, OAN + "start") is not None:
            start = int(view.value(selector, OAN + "start") or -1)
            end = int(view.value(selector, OAN + "end") or -1)
        else:
            prefix = view.value(selector, OAN + "prefix") or ""
            suffix = view.value(selector, OAN + "suffix") or ""
    return start, end, prefix, suffix


def statements(view: QuadView, article: str) -> list[Statement]:
    found = []
    for kind, predicate, speaker_predicate in (("claim", S + "appearance", S + "author"),
                                               ("quotation", S + "isPartOf", S + "creator")):
        for node in view.subjects(predicate, article):
            start, end, prefix, suffix = _anchor(view, node)
            event = view.value(node, S + "recordedAt")
            found.append(Statement(
                node, kind, view.value(node, S + "text") or "", _ref(view, view.value(node, speaker_predicate)),
                _ref(view, view.value(node, S + "claimInterpreter")),
                _concept_label(view.value(node, CGN + "statementKind")), start, end, prefix, suffix,
                view.value(node, S + "description"),
                [Ref(i, view.label(i)) for i in view.iris(node, S + "about")], _ref(view, event)))
    return sorted(found, key=lambda s: (s.start, -s.end, s.kind))


@dataclass
class Segment:
    text: str
    marks: list[Statement]

    @property
    def classes(self) -> str:
        return " ".join(sorted({m.kind for m in self.marks}))


def highlighted_paragraphs(body: str, items: list[Statement]) -> list[list[Segment]]:
    """The body split into paragraphs of segments, each segment knowing which claims and
    quotations cover it (they may overlap)."""
    cuts = {0, len(body)}
    for item in items:
        if 0 <= item.start < item.end <= len(body):
            cuts.update((item.start, item.end))
    for index, char in enumerate(body):
        if char == "\n":
            cuts.update((index, index + 1))
    points = sorted(cuts)
    paragraphs: list[list[Segment]] = [[]]
    for a, b in pairwise(points):
        text = body[a:b]
        if text == "\n":
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        covering = [i for i in items if i.start <= a and b <= i.end]
        paragraphs[-1].append(Segment(text, covering))
    return [p for p in paragraphs if p]


def article_page(view: QuadView, article: str, linker: Linker, site: dict) -> str:
    items = statements(view, article)
    body = view.value(article, S + "articleBody")
    stances = []
    for stance in view.iris(article, CGN + "stance"):
        stances.append({"position": _concept_label(view.value(stance, CGN + "position")),
                        "proposition": view.value(stance, CGN + "proposition"),
                        "topics": [Ref(t, view.label(t)) for t in view.iris(stance, CGN + "topic")]})
    events, entities = [], []
    for iri in view.iris(article, S + "mentions"):
        if view.value(iri, S + "startDate"):
            events.append({"ref": Ref(iri, view.label(iri)), "date": view.value(iri, S + "startDate")})
        else:
            entities.append(Ref(iri, view.label(iri)))
    note = view.value(article, S + "comment")
    structured = article_structured_data(view, article)
    return render(
        "article.html", linker, site=site, iri=article, headline=view.value(article, S + "headline"),
        date=view.value(article, S + "datePublished"), author=_ref(view, view.value(article, S + "author")),
        publisher=_ref(view, view.value(article, S + "publisher")), url=view.value(article, S + "url"),
        section=view.value(article, S + "articleSection"), language=view.value(article, S + "inLanguage"),
        editor_note=view.value(note, S + "text") if note else None, stances=stances,
        events=sorted(events, key=lambda e: e["date"]), entities=sorted(entities, key=lambda r: r.label),
        statements=items, paragraphs=highlighted_paragraphs(body, items) if body else None,
        structured_data=Markup(embedded_jsonld(structured)))


def entity_page(view: QuadView, entity: str, linker: Linker, site: dict) -> str:
    names = {(o.language or "", o.value) for o in view.objects(entity, S + "name")}
    for item in view.iris(entity, S + "sameAs"):  # the linked item's names in other languages
        if item.startswith(WIKIDATA):
            names |= {(o.language, o.value) for o in view.objects(item, RDFS_LABEL)
                      if getattr(o, "language", None) and o.language != "en"}
    mentions = []
    for predicate, role in ((S + "about", "about"), (S + "mentions", "mentions"),
                            (S + "author", "said by"), (S + "creator", "quoted"), (CGN + "topic", "topic")):
        for subject in view.subjects(predicate, entity):
            types = view.types(subject)
            kind = ("quotation" if S + "Quotation" in types else "claim" if S + "Claim" in types
                    else "article" if S + "OpinionNewsArticle" in types else "other")
            article = view.value(subject, S + "appearance") or view.value(subject, S + "isPartOf")
            mentions.append({"ref": Ref(subject, view.label(subject)), "kind": kind, "role": role,
                             "text": view.value(subject, S + "text"), "article": _ref(view, article)})
    mentions.sort(key=lambda m: (m["kind"], m["article"].label if m["article"] else "", m["ref"].iri))
    same_as = [i for i in view.iris(entity, S + "sameAs")]
    return render(
        "entity.html", linker, site=site, iri=entity, name=view.label(entity), names=sorted(names),
        types=[compact_iri(t) for t in view.types(entity)],
        alternate=[o.value for o in view.objects(entity, S + "alternateName")],
        description=view.value(entity, S + "description"),
        wikidata=[i for i in same_as if i.startswith(WIKIDATA)], same_as=same_as,
        status=_concept_label(view.value(entity, CGN + "wikidataStatus")), mentions=mentions)


def resource_page(view: QuadView, iri: str, linker: Linker, site: dict, title: str | None = None) -> str:
    subjects = [iri, *sorted(s for s in view.out if s != iri and s.startswith(iri + "#"))]
    rows = []
    for subject in subjects:
        for predicate, objects in sorted(view.out.get(subject, {}).items()):
            for obj in objects:
                rows.append({"subject": subject, "predicate": predicate, "object": obj,
                             "is_iri": obj.__class__.__name__ == "NamedNode",
                             "label": view.label(obj.value) if obj.__class__.__name__ == "NamedNode" else obj.value,
                             "language": getattr(obj, "language", None)})
    backlinks = [{"subject": s, "predicate": p, "label": view.label(s)}
                 for s, p in sorted(view.into.get(iri, [])) if not s.startswith(iri + "#")]
    is_statement = any(t in (S + "Claim", S + "Quotation") for t in view.types(iri))
    statement = None
    if is_statement:
        article = view.value(iri, S + "appearance") or view.value(iri, S + "isPartOf")
        found = [s for s in statements(view, article) if s.iri == iri] if article else []
        statement = found[0] if found else None
    return render("resource.html", linker, site=site, iri=iri, title=title or view.label(iri),
                  types=[compact_iri(t) for t in view.types(iri)], rows=rows, backlinks=backlinks,
                  statement=statement, article=_ref(view, statement and (view.value(iri, S + "appearance")
                                                                          or view.value(iri, S + "isPartOf"))))
