"""Study material for preparing a session: key points, an FAQ and a short quiz for a document,
a section of one, or a topic of the trainers' question bank. Extractive like every answer:
each item cites an exact span of a stored document (``text[start:end] == quote``).

- **Key points**: the material's most central sentences, i.e. those whose stored sentence
  vector is closest to the mean of all the material's sentence vectors (near-duplicates
  dropped). Nothing is embedded at request time.
- **FAQ**: the bank's questions and the section headings turned into questions, answered by
  the assistant itself; only answered, non-declined answers that cite the material are kept.
- **Quiz**: a cited sentence with a number, a name or a recurring term blanked; the options
  are that answer plus values of the same kind found elsewhere in the same material.

Page chrome, boilerplate, instructions aimed at a reader and bare headings are never items.

Example (the seed corpus ingested into ``settings.data_dir``)::

    from assistant.pipeline import Assistant
    from assistant.study import Scope, build_study
    study = build_study(Assistant(settings), Scope(doc_id="news-quality-housing-support-en"))
    study["key_points"][0]["citation"]["quote"]
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.chrome import BoilerplateCache, is_chrome
from assistant.injection import is_injection
from assistant.models import Citation, Filters, Language
from assistant.question_bank import bank_path, bank_topics

if TYPE_CHECKING:
    from assistant.pipeline import Assistant
    from assistant.store_reader import Snapshot

MIN_WORDS = 6  # shorter units are labels, list fragments or headings, not points
KEY_POINTS = 6
NEAR_DUPLICATE = 0.93  # cosine above which a second key point says the same thing
MAX_HEADING_QUESTIONS = 8
QUIZ_ITEMS = 5
OPTIONS = 4

_BLANK = "_____"
_NUMBER = re.compile(r"(?<![\w.,-])\d+(?:[.,]\d+)*(?:\s?%)?(?![\w-])")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s")
# A capitalised word (or run of them) that does not open the sentence: in Danish nouns are
# lower case, so such a run is a name or an acronym; in English mostly so too.
_CAP = r"[A-ZÆØÅ][\wÆØÅæøå&-]*"
_NAME = re.compile(rf"(?<![\w.]){_CAP}(?:\s+(?:(?:of|for) )?{_CAP})*")
_WORD = re.compile(r"(?<![\w-])[^\W\d_]{9,}(?![\w-])")
_HEADING_MARKS = "#*_ \n\t"
# Capitalised words that label a page's apparatus rather than name anyone.
_NOT_NAMES = {"DOI", "ISSN", "ISBN", "URL", "PDF", "Issue", "Vol", "No", "Download", "Hent", "Læs"}
_NOT_NAMES |= {"The", "This", "That", "These", "An", "Den", "Det", "De", "Der", "Som"}


class StudyError(LookupError):
    """The scope names nothing in the store (or the bank); ``code`` says which part."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Scope:
    """What to study: a document (optionally one section of it) or a bank topic."""

    doc_id: str | None = None
    section: str | None = None
    topic: str | None = None
    language: Language | None = None


@dataclass
class Material:
    title: str
    kind: str  # document | section | topic
    language: Language
    spans: list[tuple[str, int, int]]  # (doc_id, start, end) of the material
    headings: list[tuple[str, str]] = field(default_factory=list)  # (heading, its language)
    bank_questions: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)


@dataclass
class Sentence:
    doc_id: str
    start: int
    end: int
    vector: np.ndarray
    section: str | None
    page: int | None


# -- the bank --------------------------------------------------------------------------------


def _bank_stamp() -> int:
    """Changes when a trainer edits the bank, so cached material follows the file."""
    try:
        return bank_path().stat().st_mtime_ns
    except OSError:
        return 0


def find_topic(name: str) -> dict[str, Any]:
    """A topic by its number (1-based) or its title in either language, case-insensitively."""
    wanted = name.strip().casefold()
    for topic in bank_topics():
        titles = {t.casefold() for t in topic["title"].values() if t}
        if wanted == str(topic["n"]) or wanted in titles:
            return topic
    raise StudyError(
        "topic_not_found",
        f"The question bank has no topic {name!r}; give a topic's title (Danish or English) "
        "or its number, as GET /api/study/topics lists them.",
    )


# -- building --------------------------------------------------------------------------------


_cache_lock = threading.Lock()
_answers: dict[tuple[Any, ...], Any] = {}
_results: dict[tuple[Any, ...], dict[str, Any]] = {}
_boilerplate = BoilerplateCache()
_CACHE_MAX = 512


def _remember(cache: dict, key: tuple, value: Any) -> Any:
    with _cache_lock:
        if len(cache) >= _CACHE_MAX:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


def build_study(assistant: Assistant, scope: Scope) -> dict[str, Any]:
    """Key points, FAQ and quiz for ``scope``; raises :class:`StudyError` for an unknown one.
    Blocking (it asks the assistant several questions): call it from a worker thread."""
    snap = assistant.reader.snapshot()
    key = (snap.key, scope, _bank_stamp())
    if key in _results:
        return _results[key]
    material = _material(assistant, snap, scope)
    sentences = _sentences(assistant, snap, material)
    key_points, centrality = _key_points(snap, sentences)
    faq = _faq(assistant, snap, material)
    if material.kind == "topic" and not faq:
        raise StudyError(
            "topic_unanswered",
            "The assistant could not answer any of this topic's questions from the current "
            "material, so there is nothing to study for it.",
        )
    quiz = _quiz(snap, sentences, centrality)
    result = {
        "scope": {
            "kind": material.kind,
            "title": material.title,
            "language": material.language,
            "doc_id": scope.doc_id,
            "section": scope.section,
            "topic": scope.topic,
            "documents": material.doc_ids,
        },
        "key_points": key_points,
        "faq": faq,
        "quiz": quiz,
    }
    return _remember(_results, key, result)


def _material(assistant: Assistant, snap: Snapshot, scope: Scope) -> Material:
    if scope.doc_id is not None:
        doc = snap.documents.get(scope.doc_id)
        if doc is None:
            raise StudyError(
                "document_not_found",
                f"No document has the id {scope.doc_id!r}; GET /api/documents lists them.",
            )
        language: Language = scope.language or ("en" if doc.language == "en" else "da")
        sections = snap.records.get_sections(doc.doc_id) if snap.records is not None else []
        text = snap.texts[doc.doc_id]
        questions = [q for t in bank_topics() for q in t["questions"][language]]
        if scope.section is None:
            return Material(
                doc.title,
                "document",
                language,
                [(doc.doc_id, 0, len(text))],
                headings=[(_last(s.heading), doc.language) for s in sections[1:]],
                bank_questions=questions,
                doc_ids=[doc.doc_id],
            )
        wanted = scope.section.strip().casefold()
        for s in sections:
            if wanted in (s.heading.casefold(), _last(s.heading).casefold(), str(s.seq)):
                inner = [
                    (_last(t.heading), doc.language)
                    for t in sections
                    if t.heading.startswith(s.heading + " > ") and t.start >= s.start
                ]
                return Material(
                    _last(s.heading),
                    "section",
                    language,
                    [(doc.doc_id, s.start, s.end)],
                    headings=[(_last(s.heading), doc.language), *inner],
                    bank_questions=questions,
                    doc_ids=[doc.doc_id],
                )
        raise StudyError(
            "section_not_found",
            f"The document {doc.doc_id!r} has no section {scope.section!r}; give a heading "
            "as GET /api/documents/{doc_id} lists it (the last part is enough).",
        )
    assert scope.topic is not None
    topic = find_topic(scope.topic)
    language = scope.language or "da"
    other = "en" if language == "da" else "da"
    questions = topic["questions"][language] or topic["questions"][other]
    # The topic's material is what its questions' answers cite: the chunks holding the quotes.
    spans: list[tuple[str, int, int]] = []
    for q in questions:
        answer = _ask(assistant, snap, q, language, None)
        for c in answer.citations if answer is not None else []:
            for chunk in map(snap.chunks.__getitem__, snap.chunks.of_document(c.doc_id)):
                if chunk.start <= c.start < chunk.end:
                    spans.append((chunk.doc_id, chunk.start, chunk.end))
    spans = sorted(set(spans))
    return Material(
        topic["title"][language] or topic["title"]["da"] or str(topic["n"]),
        "topic",
        language,
        spans,
        bank_questions=questions,
        doc_ids=sorted({d for d, _, _ in spans}),
    )


def _last(heading: str) -> str:
    return heading.split(" > ")[-1].strip()


def _sentences(assistant: Assistant, snap: Snapshot, material: Material) -> list[Sentence]:
    """The material's sentences that can be quoted: not chrome, boilerplate, an instruction,
    a heading, or a fragment; in document order, each once."""
    index = assistant.retriever.sentences.get(snap)
    plate = _boilerplate.get(snap)
    headings = {
        _last(h).casefold()
        for d in material.doc_ids
        for h in [s.heading for s in (snap.records.get_sections(d) if snap.records else [])]
    }
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    wanted = {d for d, _, _ in material.spans}
    chunks = [
        snap.chunks[cid] for doc_id in sorted(wanted) for cid in snap.chunks.of_document(doc_id)
    ]
    for chunk in chunks:
        text = snap.texts[chunk.doc_id]
        for start, end, vector in index.units(chunk.chunk_id):
            if not any(d == chunk.doc_id and s <= start and end <= e for d, s, e in material.spans):
                continue
            start, end = _trim(text, start, end)
            quote = text[start:end]
            if (chunk.doc_id, start) in seen or not _quotable(quote, headings, plate):
                continue
            seen.add((chunk.doc_id, start))
            out.append(Sentence(chunk.doc_id, start, end, vector, chunk.section, chunk.page))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _quotable(quote: str, headings: set[str], plate: Any) -> bool:
    if len(quote.split()) < MIN_WORDS or is_chrome(quote) or quote in plate:
        return False
    if is_injection(quote) or quote.strip(_HEADING_MARKS).casefold() in headings:
        return False
    return all(not is_chrome(line) for line in quote.splitlines() if line.strip())


def _prose(quote: str) -> bool:
    # A sentence ends with a full stop (perhaps inside a closing quote or bracket); a link
    # label ('Download "…"') or a lead-in ("…:") does not.
    end = quote.rstrip().rstrip('"”’)»')
    return end.endswith((".", "!", "?")) and not _LIST_MARK.match(quote)


def _citation(snap: Snapshot, s: Sentence, score: float, n: int = 1) -> dict[str, Any]:
    doc = snap.documents[s.doc_id]
    return Citation(
        n=n,
        doc_id=s.doc_id,
        title=doc.title,
        language=doc.language,
        section=s.section,
        page=s.page,
        quote=snap.texts[s.doc_id][s.start : s.end],
        start=s.start,
        end=s.end,
        score=round(score, 4),
    ).model_dump(mode="json")


def _key_points(
    snap: Snapshot, sentences: list[Sentence]
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    if not sentences:
        return [], {}
    vectors = np.stack([s.vector for s in sentences]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-6)
    mean = vectors.mean(axis=0)
    mean /= float(np.linalg.norm(mean)) or 1.0
    sims = vectors @ mean
    centrality = {i: float(sims[i]) for i in range(len(sentences))}
    chosen: list[int] = []
    # Prose sentences first: a list item or a lead-in ("… the following:") is central to its
    # list but says little alone; they fill in only when the material has too few sentences.
    prose = [_prose(snap.texts[s.doc_id][s.start : s.end]) for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (not prose[i], -sims[i]))
    for i in order:
        if all(float(vectors[i] @ vectors[j]) < NEAR_DUPLICATE for j in chosen):
            chosen.append(int(i))
        if len(chosen) >= KEY_POINTS:
            break
    points = [
        {
            "text": snap.texts[sentences[i].doc_id][sentences[i].start : sentences[i].end],
            "score": round(centrality[i], 4),
            "citation": _citation(snap, sentences[i], centrality[i]),
        }
        for i in chosen
    ]
    return points, centrality


def _ask(
    assistant: Assistant, snap: Snapshot, question: str, language: str, doc_ids: list[str] | None
) -> Any:
    """The assistant's answer (cached per store state), or None when it declined."""
    key = (snap.key, question, language, tuple(doc_ids or ()))
    if key in _answers:
        return _answers[key]
    filters = Filters(doc_ids=doc_ids) if doc_ids else None
    try:
        answer = assistant.ask(question, language=language, filters=filters)  # type: ignore[arg-type]
    except ValueError:
        answer = None
    if answer is not None and (answer.abstained or not answer.citations):
        answer = None
    if answer is not None and any(is_chrome(c.quote) for c in answer.citations):
        answer = None
    return _remember(_answers, key, answer)


def heading_question(heading: str, language: str) -> str:
    """A section heading as the question its section answers."""
    heading = heading.strip(_HEADING_MARKS + ":.")
    if heading.endswith("?"):
        return heading
    if not heading.isupper() and not heading[1:2].isupper():
        heading = heading[:1].lower() + heading[1:]
    if language == "da":
        return f"Hvad står der om {heading}?"
    return f"What does the material say about {heading}?"


def _faq(assistant: Assistant, snap: Snapshot, material: Material) -> list[dict[str, Any]]:
    asked: list[tuple[str, str, list[str] | None]] = []
    for q in material.bank_questions:
        asked.append((q, "question_bank", None))
    # A heading becomes a question in its own document's language (the answer comes in the
    # material's language either way).
    for h, lang in material.headings[:MAX_HEADING_QUESTIONS]:
        asked.append((heading_question(h, lang), "heading", material.doc_ids))
    faq: list[dict[str, Any]] = []
    seen: set[str] = set()
    for question, origin, doc_ids in asked:
        if question.casefold() in seen:
            continue
        seen.add(question.casefold())
        answer = _ask(assistant, snap, question, material.language, doc_ids)
        if answer is None:
            continue
        # A bank question belongs to a document's FAQ only when its answer's lead quotes it.
        lead = answer.citations[0]
        if material.kind != "topic" and not any(
            d == lead.doc_id and s <= lead.start < e for d, s, e in material.spans
        ):
            continue
        faq.append(
            {
                "question": question,
                "origin": origin,
                "answer": answer.answer,
                "citations": [c.model_dump(mode="json") for c in answer.citations],
            }
        )
    return faq


def _same_word(a: str, b: str) -> bool:
    a, b = a.casefold(), b.casefold()
    return a.startswith(b) or b.startswith(a) or a in b or b in a


@dataclass
class _Blank:
    kind: str  # number | name | term
    value: str
    start: int  # in the document
    end: int


def _blanks(text: str, s: Sentence, recurring: set[str]) -> list[_Blank]:
    quote = text[s.start : s.end]
    found: list[_Blank] = []
    for m in _NUMBER.finditer(quote):
        line_start = quote.rfind("\n", 0, m.start()) + 1
        if not quote[line_start : m.start()].strip(" \t(§"):
            continue  # a list's, section's or paragraph's numbering, not a figure of the text
        found.append(_Blank("number", m.group(), s.start + m.start(), s.start + m.end()))
    first_word = re.match(r"\W*\w+", quote)
    opening = first_word.end() if first_word else 0
    for m in _NAME.finditer(quote):
        line = quote[quote.rfind("\n", 0, m.start()) + 1 : m.start()]
        opens = m.start() < opening or not re.search(r"[^\W\d_]", line)
        if opens or quote[: m.start()].rstrip().endswith((".", ":", "!", "?")):
            continue  # a capital that opens a sentence or a line says nothing
        if quote[: m.start()].endswith("\n") or len(m.group()) < 3 or m.group() in _NOT_NAMES:
            continue
        if re.match(r"\.\s*\d", quote[m.end() :]):
            continue  # an abbreviation before a number ("Act No. 495"), not a name
        found.append(_Blank("name", m.group(), s.start + m.start(), s.start + m.end()))
    for m in _WORD.finditer(quote):
        if m.group().casefold() in recurring and m.group().islower():
            found.append(_Blank("term", m.group(), s.start + m.start(), s.start + m.end()))
    return found


def _quiz(
    snap: Snapshot, sentences: list[Sentence], centrality: dict[int, float]
) -> list[dict[str, Any]]:
    # Terms: long words that recur in the material (a word used once is rarely its subject).
    counts: Counter[str] = Counter()
    for s in sentences:
        counts.update({w.casefold() for w in _WORD.findall(snap.texts[s.doc_id][s.start : s.end])})
    recurring = {w for w, n in counts.items() if n >= 2}
    blanks = {i: _blanks(snap.texts[s.doc_id], s, recurring) for i, s in enumerate(sentences)}
    pool: dict[str, list[str]] = {}
    for found in blanks.values():
        for b in found:
            values = pool.setdefault(b.kind, [])
            if b.value.casefold() not in {v.casefold() for v in values}:
                values.append(b.value)
    prose = [_prose(snap.texts[s.doc_id][s.start : s.end]) for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: (not prose[i], -centrality.get(i, 0.0)))
    quiz: list[dict[str, Any]] = []
    used_kinds: Counter[str] = Counter()
    used_answers: set[str] = set()
    for i in order:
        if not prose[i]:
            continue  # list items and link labels make poor questions
        choices = [
            b
            for b in blanks[i]
            if b.value.casefold() not in used_answers
            and len([v for v in pool[b.kind] if v.casefold() != b.value.casefold()]) >= 2
        ]
        if not choices:
            continue
        # Vary the kinds: the least used kind first, then numbers, names, terms.
        rank = {"number": 0, "name": 1, "term": 2}
        blank = min(choices, key=lambda b: (used_kinds[b.kind], rank[b.kind], b.start))
        s = sentences[i]
        text = snap.texts[s.doc_id]
        # No option that is another form of the answer ("Socialstyrelsen" / "…styrelsens").
        others = []
        for v in pool[blank.kind]:
            if not any(_same_word(v, w) for w in [blank.value, *others]):
                others.append(v)
        if len(others) < 2:
            continue
        others = sorted(others, key=lambda v: (abs(len(v) - len(blank.value)), v))
        options = [blank.value, *others[: OPTIONS - 1]]
        options.sort(key=lambda v: hashlib.sha256(f"{s.start}:{v}".encode()).hexdigest())
        quiz.append(
            {
                "prompt": text[s.start : blank.start] + _BLANK + text[blank.end : s.end],
                "kind": blank.kind,
                "answer": blank.value,
                "options": options,
                "answer_start": blank.start,
                "answer_end": blank.end,
                "citation": _citation(snap, s, centrality.get(i, 0.0)),
            }
        )
        used_kinds[blank.kind] += 1
        used_answers.add(blank.value.casefold())
        if len(quiz) >= QUIZ_ITEMS:
            break
    return quiz
