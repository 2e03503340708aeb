"""Each rule of the shapes and of the schema.org check catches what it should, and the
report names the node, the rule, the value and the source line."""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from claimgraph.namespaces import CG, OA, SCHEMA, WD
from claimgraph.validation import validate_graph


def iri(seed_build, path: str) -> URIRef:
    return URIRef(seed_build.assembled.iris.base + path)


def violations(g: Graph, locations: dict | None = None):
    return validate_graph(g, locations=locations).violations


def test_the_seed_conforms_without_warnings(seed_build):
    assert seed_build.assembled.report.conforms
    assert seed_build.assembled.report.findings == []


def test_a_fact_about_the_world_is_a_violation(seed_build, content):
    g, _ = content
    section = iri(seed_build, "entity/section-907")
    g.add((section, URIRef("http://example.org/is"), URIRef("http://example.org/injustice")))
    g.add((URIRef("http://example.org/Section907"), SCHEMA.description, Literal("an injustice")))
    found = violations(g)
    assert {f.focus for f in found} == {str(section), "http://example.org/Section907"}
    assert any(f.rule == "KnownSubjects" and "no facts about the world" in f.message for f in found)
    assert any(f.rule == "Entity" and f.path == "http://example.org/is" for f in found)


def test_claim_text_must_match_its_anchor(seed_build, content):
    g, locations = content
    claim = iri(seed_build, "claim/section-907-opinion/historical-injustice")
    g.set((claim, SCHEMA.text, Literal("Section 907 is fine.", lang="en")))
    [finding] = violations(g, locations)
    assert finding.rule == "TextMatchesAnchor" and finding.focus == str(claim)
    assert finding.location is not None
    assert finding.location.path.name == "section-907-opinion.annotations.yaml"
    lines = finding.location.path.read_text(encoding="utf-8").splitlines()
    assert lines[finding.location.line - 1] == "  historical-injustice:"


def test_offsets_must_fit_the_exact_text(seed_build, content):
    g, _ = content
    position = iri(seed_build, "claim/section-907-opinion/historical-injustice#position")
    start = int(g.value(position, OA.start))
    g.set((position, OA.end, Literal(start + 3, datatype=XSD.integer)))
    found = violations(g)
    assert [f.rule for f in found] == ["OffsetsFitExact"]
    assert found[0].focus.endswith("historical-injustice#anchor")



def test_offsets_are_never_negative(seed_build, content):
    g, _ = content
    position = iri(seed_build, "claim/section-907-opinion/historical-injustice#position")
    start, end = int(g.value(position, OA.start)), int(g.value(position, OA.end))
    g.set((position, OA.start, Literal(-1, datatype=XSD.integer)))
    g.set((position, OA.end, Literal(end - start - 1, datatype=XSD.integer)))  # still the exact text's length
    found = violations(g)
    assert [(f.rule, f.focus, f.path) for f in found] == [("OffsetsAreNotNegative", str(position), str(OA.start))]
    assert "-1" in found[0].message

def test_offsets_must_fit_a_published_body(seed_build, content):
    g, _ = content
    article = iri(seed_build, "article/section-907-opinion")
    g.add((article, SCHEMA.articleBody, Literal("x" * 10000, lang="en")))
    found = violations(g)
    assert found and {f.rule for f in found} == {"OffsetsFitBody"}


def test_entity_link_must_be_a_concept_uri_and_agree_with_its_status(seed_build, content):
    g, _ = content
    azerbaijan = iri(seed_build, "entity/azerbaijan")
    g.set((azerbaijan, SCHEMA.sameAs, URIRef("https://www.wikidata.org/wiki/Q227")))
    armenia = iri(seed_build, "entity/armenia")
    g.remove((armenia, SCHEMA.sameAs, WD.Q399))
    rules = {(f.focus, f.rule) for f in violations(g)}
    assert (str(azerbaijan), "Entity-sameAs") in rules
    assert (str(armenia), "EntityLink") in rules


def test_article_needs_its_fields(seed_build, content):
    g, _ = content
    article = iri(seed_build, "article/section-907-opinion")
    g.remove((article, SCHEMA.headline, None))
    g.set((article, SCHEMA.datePublished, Literal("2026-01-08T10:00:00", datatype=XSD.dateTime)))
    rules = {f.rule for f in violations(g)}
    assert {"Article-headline", "Article-datePublished"} <= rules


def test_article_author_and_publisher_must_be_named(seed_build, content):
    g, _ = content
    article = iri(seed_build, "article/section-907-opinion")
    author, publisher = g.value(article, SCHEMA.author), g.value(article, SCHEMA.publisher)
    g.remove((author, SCHEMA.name, None))
    g.remove((publisher, SCHEMA.name, None))
    found = {(f.rule, f.focus) for f in violations(g)}
    assert ("AgentsAreAgents", str(author)) in found
    assert ("AgentsAreAgents", str(publisher)) in found


def test_quotation_needs_a_speaker_and_claim_a_kind(seed_build, content):
    g, _ = content
    quotation = iri(seed_build, "quotation/section-907-opinion/blockade-argument")
    g.remove((quotation, SCHEMA.creator, None))
    claim = iri(seed_build, "claim/section-907-opinion/historical-injustice")
    g.set((claim, CG.statementKind, CG.Supports))
    rules = {f.rule for f in violations(g)}
    assert {"Quotation-creator", "Claim-kind"} <= rules


def test_unknown_schemaorg_terms_and_https_namespace_are_violations(seed_build, content):
    g, _ = content
    claim = iri(seed_build, "claim/section-907-opinion/historical-injustice")
    g.add((claim, SCHEMA.spokesperson, iri(seed_build, "entity/joe-biden")))
    g.add((iri(seed_build, "entity/baku"), RDF.type, URIRef("https://schema.org/City")))
    found = violations(g)
    assert any(f.rule == "schemaorg-term-exists" and "spokesperson" in (f.value or "") for f in found)
    assert any(f.rule == "schemaorg-http-namespace" for f in found)


def test_domain_and_range_misfits_are_warnings(seed_build, content):
    g, _ = content
    claim = iri(seed_build, "claim/section-907-opinion/historical-injustice")
    g.add((claim, SCHEMA.birthDate, Literal("1961-12-24", datatype=XSD.date)))
    report = validate_graph(g)
    warnings = [f for f in report.warnings if f.focus == str(claim)]
    assert [f.rule for f in warnings] == ["schemaorg-domain"]
    assert "schema:Person" in warnings[0].message
    g2, _ = content
    g2.add((iri(seed_build, "entity/baku"), SCHEMA.containedInPlace, Literal("Azerbaijan")))
    assert any(f.rule == "schemaorg-range" for f in validate_graph(g2).warnings)


def test_a_batch_reads_its_entities_for_its_checks_and_leaves_judging_them_to_the_registry(tmp_path):
    """A batch validates its articles with what its checks need of the registry entities they
    link to (their types for sh:class, their status and names for the dataset checks): the
    seed's batch conforms, which it could not if a linked entity looked unknown. The entities'
    own shapes run once, on the whole registry, not again in every batch."""
    from dataclasses import replace

    from claimgraph.batches import process_batch
    from claimgraph.mapping import map_registry
    from claimgraph.namespaces import Iris
    from claimgraph.sources import scan_corpus
    from claimgraph.validation import validate_graph
    from conftest import copy_data

    files = scan_corpus(copy_data(tmp_path / "data", with_extra=True))
    base = files.dataset.base_iri
    assert process_batch(list(files.articles), files.data_dir, files.entities, base, tmp_path / "g").findings == []
    key = "azerbaijan"  # the seed's article mentions it
    entities = {**files.entities, key: replace(files.entities[key], name="")}  # a violation of its own shape
    iri = base + f"entity/{key}"
    registry = map_registry(entities.values(), Iris(base))
    assert iri in {f.focus for f in validate_graph(registry.graph).findings}
    batch = process_batch(list(files.articles), files.data_dir, entities, base, tmp_path / "g2")
    assert iri not in {f.focus for f in batch.findings}
