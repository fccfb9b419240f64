"""Infer a document's date, publisher and kind from what its text states.

Used for files without a manifest entry. Every rule reads general shapes of Danish and English
publications, never one file's wording:

- **published**: a date next to a label that says what it is ("Publiceret 03-06-2021",
  "Godkendt af Socialudvalget den 17. april 2023", "Report 17 Jan 2017", "Sidst opdateret
  06/05 2015", "vejledning nr. 9764 af 2/10 2023", "Published: 28 September 2018"), looked for
  in the page chrome first and then the first part of the text; publication labels rank above
  approval, approval above "updated". A date line standing alone near the top counts too.
  Numeric dates are read day first (Danish and European use); the result is ISO YYYY-MM-DD,
  or ``None`` when no labelled full date is found (a year alone is not a date).
- **publisher**: "© 2019 Socialstyrelsen", "Udgivet af …", "Published by …", "Udgiver: …",
  else an organisation-shaped line near the top ("Ministry of … of Denmark"), else the file's
  author property.
- **kind**: a score per kind, summed over keyword patterns (Danish and English) found in the
  title (weight 3) and in the first part of the text (weight 1 per hit, at most 3 hits a
  pattern), plus 6 when the title names the kind of document itself ("Thematic Report on …",
  "Vejledning om …", "CTI-metodemanual"). The best kind wins if it scores at least 2;
  otherwise "other".

Example:
    >>> infer_published("Nyhed\\n\\nPubliceret 03-06-2021\\n\\nKommunen har ...")
    '2021-06-03'
    >>> infer_publisher("Rapport\\n\\n© 2020 Socialstyrelsen")
    'Socialstyrelsen'
    >>> infer_kind("Lov om social service", "§ 1. Formålet med denne lov er ... Stk. 2.")
    'law'
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    "januar": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2,
    "marts": 3, "march": 3, "mar": 3, "april": 4, "apr": 4, "maj": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    # 2021-06-03
    re.compile(r"\b(?P<y>(?:19|20)\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    # 03-06-2021, 03.06.2021, 03/06/2021, 06/05 2015, 2/10 2023
    re.compile(r"\b(?P<d>\d{1,2})[-./](?P<m>\d{1,2})(?:[-./]|\s)(?P<y>(?:19|20)\d{2})\b"),
    # 17. april 2023, 17 Jan 2017, 1. DEC 2011
    re.compile(
        rf"\b(?P<d>\d{{1,2}})\.?\s+(?P<mn>{_MONTH_RE})\.?,?\s+(?P<y>(?:19|20)\d{{2}})\b",
        re.IGNORECASE,
    ),
    # April 17, 2023
    re.compile(
        rf"\b(?P<mn>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})\b",
        re.IGNORECASE,
    ),
)
# Labels that say what a date is, best first; a label must sit shortly before its date.
# "{doctype}" is the title's first word when it names a kind of document ("Vejledning om …"):
# "vejledning nr. 9764 af 2/10 2023" dates the document itself, other acts cited do not.
_DATE_LABELS = (
    r"publiceret|udgivet|offentliggjort|published|publication date|udgivelsesdato|"
    r"\breport\b|\brapport\b|released|nyhed|\bnews\b|\bdato\b|\bdate\b|"
    r"\b{doctype}\w*\s+nr\.\s*\d+\s+af\s*$",
    r"godkendt|vedtaget|approved|adopted",
    r"sidst opdateret|senest opdateret|opdateret|revideret|last updated|last update|updated|"
    r"revised|modified",
)
_DOCTYPES = {
    "vejledning", "skrivelse", "bekendtgørelse", "cirkulære", "lov", "lovbekendtgørelse",
    "notat", "rapport", "report", "guidance", "circular",
}  # fmt: skip
_SUPERSEDED_RE = re.compile(r"afløser|erstatter|replaces|supersedes|ophæver|repeals", re.I)
_LABEL_WINDOW = 45
_DATE_SCAN_CHARS = 3000
_MAX_DATE_LINE_CHARS = 40

_PUBLISHER_RES = (
    re.compile(r"(?:©|\(c\)|copyright)\s*(?:(?:19|20)\d{2}[,.]?\s*)?(?P<name>[^\n|©]+)", re.I),
    re.compile(
        r"\b(?:udgivet af|udgiver|published by|publisher|udarbejdet af|prepared by)\s*:?\s*"
        r"(?P<name>[^\n|]+)",
        re.IGNORECASE,
    ),
)
_ORG_RE = re.compile(
    r"ministeri|ministry|styrelse|kommune|municipality|region\b|regionen|center|centre|"
    r"institut|agency|authority|foundation|fonden|network|netværk|organisation|"
    r"organization|forening|association|council|rådet|oecd|commission|kommission|vive|sfi\b",
    re.IGNORECASE,
)
_MAX_PUBLISHER_CHARS = 80
_PUBLISHER_SCAN_LINES = 12
_NAME_CAPITALS = 0.6

# (kind, pattern) pairs; a pattern is searched case-insensitively in title and text.
KIND_KEYWORDS: dict[str, tuple[str, ...]] = {
    "news": (
        r"\bnyhed(?:er)?\b", r"\bnews\b", r"pressemeddelelse", r"press release",
        r"(?-i:^(?:Af|By) [A-ZÆØÅ][\w-]+(?: [A-ZÆØÅ][\w-]+)+$)", r"\bpubliceret\b",
    ),
    "initiative": (
        r"\binitiativ(?:et|er)?\b", r"\binitiatives?\b", r"\bprojekt(?:et|er)?\b",
        r"\bprojects?\b", r"\bstrategi(?:en)?\b", r"\bstrateg(?:y|ies)\b", r"\breform(?:en)?\b",
        r"\bprogram(?:me)?\b", r"\bpulje(?:n)?\b", r"\bpartnerskab", r"\bpartnership",
        r"\budbredelse",
    ),
    "benchmark": (r"pejlemærke", r"\bbenchmarks?\b", r"kvalitetsmodel"),
    "catalogue": (r"indsatskatalog", r"\bkatalog", r"\bcatalogue\b", r"\bcatalog\b"),
    "literature-study": (
        r"litteraturstudie", r"literature (?:study|review)", r"systematic review",
        r"forskningsoversigt", r"vidensafdækning", r"review of (?:the )?(?:literature|evidence)",
    ),
    "guideline": (
        r"\bvejledning(?:en)?\b", r"retningslinje", r"\bguidelines?\b", r"\bguidance\b",
        r"kvalitetsstandard", r"\binstruks\b", r"\banbefalinger\b", r"\brecommendations\b",
        r"håndbog", r"\bhandbook\b", r"sådan (?:gør|søger) du", r"how to apply",
    ),
    "law": (
        r"(?-i:^(?:Lov|Act)\b)", r"^lovbekendtgørelse", r"^bekendtgørelse", r"\bconsolidation act",
        r"^(?:\d+\.\s*)?§\s*\d", r"^(?:\d+\.\s*)?stk\.\s*\d", r"^\(\d\)\s", r"^cirkulære",
        r"\w+loven\s+§\s*\d+$", r"^skrivelse\b", r"^part \d+\b",
    ),
    "report": (
        r"\brapport(?:en)?\b", r"\breports?\b", r"\bundersøgelse", r"\bstud(?:y|ies)\b",
        r"\banaly(?:se|sis|ses)\b", r"\bevaluering", r"\bevaluation\b", r"\bartikel\b",
        r"\barticle\b", r"\babstract\b", r"\bkortlægning", r"\bmapping\b", r"\bsurvey\b",
        r"\btrial\b", r"\bexecutive summary\b", r"\bchapter\b", r"\bkapitel\b",
        r"\bpolicy review\b", r"\bresultater\b", r"\bresults\b", r"\bpublication\b",
    ),
    "method": (
        r"\bmetode(?:n|r|manual)?\b", r"\bmethods?\b", r"metodemanual", r"\bmanual\b",
        r"\bmodel(?:len)?\b", r"\btilgang(?:en)?\b", r"\bapproach\b", r"\bintervention\b",
        r"\bindsats(?:en)?\b", r"case management", r"community treatment",
        r"critical time intervention", r"housing first", r"\brecovery-orienteret",
    ),
}  # fmt: skip
_TITLE_WEIGHT = 3
# Words that name what a document *is* ("Thematic Report on … strategies", "Vejledning om …")
# outweigh topic words in a title.
_DOCTYPE_TITLE_WEIGHT = 6
KIND_TITLE_NOUNS: dict[str, str] = {
    "news": r"\bnyhed\b|\bnews\b|pressemeddelelse|press release",
    "initiative": r"\binitiativ(?:et)?\b|\binitiative\b",
    "benchmark": r"pejlemærke|\bbenchmarks?\b",
    "catalogue": r"katalog|\bcatalogue\b",
    "literature-study": r"litteraturstudie|literature (?:study|review)|systematic review",
    "guideline": r"vejledning|retningslinje|\bguidelines?\b|\bguidance\b|kvalitetsstandard|"
    r"\binstruks\b|håndbog|\bhandbook\b",
    "law": r"(?-i:^(?:Lov|Act)\b)|bekendtgørelse|\bconsolidation act\b|\w+loven\b",
    "report": r"\brapport\b|\breport\b|\bexecutive summary\b|\bpolicy review\b|\barticle\b|"
    r"\bartikel\b",
    "method": r"metodemanual|\bmethod manual\b|dokumenteret metode",
}
_MAX_HITS = 3
_MIN_KIND_SCORE = 2
_KIND_SCAN_CHARS = 2500


def parse_date(text: str) -> str | None:
    """The first full date in ``text`` as ISO YYYY-MM-DD, else ``None``.

    >>> parse_date("Godkendt af udvalget den 17. april 2023"), parse_date("06/05 2015")
    ('2023-04-17', '2015-05-06')
    """
    found = _dates(text)
    return found[0][1] if found else None


def _dates(text: str) -> list[tuple[int, str]]:
    """Every full date in ``text`` as (offset, ISO date), in text order."""
    out: dict[int, str] = {}
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parts = m.groupdict()
            month = _MONTHS[parts["mn"].lower()] if parts.get("mn") else int(parts["m"])
            day, year = int(parts["d"]), int(parts["y"])
            try:
                date = dt.date(year, month, day)
            except ValueError:
                continue
            if m.start() not in out:
                out[m.start()] = date.isoformat()
    return sorted(out.items())


def infer_published(
    text: str, chrome_text: str = "", hint: str | None = None, title: str = ""
) -> str | None:
    """The publication date a page states (see module docstring), else ``hint``."""
    first = (title.split() or [""])[0].lower()
    doctype = re.escape(first) if first in _DOCTYPES else "(?!x)x"
    labels = [label.replace("{doctype}", doctype) for label in _DATE_LABELS]
    best: tuple[int, int, str] | None = None
    for source_rank, source in enumerate((chrome_text, text[:_DATE_SCAN_CHARS])):
        for offset, iso in _dates(source):
            before = source[max(0, offset - _LABEL_WINDOW) : offset].lower()
            before = before.rsplit("\n\n", 1)[-1]
            sentence = re.split(r"[.!?]\s+(?=[A-ZÆØÅ])|\n", source[max(0, offset - 300) : offset])
            if _SUPERSEDED_RE.search(sentence[-1]):
                continue  # "afløser vejledning nr. 8 af …": the date of an older document
            rank = next((r for r, label in enumerate(labels) if re.search(label, before)), None)
            if rank is None:
                line = _line_at(source, offset)
                if len(line) > _MAX_DATE_LINE_CHARS:
                    continue
                rank = len(labels)  # a bare date line: weakest evidence
            key = (rank, source_rank, iso)
            if best is None or key[:2] < best[:2]:
                best = key
    return best[2] if best else hint


def _line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end != -1 else len(text)].strip()


def infer_publisher(
    text: str, chrome_text: str = "", hint: str | None = None, title: str = ""
) -> str | None:
    """The publisher a page states (see module docstring), else ``hint``."""
    for source in (chrome_text, text[:_DATE_SCAN_CHARS], text[-_DATE_SCAN_CHARS:]):
        for pattern in _PUBLISHER_RES:
            for m in pattern.finditer(source):
                name = _clean_name(m.group("name"))
                if name:
                    return name
    lines = [ln.strip(" *") for ln in text[:_DATE_SCAN_CHARS].split("\n") if ln.strip()]
    for line in lines[:_PUBLISHER_SCAN_LINES]:
        # Organisation-shaped body lines only: not the title, a heading or a list item.
        if line.startswith(("#", "-", "•", "(")) or line[0].isdigit() or line in title:
            continue
        line = next((part for part in line.split(" | ") if _ORG_RE.search(part)), line)
        if (
            len(line) <= _MAX_PUBLISHER_CHARS
            and line[-1] not in ".:;?!"
            and _ORG_RE.search(line)
            and not re.search(r"\d|:", line)
            and len(line.split()) >= 2
            and _name_shaped(line)
        ):
            return line
    return hint


def _name_shaped(line: str) -> bool:
    """Mostly capitalised words, as in a name ("Ministry of the Interior and Health")."""
    words = [w for w in re.findall(r"[^\W\d_][\w-]*", line) if len(w) > 3]
    capitals = sum(w[0].isupper() for w in words)
    return bool(words) and capitals / len(words) >= _NAME_CAPITALS


def _clean_name(raw: str) -> str | None:
    # Cut at a sentence end, a date or a following field ("Socialstyrelsen, 2020. Alle ...").
    name = re.split(r"(?<=[a-zæøå)])\.\s|\s[-–|]\s|,\s*(?:19|20)\d{2}|\s(?:19|20)\d{2}\b", raw)[0]
    name = re.sub(
        r"\s*(?:alle rettigheder forbeholdt|all rights reserved).*$", "", name, flags=re.I
    )
    name = name.strip(" .,:;")
    if not name or len(name) > _MAX_PUBLISHER_CHARS or not any(c.isalpha() for c in name):
        return None
    if not name[0].isupper() and not name[0].isdigit():
        return None
    return name


def infer_kind(title: str, text: str) -> str:
    """The best-scoring kind for a title and text (see module docstring), else "other"."""
    head = text[:_KIND_SCAN_CHARS]
    scores: dict[str, int] = {}
    for kind, patterns in KIND_KEYWORDS.items():
        score = 0
        for pattern in patterns:
            if re.search(pattern, title, re.IGNORECASE | re.MULTILINE):
                score += _TITLE_WEIGHT
            hits = len(re.findall(pattern, head, re.IGNORECASE | re.MULTILINE))
            score += min(hits, _MAX_HITS)
        noun = KIND_TITLE_NOUNS.get(kind)
        if noun and re.search(noun, title, re.IGNORECASE):
            score += _DOCTYPE_TITLE_WEIGHT
        scores[kind] = score
    kind, score = max(scores.items(), key=lambda item: item[1])
    return kind if score >= _MIN_KIND_SCORE else "other"
