#!/usr/bin/env python3
"""Generate a synthetic claimgraph corpus: a complete data folder of N opinion articles.

    python benchmarks/generate_corpus.py --articles 10000 --out /tmp/corpus [--seed 7] [--publish-body]

The folder is in the project's own source format (docs/source-format.md), so a build of it
exercises the same loader, mapper, validator and publisher as real articles:

    dataset.yaml
    entities.yaml                 ~50 outlets (NewsMediaOrganization)
    entities/authors.yaml         ~500 columnists (Person)
    entities/<kind>.yaml          a pool of ~2,000 entities of varied types
    articles/<slug>.txt           front matter + several paragraphs of generated prose
    articles/<slug>.annotations.yaml

Every name is invented and obviously synthetic; entities are ``unreconciled`` or ``no-item``
(never a Wikidata ID, which the build would treat as a claim of identity). Each article
mentions 5-20 entities drawn Zipf-like from the pool (a few entities are in many articles, most
in few), and carries 5-15 claims of the four kinds (some reported speech with a speaker, some
scare-quoted claims of an unnamed party), 1-4 quotations, 1-3 dated events and a stance, every
excerpt anchored verbatim in the body (with ``occurrence:`` where it occurs more than once).

Output is a pure function of the arguments: article *i* uses its own random stream seeded from
``(seed, i)``, so the same arguments give the same bytes, and articles are written one at a time
(memory stays flat at any N). Only the standard library is used; the YAML is written by hand,
every free-text value double-quoted with JSON escapes (valid YAML), keys, dates and URLs plain.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_IRI = "https://claimgraph.example/"
CREATED = "2026-11-26"
N_OUTLETS = 50
N_AUTHORS = 500
# the pool: ~2,000 entities, by schema.org type
POOL_TYPES = {
    "Person": 700, "Country": 120, "City": 250, "AdministrativeArea": 80, "Organization": 150,
    "GovernmentOrganization": 200, "PoliticalParty": 60, "NGO": 90, "Corporation": 120,
    "Legislation": 150, "Event": 80,
}
POOL_SIZE = sum(POOL_TYPES.values())
SPEAKER_TYPES = ("Person", "Organization", "GovernmentOrganization", "PoliticalParty", "NGO", "Corporation")
ZIPF_S = 1.0  # mention frequency of the entity of rank r is proportional to 1 / r**ZIPF_S
EDITOR = "Benchmark Editor"

# --------------------------------------------------------------------------- YAML writing


def q(value: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML): safe for any text."""
    return json.dumps(value, ensure_ascii=False)


def flow_keys(keys: list[str]) -> str:
    return "[" + ", ".join(keys) + "]"


def slugify(text: str, max_words: int = 6) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("’", "").replace("'", ""))
    return "-".join(words[:max_words]) or "x"


# --------------------------------------------------------------------------- invented names

ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "r", "s",
          "st", "t", "tr", "v", "vr", "z", "th", "sh", "qu", "sk"]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ei", "ou", "y"]
CODAS = ["", "", "n", "r", "l", "s", "th", "k", "m", "nd", "rt", "sk", "v", "x"]
TOPICS = ["Water", "Energy", "Fisheries", "Rail Transport", "Housing", "Digital Affairs", "Public Health",
          "Border Security", "Trade", "Education", "Pensions", "Mining", "Culture", "Agriculture",
          "Tourism", "Finance", "Labour", "Climate", "Ports", "Forestry", "Broadcasting", "Veterans",
          "Statistics", "Aviation", "Food Safety", "Urban Planning", "Public Procurement", "Tax"]
ADJECTIVES = ["Northern", "Coastal", "Upland", "United", "Free", "Democratic", "Green", "Liberal",
              "Progressive", "Civic", "National", "Federal", "Western", "Eastern", "New", "Central"]
OUTLET_NOUNS = ["Courier", "Ledger", "Gazette", "Observer", "Tribune", "Review", "Dispatch",
                "Chronicle", "Herald", "Monitor", "Sentinel", "Post", "Record", "Examiner"]
INDUSTRIES = ["Shipping", "Energy", "Mining", "Rail", "Telecom", "Grain", "Textiles", "Cement",
              "Logistics", "Software", "Fertiliser", "Insurance"]
REGIONS = ["a fictional archipelago", "an invented river valley", "an imaginary highland region",
           "a made-up coastal plain", "an invented steppe", "a fictional inland sea"]
SECTIONS = ["Opinion", "Opinion", "Opinion", "Comment", "Op-Ed", "Analysis", "Columns"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def _root(rng: random.Random, syllables: int) -> str:
    parts = [rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)]
    return ("".join(parts) + rng.choice(CODAS)).capitalize()


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[0].isupper())


def _name_for(type_name: str, rng: random.Random) -> str:
    r = lambda n=2: _root(rng, n)  # noqa: E731
    if type_name == "Person":
        return f"{r(rng.choice((1, 2)))} {r(rng.choice((2, 3)))}"
    if type_name == "Country":
        return r(2) + rng.choice(["ia", "ania", "land", "stan", "ora", "mar", "eth"])
    if type_name == "City":
        return rng.choice(["{} ", "Port {}", "{}grad", "{}haven", "{}ford", "Lake {}", "{}ova", "San {}"]
                          ).format(r(2)).strip()
    if type_name == "AdministrativeArea":
        return f"{r(2)} {rng.choice(['Province', 'Region', 'District', 'County', 'Canton'])}"
    if type_name == "Organization":
        return rng.choice(["{r} Institute for {t}", "{t} Council of {r}", "{r} Foundation",
                           "{r} Centre for {t} Studies", "Association of {t} Workers of {r}"]
                          ).format(r=r(2), t=rng.choice(TOPICS))
    if type_name == "GovernmentOrganization":
        return rng.choice(["Ministry of {t} of {c}", "{c} National Assembly", "{c} Supreme Court",
                           "{c} Central Bank", "{c} City Council", "{c} Agency for {t}",
                           "{c} Senate Committee on {t}"]).format(c=r(2), t=rng.choice(TOPICS))
    if type_name == "PoliticalParty":
        return f"{rng.choice(ADJECTIVES)} {rng.choice(['Union', 'Alliance', 'Front', 'League', 'Movement'])} of {r(2)}"
    if type_name == "NGO":
        return rng.choice(["{t} Watch {r}", "Friends of {r}", "{r} Rights Network", "{r} {t} Trust"]
                          ).format(r=r(2), t=rng.choice(TOPICS))
    if type_name == "Corporation":
        return f"{r(2)} {rng.choice(INDUSTRIES)} {rng.choice(['Group', 'Holdings', 'Company', 'Corporation'])}"
    if type_name == "Legislation":
        return rng.choice(["{t} Act of {y}", "{r} Accord", "Section {n} of the {r} Code",
                           "{r} {t} Law", "{t} Reform Bill"]).format(
            r=r(2), t=rng.choice(TOPICS), y=rng.randint(1975, 2024), n=rng.randint(2, 999))
    if type_name == "Event":
        return rng.choice(["{r} Summit of {y}", "{r} Crisis", "{y} {r} Election", "{r} Floods of {y}",
                           "{r} Trade Talks", "{r} Strike of {y}"]).format(r=r(2), y=rng.randint(1980, 2025))
    raise ValueError(type_name)


_TYPE_WORDS = {
    "Person": "person", "Country": "country", "City": "city", "AdministrativeArea": "region",
    "Organization": "organisation", "GovernmentOrganization": "public body", "PoliticalParty": "party",
    "NGO": "non-governmental organisation", "Corporation": "company", "Legislation": "law",
    "Event": "event", "NewsMediaOrganization": "news outlet",
}


@dataclass
class Entity:
    key: str
    type: str
    name: str
    wikidata: str
    description: str | None = None
    alternate: str | None = None
    url: str | None = None
    link_date: str | None = None
    date: str | None = None  # an Event's date (the registry carries none; article events do)

    def yaml(self) -> str:
        lines = [f"{self.key}:", f"  type: {self.type}", f"  name: {q(self.name)}",
                 f"  wikidata: {self.wikidata}"]
        if self.alternate:
            lines.append(f"  alternate_names: [{q(self.alternate)}]")
        if self.description:
            lines.append(f"  description: {q(self.description)}")
        if self.url:
            lines.append(f"  url: {self.url}")
        if self.link_date:
            lines += ["  link:", "    method: by-hand", f"    by: {q(EDITOR)}", f"    date: {self.link_date}"]
        return "\n".join(lines) + "\n"


def _zipf(n: int, s: float) -> list[float]:
    """Cumulative weights 1/r**s for ranks 1..n (for bisect on a uniform draw)."""
    return list(itertools.accumulate(1 / (r ** s) for r in range(1, n + 1)))


class Registry:
    """Outlets, authors and the pool, with Zipf weights for drawing mentions."""

    def __init__(self, seed: str, outlets: int = N_OUTLETS, authors: int = N_AUTHORS, pool_size: int = POOL_SIZE
                 ) -> None:
        rng = random.Random(f"{seed}:registry")
        self.keys: set[str] = set()
        self.names: set[str] = set()
        self.outlets = [self._make("NewsMediaOrganization", rng, i) for i in range(outlets)]
        self.outlet_publishes = [rng.random() < 0.4 for _ in self.outlets]
        self.authors = [self._make("Person", rng, i, author=True) for i in range(authors)]
        self.author_home = [rng.randrange(outlets) for _ in self.authors]
        scale = pool_size / POOL_SIZE
        pool = [self._make(t, rng, i) for t, count in POOL_TYPES.items()
                for i in range(max(2, round(count * scale)))]
        rng.shuffle(pool)  # Zipf rank independent of type
        self.pool = pool
        self.pool_cum = _zipf(len(pool), ZIPF_S)
        persons = [e for e in pool if e.type == "Person"]
        self.persons = persons
        self.persons_cum = _zipf(len(persons), ZIPF_S)
        self.laws = [e for e in pool if e.type == "Legislation"]
        self.laws_cum = _zipf(len(self.laws), ZIPF_S)
        self.outlet_cum = _zipf(outlets, 0.7)
        self.author_cum = _zipf(authors, 0.6)

    def _unique_name(self, type_name: str, rng: random.Random) -> str:
        while True:
            name = _name_for(type_name, rng)
            if name not in self.names:
                self.names.add(name)
                return name

    def _make(self, type_name: str, rng: random.Random, index: int, author: bool = False) -> Entity:
        if type_name == "NewsMediaOrganization":
            name = f"The {_root(rng, 2)} {rng.choice(OUTLET_NOUNS)}"
            while name in self.names:
                name = f"The {_root(rng, 2)} {rng.choice(OUTLET_NOUNS)}"
            self.names.add(name)
        else:
            name = self._unique_name(type_name, rng)
        key = slugify(name)
        if key in self.keys:
            key = f"{key}-{index}"
        while key in self.keys:
            key += "-x"
        self.keys.add(key)
        roll = rng.random()
        wikidata = "no-item" if roll < 0.15 or author or type_name == "NewsMediaOrganization" else "unreconciled"
        link_date = None
        if wikidata == "no-item" and rng.random() < 0.3:
            link_date = f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"
        what = _TYPE_WORDS[type_name]
        if author:
            description = f"Fictional columnist invented for claimgraph's benchmarks ({what})."
        elif type_name in ("Country", "City", "AdministrativeArea"):
            description = f"Fictional {what} in {rng.choice(REGIONS)}, generated for claimgraph's benchmarks."
        else:
            description = f"Fictional {what} generated for claimgraph's benchmarks."
        if rng.random() < 0.1:
            description = None
        alternate = None
        if type_name in ("Organization", "GovernmentOrganization", "PoliticalParty", "NGO") and rng.random() < 0.3:
            alternate = _initials(name)
            if len(alternate) < 2:
                alternate = None
        url = None
        if type_name == "NewsMediaOrganization" or (type_name in SPEAKER_TYPES[1:] and rng.random() < 0.3):
            url = f"https://{key}.example/"
        date = None
        if type_name == "Event":
            found = re.search(r"\b(?:19|20)\d\d\b", name)
            year = int(found.group(0)) if found else rng.randint(1985, 2024)
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            date = rng.choice((f"{year}", f"{year}-{month:02d}", f"{year}-{month:02d}-{day:02d}"))
        return Entity(key, type_name, name, wikidata, description, alternate, url, link_date, date)

    def draw(self, cum: list[float], rng: random.Random) -> int:
        return bisect.bisect_left(cum, rng.random() * cum[-1])

    def write(self, out: Path) -> None:
        (out / "entities").mkdir(parents=True, exist_ok=True)
        header = "# Generated by benchmarks/generate_corpus.py: every name is invented.\n\n"
        _write(out / "entities.yaml", header + "\n".join(e.yaml() for e in self.outlets))
        _write(out / "entities" / "authors.yaml", header + "\n".join(e.yaml() for e in self.authors))
        by_type: dict[str, list[Entity]] = {}
        for e in sorted(self.pool, key=lambda e: e.key):
            by_type.setdefault(e.type, []).append(e)
        for type_name, entities in sorted(by_type.items()):
            _write(out / "entities" / f"{slugify(type_name)}.yaml",
                   header + "\n".join(e.yaml() for e in entities))


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# --------------------------------------------------------------------------- prose
#
# Templates name the kind of entity each slot takes: {who} a person; {org} an organisation,
# public body, party, company or country (something that has "its"); {ag} either; {law} a piece
# of legislation; {place} a country, city or region; {any} anything. A digit tells two slots of
# the same kind apart ({ag} and {ag2}). {N}, {N2}, {Y}, {Y2} and {P} are numbers, years, percents.

ROLES = {
    "who": ("Person",),
    "org": ("Organization", "GovernmentOrganization", "PoliticalParty", "NGO", "Corporation", "Country"),
    "ag": ("Person", "Organization", "GovernmentOrganization", "PoliticalParty", "NGO", "Corporation",
           "Country"),
    "law": ("Legislation",),
    "place": ("Country", "City", "AdministrativeArea"),
    "any": tuple(POOL_TYPES),
}
SLOT_RE = re.compile(r"\{(who|org|ag|law|place|any)(\d?)\}")

OPENERS = ["", "", "", "", "", "For years, ", "In truth, ", "Even so, ", "To be fair, ", "Put simply, ",
           "Yet ", "Meanwhile, ", "Still, ", "Worse, ", "In the meantime, ", "Above all, ", "Indeed, ",
           "As it happens, ", "Whatever else is said, "]

CLAIMS = {
    "factual": [
        "{org} approved {law} in {Y} by a margin of {N} votes",
        "since {Y}, {org} has spent more than {N} million on {law}",
        "{org} has missed {N} of its last {N2} reporting deadlines under {law}",
        "in {Y}, {org} signed {law} after {N} months of talks",
        "{org} cut its contribution to the fund created by {law} by {P} percent last year",
        "{org} has held {N} public hearings on {law} since {Y}",
        "only {N} of the {N2} measures promised in {law} have been carried out in {place}",
        "unemployment in {place} has risen by {P} percent since {law} took effect",
        "{who} voted against {law} in {Y}",
        "nearly {N} thousand people in {place} depend on subsidies administered by {org}",
        "{who} has chaired {org} since {Y}",
        "{place} received {N} million from {org} last year",
        "{any} was mentioned {N} times in the final report on {any2}",
    ],
    "evaluative": [
        "{org} has become a symbol of everything that is wrong with {law}",
        "the handling of {law} by {org} was careless at best and cynical at worst",
        "{who} deserves more credit for the patience shown towards {org}",
        "{law} is a costly mistake dressed up as reform",
        "the record of {org} on {law} is, frankly, embarrassing",
        "{org} has been a more reliable partner to {place} than its critics admit",
        "there is something deeply unserious about the way {who} talks about {law}",
        "the quarrel between {ag} and {ag2} has been a gift to cynics everywhere",
        "{law} was a sensible compromise that {org} has never properly defended",
        "few decisions in the recent history of {place} have been as short-sighted as {law}",
        "the whole affair around {any} reflects poorly on {any2}",
    ],
    "predictive": [
        "if {org} keeps to its current course, {law} will collapse within {N} years",
        "{org} will regret its silence on {law} long before the next election",
        "without a change of heart in {org}, {law} is likely to fail",
        "by {Y2}, {place} will be paying for {law} twice over",
        "the next round of talks between {ag} and {ag2} will end the way the last one did",
        "{law} will outlast the people in {org} who are now trying to bury it",
        "{who} will not survive another year in office if {law} falls",
        "{any} and {any2} will be back in the headlines before long",
    ],
    "normative": [
        "{org} should withdraw {law} before the end of the session",
        "{org} must put {law} to a public vote",
        "it is time for {org} to stop hiding behind {law}",
        "{org} ought to open its books on {law} to independent auditors",
        "{ag} should sit down with {ag2} and settle the matter this year",
        "the least {who} can do is publish the full text of {law}",
        "{place} deserves a straight answer from {org}",
        "someone should finally ask hard questions about {any} and {any2}",
    ],
}
REPORTED = [
    "{org} had never consulted the regions on {law}",
    "{law} would cost {place} at least {N} million a year",
    "the negotiations between {ag} and {ag2} were close to collapse",
    "{org} had deliberately delayed the report on {law}",
    "{law} had been drafted without the knowledge of {org}",
    "{org} was ready to compromise on {law}",
    "the situation in {place} was far worse than officials admitted",
    "{any} had been misrepresented in the press, and so had {any2}",
]
REPORT_FRAMES = ["{S} argued that {C}.", "According to {S}, {C}.", "{S} has repeatedly claimed that {C}.",
                 "{S} told reporters that {C}.", "As {S} put it in a statement, {C}.",
                 "{S} insists that {C}."]
QUOTES = [
    "We will not sign anything until {org} shows us the figures",
    "{law} was written for another era, and everyone in this building knows it",
    "Nobody in {place} asked for this",
    "I have read every page of {law}, and I still cannot tell you who benefits",
    "This is not a question of money; it is a question of trust",
    "{org} has had ten years to fix {law} and has done nothing",
    "We are ready to talk, but not on these terms",
    "If {law} fails, it will not be for lack of warnings",
    "The people of {place} deserve better than this",
    "I never said that about {any}, and I never will",
]
QUOTE_FRAMES = ["“{Q},” {S} said{E}.", "{S} put it bluntly{E}: “{Q}.”", "“{Q}”, {S} told the audience{E}.",
                "“{Q},” {S} insisted{E}, to polite applause.", "Asked about it{E}, {S} replied: “{Q}.”"]
EVENT_FRAMES = ["The question came up again {{T}}, where {ag} and {ag2} failed to agree.",  # {{T}}: the event
                "Everything changed {{T}}, when {ag} broke ranks.",
                "Recall what happened {{T}}: {ag} walked out of the room.",
                "It was {{T}} that {who} first spoke openly about the matter.",
                "Nothing was settled {{T}}, although {any} was on everyone’s lips."]
VENUES = ["summit", "hearing", "press conference", "party congress", "debate", "round table", "vote"]
FILLERS = [
    "That is worth remembering.", "Consider the numbers.", "Nobody seriously disputes this.",
    "It was not always so.", "The details matter here, and they are not flattering to anyone involved.",
    "The arguments on the other side deserve a fair hearing.",
    "There is a version of this story in which everyone behaves sensibly; this is not that version.",
    "The official line has changed three times in as many months.", "Much of this was predictable.",
    "None of this happened in a vacuum.",
    "The reports, the hearings and the promises have piled up without much to show for them.",
    "Critics will say this is unfair; they are welcome to show their own figures.",
    "It is a familiar story.", "This matters more than it seems.", "Look closer, and the picture changes.",
    "Those are not small sums.", "The timing was no accident.",
    "Nobody who sat through the hearings came away reassured, and several of those who testified said as "
    "much afterwards, in private and occasionally in public.",
    "Few people outside {place} paid much attention at the time, and fewer still read the fine print.",
    "Those who follow {org} closely will recognise the pattern: a bold announcement, a quiet retreat, "
    "and a long silence in between.",
    "Ask anyone in {place} and you will hear the same complaint.",
    "It is tempting to blame {ag} alone, but that would be too easy.",
    "Politics rarely rewards patience, and the people of {place} have had to show a great deal of it.",
    "{who} has said little in public about any of this.",
    "The name {any} comes up again and again in this story.",
    "Much has been written about {any}, most of it in haste.",
    "It would be wrong to leave {any} out of this account.",
    "The full text of {law} runs to {N} pages, and few of its defenders have read them all.",
]
NAMING_FILLERS = [f for f in FILLERS if "{any}" in f]
SCARE = ["Its defenders still speak of a “{Ph}”, but the record says otherwise.",
         "We are told that this is a “{Ph}”, a phrase repeated so often it has lost all meaning."]
SCARE_PHRASES = ["historic breakthrough", "temporary measure", "technical adjustment", "balanced settlement",
                 "necessary sacrifice", "reform for the future", "purely administrative matter"]
HEADLINES = ["Why {A} should rethink {T}", "The case against {T}", "{A} is running out of excuses on {T}",
             "What {T} really means for {A}", "It is time to settle the question of {T}",
             "{T}: a reform that reforms nothing", "In defence of {T}", "{A} and the long shadow of {T}",
             "Don’t let {A} off the hook on {T}", "{T} deserves a second look"]
PROPOSITIONS = {
    "law": {"supports": ["Adopting {T} in full", "Keeping {T} in force", "Public funding under {T}"],
            "opposes": ["Adopting {T} in full", "Extending {T} for another term", "The expansion of {T}"],
            "mixed": ["The compromise over {T}", "Reforming {T} rather than repealing it"],
            "neutral": ["The public debate about {T}", "An independent review of {T}"]},
    "other": {"supports": ["Closer ties with {T}", "Public support for {T}"],
              "opposes": ["Closer ties with {T}", "Public support for {T}"],
              "mixed": ["The current approach to {T}"], "neutral": ["The public debate about {T}"]},
}
STANCE_SENTENCES = {"supports": "{A} should stand by {T}, whatever the cost",
                    "opposes": "{T} has had every chance, and {A} should stop pretending otherwise",
                    "mixed": "there is a good idea somewhere inside {T}, but {A} has not found it yet",
                    "neutral": "the argument over {T} deserves better evidence than either side has offered"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Anchored:
    """A sentence of the body holding an excerpt; ``start`` is the excerpt's offset in the sentence."""

    sentence: str
    excerpt: str
    start: int


class ArticleWriter:
    """Everything about one article, from its own random stream."""

    def __init__(self, reg: Registry, seed: str, index: int, publish_body: bool) -> None:
        self.reg = reg
        self.rng = rng = random.Random(f"{seed}:article:{index}")
        self.index = index
        outlet_i = reg.draw(reg.outlet_cum, rng)
        author_i = reg.draw(reg.author_cum, rng)
        if rng.random() < 0.8:
            outlet_i = reg.author_home[author_i]
        self.outlet = reg.outlets[outlet_i]
        self.author = reg.authors[author_i]
        self.publish_body = publish_body or reg.outlet_publishes[outlet_i]
        year = rng.randint(2019, 2026)
        month = rng.randint(1, 10 if year == 2026 else 12)
        day = rng.randint(1, MONTH_DAYS[month - 1])
        self.year = year
        self.date = f"{year}-{month:02d}-{day:02d}"
        if rng.random() < 0.2:
            self.date += (f"T{rng.randint(6, 22):02d}:{rng.choice(('00', '15', '30', '45'))}:00"
                          f"{rng.choice(('Z', '+01:00', '+04:00', '-05:00'))}")
        self.n_claims = rng.randint(5, 15)
        self.n_quotes = rng.randint(1, 4)
        self.n_events = rng.randint(1, 3)
        self.k = rng.randint(5, 20)
        self.decks: dict[str, list[str]] = {}
        self._pick_entities()

    # -- entities ----------------------------------------------------------

    def _pick_entities(self) -> None:
        reg, rng = self.reg, self.rng
        chosen: dict[str, Entity] = {}
        for _ in range(rng.randint(1, 3)):  # people first: quotations need a speaker
            person = reg.persons[reg.draw(reg.persons_cum, rng)]
            chosen.setdefault(person.key, person)
        if rng.random() < 0.7:  # most columns argue about a law
            law = reg.laws[reg.draw(reg.laws_cum, rng)]
            chosen.setdefault(law.key, law)
        while len(chosen) < self.k:
            e = reg.pool[reg.draw(reg.pool_cum, rng)]
            chosen.setdefault(e.key, e)
        self.entities = list(chosen.values())
        self.speakers = [e for e in self.entities if e.type in SPEAKER_TYPES]
        self.persons = [e for e in self.entities if e.type == "Person"]
        for wanted in (("Legislation",), ("Event",), ROLES["place"], ROLES["org"], ("Person",)):
            topics = [e for e in self.entities if e.type in wanted]
            if topics:
                self.topic = rng.choice(topics)
                break
        self.queue = [e for e in self.entities if e is not self.topic]
        rng.shuffle(self.queue)

    def take(self, role: str, used: set[str]) -> Entity | None:
        """An entity for a slot: one not yet in the text if possible, else any that fits."""
        types = ROLES[role]
        for e in self.queue:
            if e.type in types and e.key not in used:
                return e
        fits = [e for e in self.entities if e.type in types and e.key not in used]
        return self.rng.choice(fits) if fits else None

    def fill(self, template: str, exclude: tuple[Entity, ...] = ()) -> tuple[str, list[Entity]] | None:
        """The template with its slots filled, and the entities it names (None if it cannot be)."""
        chosen: dict[str, Entity] = {}
        used = {e.key for e in exclude}
        for match in SLOT_RE.finditer(template):
            if match.group(0) in chosen:
                continue
            entity = self.take(match.group(1), used)
            if entity is None:
                return None
            chosen[match.group(0)] = entity
            used.add(entity.key)
        for entity in chosen.values():
            if entity in self.queue:
                self.queue.remove(entity)
        rng = self.rng
        n = rng.randint(3, 90)
        text = SLOT_RE.sub(lambda m: chosen[m.group(0)].name, template)
        text = text.format(N=n, N2=n + rng.randint(1, 40), Y=rng.randint(1990, self.year),
                           Y2=self.year + rng.randint(2, 12), P=rng.randint(2, 60))
        return text, list(chosen.values())

    def from_deck(self, name: str, templates: list[str], exclude: tuple[Entity, ...] = ()
                  ) -> tuple[str, list[Entity]]:
        """Fill a template drawn without replacement (an article does not repeat itself), trying
        the next one when the article has no entity for a slot; the last resort is {any}."""
        deck = self.decks.setdefault(name, [])
        for _ in range(len(templates)):
            if not deck:
                deck.extend(templates)
                self.rng.shuffle(deck)
            template = deck.pop()
            filled = self.fill(template, exclude)
            if filled:
                return filled
        fallback = [t for t in templates if all(m.group(1) == "any" for m in SLOT_RE.finditer(t))]
        filled = self.fill(self.rng.choice(fallback), ())
        if filled is None:
            raise AssertionError("no template fits")
        return filled

    # -- text pieces -------------------------------------------------------

    def sentence(self, core: str) -> tuple[str, int]:
        """A sentence around ``core`` (a clause): returns it and where the core starts."""
        opener = self.rng.choice(OPENERS)
        if opener:
            return f"{opener}{core}.", len(opener)
        return f"{_cap(core)}.", 0

    def filler(self) -> str:
        return self.from_deck("filler", FILLERS)[0]

    def date_words(self, when: str) -> str:
        parts = when.split("-")
        if len(parts) == 3:
            return f"on {int(parts[2])} {MONTHS[int(parts[1]) - 1]} {parts[0]}"
        if len(parts) == 2:
            return f"in {MONTHS[int(parts[1]) - 1]} {parts[0]}"
        return f"in {parts[0]}"

    def random_date(self) -> str:
        rng = self.rng
        year = rng.randint(max(1990, self.year - 12), self.year - 1)
        month = rng.randint(1, 12)
        day = rng.randint(1, MONTH_DAYS[month - 1])
        return rng.choice((f"{year}-{month:02d}-{day:02d}",) * 3 + (f"{year}-{month:02d}", f"{year}"))

    # -- the article -------------------------------------------------------

    def build(self) -> tuple[str, str, str]:
        """(slug, article file text, annotations file text)."""
        rng = self.rng
        topic = self.topic
        used_keys: set[str] = set()

        def key_for(text: str, prefix: str) -> str:
            base = f"{prefix}-{slugify(text, 4)}"
            key, n = base, 2
            while key in used_keys:
                key, n = f"{base}-{n}", n + 1
            used_keys.add(key)
            return key

        sections: dict[str, list[tuple[str, list[str]]]] = {
            "parties": [], "events": [], "claims": [], "quotations": [], "stance": []}
        placed: list[str] = []  # annotated sentences, laid out in the body below
        anchored: list[tuple[Anchored, list[str]]] = []  # each excerpt and its YAML entry

        def anchor(sentence: str, excerpt: str, entry: list[str], start: int | None = None) -> None:
            anchored.append((Anchored(sentence, excerpt, sentence.index(excerpt) if start is None else start),
                             entry))

        def links(entry: list[str], named: list[Entity], always_about: Entity | None = None) -> None:
            keys = [e.key for e in named]
            about = keys[:1] if rng.random() < 0.5 else keys[:2]
            if always_about and always_about.key not in about:
                about.insert(0, always_about.key)
            if about:
                entry.append(f"    about: {flow_keys(sorted(set(about)))}")
            mentions = [k for k in keys if k not in about]
            if mentions:
                entry.append(f"    mentions: {flow_keys(sorted(set(mentions)))}")

        # events (1-3), each with a dated, anchored phrase
        event_keys: list[str] = []
        pool_events = [e for e in self.entities if e.type == "Event" and int(e.date[:4]) < self.year]
        for _ in range(self.n_events):
            same_as = pool_events.pop() if pool_events and rng.random() < 0.6 else None
            if same_as:
                name, when, subject = same_as.name, same_as.date, None
                phrase = f"at the {name} {self.date_words(when)}"
                if same_as in self.queue:
                    self.queue.remove(same_as)
            else:
                subject = (self.take("law", set()) or self.take("place", set()) or self.take("any", set()))
                if subject in self.queue:
                    self.queue.remove(subject)
                venue = rng.choice(VENUES)
                when = self.random_date()
                name = f"The {venue} on {subject.name}"
                phrase = f"at a {venue} on {subject.name} {self.date_words(when)}"
            sentence, named = self.from_deck("event", EVENT_FRAMES, (subject,) if subject else ())
            sentence = sentence.replace("{T}", phrase)
            entry = [f"    name: {q(name)}", f"    date: {when}", f"    text: {q(phrase)}"]
            about = sorted({e.key for e in (subject, *named) if e})
            if about:
                entry.append(f"    about: {flow_keys(about)}")
            if same_as:
                entry.append(f"    same_as: {same_as.key}")
            key = key_for(name, "event")
            sections["events"].append((key, entry))
            anchor(sentence, phrase, entry)
            placed.append(sentence)
            event_keys.append(key)

        # the stance and its thesis sentence (the lede)
        position = rng.choices(["supports", "opposes", "mixed", "neutral"], weights=[45, 35, 10, 10])[0]
        other = self.take("ag", {topic.key}) or self.take("any", {topic.key})
        if other in self.queue:
            self.queue.remove(other)
        kind_of_topic = "law" if topic.type == "Legislation" else "other"
        proposition = rng.choice(PROPOSITIONS[kind_of_topic][position]).format(T=topic.name)
        thesis_core = STANCE_SENTENCES[position].format(A=other.name, T=topic.name)
        thesis, at = self.sentence(thesis_core)
        if at == 0:
            thesis_core = _cap(thesis_core)
        stance = [f"    position: {position}", f"    proposition: {q(proposition)}",
                  f"    about: {flow_keys(sorted({topic.key, other.key}))}"]
        if rng.random() < 0.75:
            stance.append(f"    text: {q(thesis_core)}")
            anchor(thesis, thesis_core, stance, at)
        sections["stance"].append((key_for(proposition, "stance"), stance))

        # claims: scare quotes of an unnamed party, reported speech, the author's own
        n_reported = min(self.n_claims - 2, sum(rng.random() < 0.25 for _ in range(self.n_claims)))
        n_scare = 1 if rng.random() < 0.15 else 0
        for i in range(self.n_claims):
            if i < n_scare:
                phrase = rng.choice(SCARE_PHRASES)
                party = f"defenders-of-{slugify(topic.name, 4)}"
                description = f"Defenders of {topic.name} (not named in the article)"
                sections["parties"].append((party, [f"    description: {q(description)}"]))
                sentence = rng.choice(SCARE).format(Ph=phrase)
                entry = [f"    text: {q(phrase)}", f"    kind: {rng.choice(('factual', 'evaluative'))}",
                         f"    speaker: {party}", f"    about: {flow_keys([topic.key])}",
                         f"    summary: {q(f'{topic.name} is a {phrase}')}"]
                anchor(sentence, phrase, entry)
                placed.append(sentence)
                sections["claims"].append((key_for(phrase, "scare"), entry))
                continue
            if n_scare < i <= n_scare + n_reported and self.speakers:
                speaker = rng.choice(self.speakers)
                clause, named = self.from_deck("reported", REPORTED, (speaker,))
                sentence = rng.choice(REPORT_FRAMES).format(S=speaker.name, C=clause)
                kind = rng.choice(("factual", "factual", "evaluative", "predictive"))
                entry = [f"    text: {q(clause)}", f"    kind: {kind}", f"    speaker: {speaker.key}"]
                if event_keys and rng.random() < 0.4:
                    entry.append(f"    event: {rng.choice(event_keys)}")
                if rng.random() < 0.15:
                    entry.append(f"    summary: {q(f'{speaker.name} said that {clause}')}")
                if speaker in self.queue:
                    self.queue.remove(speaker)
                start = sentence.index(clause)
                key = key_for(clause, "said")
                links(entry, named)
            else:
                kind = rng.choice(("factual", "evaluative", "predictive", "normative"))
                clause, named = self.from_deck(kind, CLAIMS[kind])
                sentence, start = self.sentence(clause)
                if start == 0:
                    clause = sentence if rng.random() < 0.5 else _cap(clause)
                entry = [f"    text: {q(clause)}", f"    kind: {kind}"]
                key = key_for(clause, kind[:4])
                links(entry, named, topic if i == n_scare and topic.name in clause else None)
            anchor(sentence, clause, entry, start)
            placed.append(sentence)
            sections["claims"].append((key, entry))
        sections["parties"] = list(dict(sections["parties"]).items())

        # quotations, by people
        for _ in range(self.n_quotes):
            speaker = rng.choice(self.persons)
            if speaker in self.queue:
                self.queue.remove(speaker)
            quote, named = self.from_deck("quote", QUOTES, (speaker,))
            event = rng.choice(event_keys) if rng.random() < 0.5 else None
            where = rng.choice([" at the time", " that day", " afterwards", ""]) if event else ""
            sentence = rng.choice(QUOTE_FRAMES).format(Q=quote, S=speaker.name, E=where)
            entry = [f"    text: {q(quote)}", f"    speaker: {speaker.key}"]
            if event:
                entry.append(f"    event: {event}")
            if named:
                entry.append(f"    about: {flow_keys(sorted({e.key for e in named}))}")
            anchor(sentence, quote, entry)
            placed.append(sentence)
            sections["quotations"].append((key_for(quote, "quote"), entry))

        # entities not named yet: a sentence names each, and a claim lists it under 'mentions'
        while self.queue:
            e = self.queue[0]
            placed.append(self.fill(rng.choice(NAMING_FILLERS))[0])  # takes e: the queue's first {any}
            _add_mention(rng.choice(sections["claims"])[1], e.key)

        # paragraphs: the lede (with the thesis), then the rest shuffled among unannotated sentences
        rest = placed[:]
        rng.shuffle(rest)
        for _ in range(rng.randint(len(rest), 2 * len(rest) + 4)):
            rest.insert(rng.randrange(len(rest) + 1), self.filler())
        paragraphs = [[self.filler(), thesis] if rng.random() < 0.5 else [thesis, self.filler()]]
        while rest:
            take = rng.randint(2, 6)
            paragraphs.append(rest[:take])
            rest = rest[take:]
        body = "\n\n".join(" ".join(p) for p in paragraphs)

        # each excerpt: say which occurrence is the one placed, when its text repeats
        for item, entry in anchored:
            target = _find_sentence(body, item.sentence) + item.start
            starts = _occurrences(body, item.excerpt)
            if target not in starts:
                raise AssertionError(f"excerpt {item.excerpt!r} not placed")
            if len(starts) > 1:
                entry.append(f"    occurrence: {starts.index(target) + 1}")

        headline = _cap(rng.choice(HEADLINES).format(A=other.name, T=topic.name))
        slug = f"{slugify(headline, 5)}-{self.index:06d}"
        front = ["---", f"headline: {q(headline)}", f"date_published: {self.date}",
                 f"author: {self.author.key}", f"publisher: {self.outlet.key}",
                 f"url: https://{self.outlet.key}.example/opinion/{slug}", "language: en",
                 f"section: {q(rng.choice(SECTIONS))}"]
        if rng.random() < 0.3:
            note = (f"{self.author.name} is a columnist. The views expressed are their own and do not "
                    f"necessarily reflect those of {self.outlet.name}.")
            front.append(f"editor_note: {q(note)}")
        front += ["rights:", f"  copyright_holder: {self.outlet.key}",
                  f"  body: {'publish' if self.publish_body else 'withhold'}", "---"]
        article = "\n".join(front) + "\n" + body + "\n"

        out = [f"# Annotations of {slug}.txt, generated by benchmarks/generate_corpus.py.\n"]
        for title, items in sections.items():
            if items:
                out.append(f"{title}:\n")
                out.extend(f"  {key}:\n" + "\n".join(entry) + "\n" for key, entry in items)
        return slug, article, "".join(out)


def _add_mention(entry: list[str], key: str) -> None:
    for i, line in enumerate(entry):
        if line.startswith("    mentions: ["):
            keys = line[len("    mentions: ["):-1].split(", ")
            if key not in keys:
                entry[i] = f"    mentions: {flow_keys([*keys, key])}"
            return
    entry.append(f"    mentions: [{key}]")


def _occurrences(body: str, text: str) -> list[int]:
    found, start = [], body.find(text)
    while start != -1:
        found.append(start)
        start = body.find(text, start + 1)
    return found


def _find_sentence(body: str, sentence: str) -> int:
    """Where a placed sentence starts: at a paragraph start or after a space."""
    start = body.find(sentence)
    while start > 0 and body[start - 1] not in " \n":
        start = body.find(sentence, start + 1)
    if start == -1:
        raise AssertionError(f"sentence {sentence!r} not in the body")
    return start


# --------------------------------------------------------------------------- the corpus

DATASET_YAML = f"""# A synthetic corpus generated by benchmarks/generate_corpus.py (every name is invented).
base_iri: {BASE_IRI}
title: {q("claimgraph synthetic benchmark corpus")}
description: {q("Generated opinion articles for measuring claimgraph's build and serve at scale; "
                 "nothing in it is real.")}
license: https://creativecommons.org/licenses/by/4.0/
publisher: claimgraph
created: {CREATED}
"""


def generate(out: Path, articles: int, seed: int | str = 1, publish_body: bool = False,
             progress: bool = False, outlets: int = N_OUTLETS, authors: int = N_AUTHORS,
             pool: int = POOL_SIZE) -> dict[str, object]:
    """Write the corpus into ``out`` (created if needed); returns figures about it."""
    out = Path(out)
    (out / "articles").mkdir(parents=True, exist_ok=True)
    seed = str(seed)
    reg = Registry(seed, outlets, authors, pool)
    _write(out / "dataset.yaml", DATASET_YAML)
    reg.write(out)
    started = time.monotonic()
    claims = quotations = 0
    body_bytes = 0
    published = 0
    for index in range(articles):
        writer = ArticleWriter(reg, seed, index, publish_body)
        slug, article, annotations = writer.build()
        _write(out / "articles" / f"{slug}.txt", article)
        _write(out / "articles" / f"{slug}.annotations.yaml", annotations)
        claims += writer.n_claims
        quotations += writer.n_quotes
        body_bytes += len(article.encode("utf-8"))
        published += writer.publish_body
        if progress and index and index % 10_000 == 0:
            print(f"  {index:,} articles ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return {"articles": articles, "entities": len(reg.outlets) + len(reg.authors) + len(reg.pool),
            "claims": claims, "quotations": quotations, "article_bytes": body_bytes,
            "published_bodies": published, "seconds": round(time.monotonic() - started, 3)}


def touch_article(data_dir: Path, n: int = 1) -> Path:
    """Edit one article's text (append a sentence to its body), keeping its annotations valid:
    the benchmark's "change one article" for an incremental rebuild. Returns the file edited."""
    paths = sorted((Path(data_dir) / "articles").glob("*.txt"))
    path = paths[len(paths) // 2]
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.write(f"\nCorrection {n}: an earlier version of this column misstated a date.\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True, help="how many articles (N)")
    parser.add_argument("--out", type=Path, required=True, help="the data folder to write")
    parser.add_argument("--seed", default="1", help="the random seed (default: 1)")
    parser.add_argument("--publish-body", action="store_true",
                        help="every article publishes its body (default: about 40%% of outlets do, "
                             "the rest withhold it)")
    parser.add_argument("--outlets", type=int, default=N_OUTLETS, help=f"outlets (default: {N_OUTLETS})")
    parser.add_argument("--authors", type=int, default=N_AUTHORS, help=f"authors (default: {N_AUTHORS})")
    parser.add_argument("--pool", type=int, default=POOL_SIZE,
                        help=f"registry entities articles mention (default: {POOL_SIZE})")
    parser.add_argument("--force", action="store_true",
                        help="replace the corpus files of an existing folder (dataset.yaml, entities, articles)")
    args = parser.parse_args(argv)
    if args.articles < 0 or args.outlets < 1 or args.authors < 1 or args.pool < 30:
        parser.error("--articles must be 0 or more, --outlets and --authors 1 or more, --pool 30 or more")
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not args.force:
            parser.error(f"{out} is not empty (use --force to replace a generated corpus there)")
        for name in ("articles", "entities"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in ("dataset.yaml", "entities.yaml"):
            (out / name).unlink(missing_ok=True)
    figures = generate(out, args.articles, args.seed, args.publish_body, progress=True,
                       outlets=args.outlets, authors=args.authors, pool=args.pool)
    print(f"wrote {figures['articles']:,} articles ({figures['claims']:,} claims, "
          f"{figures['quotations']:,} quotations), {figures['entities']:,} entities into {out}/ "
          f"in {figures['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
