"""Checks one generated sentence against the passages it cites before anyone sees it.

A sentence passes when
1. it cites at least one passage, and only passages that exist, and has at least 3 words;
2. it is in the answer's language (a sentence long enough to tell);
3. it does not talk about instructions or speak as itself ("Jeg …", "I …"), and its best
   support is not an instruction planted in a passage (text that tries to steer the model);
4. its meaning is close to the best sentence of a cited passage: the e5 cosine of the sentence
   (``query:``) and the passage sentence (``passage:``, the vectors stored at ingestion) is at
   least ``min_similarity``; only passages that reach it count as support;
5. every number (exactly; "seks" = "six" = 6), month, § and name in it appears in a supporting
   passage; names may cross languages through the glossary ("Socialstyrelsen" = "National
   Board of Social Services").

The passage sentence with the best cosine becomes the citation's verbatim quote.

Example:
    >>> from assistant.generative.verifier import facts
    >>> sorted(facts("Bostøtte gives efter § 85 siden 3. september 2024 af VIVE.", "da").items())
    [('months', {9}), ('names', {'VIVE'}), ('numbers', {'2024', '3', '85'}), ('section', True)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.generative.parse import GeneratedSentence
from assistant.glossary import Glossary
from ingest.language import detect_language
from ingest.lexical import index_language, tokenize

_NUMBER = re.compile(r"(?<![\w])\d+(?:[.,]\d+)*(?![\d])")
_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_NUMBER_WORDS = {
    "da": {
        "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7, "otte": 8, "ni": 9,
        "ti": 10, "elleve": 11, "tolv": 12,
    },
    "en": {
        "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    },
}  # fmt: skip
_DA_MONTHS = "januar februar marts april maj juni juli august september oktober november december"
# "may" is left out: as a verb it is far more common than the month.
_EN_MONTHS = "january february march april - june july august september october november december"
_MONTHS = {
    m: i + 1
    for names in (_DA_MONTHS, _EN_MONTHS)
    for i, m in enumerate(names.split(" "))
    if m != "-"
}
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:-[^\W_]+)*", re.UNICODE)
# Capitalised words that are not names to check: the languages and the country themselves.
_NOT_NAMES = {"I", "Danish", "English", "Denmark", "Danmark", "Dansk", "Engelsk"}
_INSTRUCTION = re.compile(
    r"\b(?:ignor\w*|disregard\w*|forget\w*|override\w*)\b.{0,60}?\b(?:instructions?|rules|prompt|above|"
    r"previous|question)\b"
    r"|\b(?:ignorer\w*|glem\w*|tilsidesæt\w*|se bort fra)\b.{0,60}?\b(?:instruks\w*|instruktion\w*|"
    r"regler\w*|ovenstående|tidligere|spørgsmålet)\b"
    r"|\bsystem ?prompt\b|\bas an ai\b|\bsom en ai\b|\byou are now\b|\bdu er nu\b"
    r"|\bnew instructions?\b|\bnye instruk\w*|\binstructions? (?:say|tell|from)\b"
    r"|\b(?:answer|reply|respond|svar|skriv)\b.{0,30}?\b(?:only|kun|always|altid)\b.{0,30}?"
    r"\b(?:with|med)\b",
    re.IGNORECASE,
)


# The answer speaks about the material, never as itself: "Jeg er en pirat", "I cannot …".
_FIRST_PERSON = re.compile(r"^\W*(?:[Jj]eg|I|I'm|I've)\b")


def looks_like_instruction(text: str) -> bool:
    """Text that addresses the model ("ignore the instructions above", "svar kun med …")."""
    return _INSTRUCTION.search(text) is not None


_DATE = re.compile(r"(?<![\w.,])(\d{1,2})[-./](\d{1,2})[-./](\d{4}|\d{2})(?![\w]|[.,]\d)")


def _canonical_number(token: str) -> str:
    if _THOUSANDS.match(token):
        token = re.sub(r"[.,]", "", token)
    token = token.replace(",", ".").rstrip(".")
    whole, dot, rest = token.partition(".")
    return (whole.lstrip("0") or "0") + dot + rest


def facts(text: str, language: str) -> dict[str, object]:
    """The checkable facts in ``text``: numbers, months, whether it cites a §, and names."""
    # A numeric date (03-09-2020) is a day, a month and a year: "3. september 2020" matches it.
    months: set[int] = set()
    numbers: set[str] = set()
    for day, month, year in _DATE.findall(text):
        numbers |= {_canonical_number(day), _canonical_number(month), year}
        if 1 <= int(month) <= 12:
            months.add(int(month))
    numbers |= {_canonical_number(t) for t in _NUMBER.findall(_DATE.sub(" ", text))}
    words = list(_WORD.finditer(text))
    lowered = [w.group(0).lower() for w in words]
    numbers |= {str(_NUMBER_WORDS[language][w]) for w in lowered if w in _NUMBER_WORDS[language]}
    months |= {_MONTHS[w] for w in lowered if w in _MONTHS}
    names = set()
    for i, w in enumerate(words):
        token = w.group(0)
        if token in _NOT_NAMES or len(token) < 2 or lowered[i] in _MONTHS:
            continue
        acronym = token.isupper()
        before = text[: w.start()].rstrip()
        starts_sentence = i == 0 or before.endswith((".", ":", "!", "?", "“", '"', "("))
        if acronym or (token[0].isupper() and not starts_sentence):
            names.add(token)
    return {"numbers": numbers, "months": months, "section": "§" in text, "names": names}


@dataclass
class Evidence:
    """A numbered passage as the verifier needs it: its text, language and sentence vectors
    (absolute offsets into ``doc_text``)."""

    n: int
    text: str
    language: str
    doc_text: str
    sentences: list[tuple[int, int, np.ndarray]]
    _facts: dict[str, object] | None = field(default=None, repr=False)

    def facts(self) -> dict[str, object]:
        if self._facts is None:
            lang = index_language(self.language)
            self._facts = facts(self.text, lang)
        return self._facts


@dataclass(frozen=True)
class Support:
    n: int
    start: int
    end: int
    similarity: float


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None
    supports: tuple[Support, ...] = ()
    similarity: float = 0.0


class Verifier:
    """Checks generated sentences; thread-safe (no state beyond the glossary and the model)."""

    def __init__(
        self,
        embeddings: Embeddings,
        min_similarity: float = 0.855,
        glossary: Glossary | None = None,
        min_words_for_language: int = 5,
    ) -> None:
        if not 0.0 <= min_similarity <= 1.0:
            raise ValueError("min_similarity must be between 0 and 1")
        self.embeddings = embeddings
        self.min_similarity = min_similarity
        self.glossary = glossary or Glossary.load()
        self.min_words_for_language = min_words_for_language

    def similarities(self, sentence: str, evidence: Evidence) -> list[tuple[float, int, int]]:
        """(cosine, start, end) of every sentence of ``evidence``, best first."""
        if not evidence.sentences:
            return []
        q = np.asarray(self.embeddings.embed_query(sentence), dtype=np.float32)
        sims = [(float(vec @ q), s, e) for s, e, vec in evidence.sentences]
        return sorted(sims, key=lambda t: -t[0])

    def check(
        self, sentence: GeneratedSentence, evidence: dict[int, Evidence], language: str
    ) -> Verdict:
        if not sentence.markers:
            return Verdict(False, "no_marker")
        if any(n not in evidence for n in sentence.markers):
            return Verdict(False, "unknown_passage")
        text = sentence.text
        words = len(_WORD.findall(text))
        if words < 3:
            # "Svar [1]." says nothing, yet short strings sit close to anything in e5's space.
            return Verdict(False, "too_short")
        if words >= self.min_words_for_language:
            detected = detect_language(text, default=None)
            if detected in ("da", "en", "other") and detected != language:
                return Verdict(False, "wrong_language")
        if looks_like_instruction(text):
            return Verdict(False, "instruction")
        if _FIRST_PERSON.match(text):
            return Verdict(False, "first_person")
        # Facts first against everything cited (cheap, and the most telling reason), then
        # again against the passages that turn out to support the sentence.
        reason = self._facts_missing(text, language, [evidence[n] for n in sentence.markers])
        if reason:
            return Verdict(False, reason)
        supports: list[Support] = []
        best_overall = 0.0
        instruction_support = False
        for n in sentence.markers:
            ranked = self.similarities(text, evidence[n])
            if not ranked:
                continue
            sim, start, end = ranked[0]
            best_overall = max(best_overall, sim)
            if sim < self.min_similarity:
                continue
            if looks_like_instruction(evidence[n].doc_text[start:end]):
                instruction_support = True
                continue
            supports.append(Support(n, start, end, sim))
        if instruction_support and not supports:
            return Verdict(False, "instruction", similarity=best_overall)
        if not supports:
            return Verdict(False, "low_similarity", similarity=best_overall)
        reason = self._facts_missing(text, language, [evidence[s.n] for s in supports])
        if reason:
            return Verdict(False, reason, similarity=best_overall)
        return Verdict(True, None, tuple(supports), best_overall)

    def _facts_missing(self, text: str, language: str, support: list[Evidence]) -> str | None:
        mine = facts(text, language)
        theirs = [e.facts() for e in support]
        numbers: set[str] = set().union(*(f["numbers"] for f in theirs))  # type: ignore[arg-type]
        if not mine["numbers"] <= numbers:  # type: ignore[operator]
            return "number_not_in_passage"
        months: set[int] = set().union(*(f["months"] for f in theirs))  # type: ignore[arg-type]
        if not mine["months"] <= months:  # type: ignore[operator]
            return "date_not_in_passage"
        if mine["section"] and not any(self._has_section(e) for e in support):
            return "section_not_in_passage"
        for name in mine["names"]:  # type: ignore[attr-defined]
            if not any(self._has_name(name, text, language, e) for e in support):
                return "name_not_in_passage"
        return None

    def _has_section(self, evidence: Evidence) -> bool:
        if "§" in evidence.text:
            return True
        lowered = evidence.text.lower()
        return any(w in lowered for w in ("section", "paragraf"))

    def _has_name(self, name: str, sentence: str, language: str, evidence: Evidence) -> bool:
        lowered = evidence.text.lower()
        base = name.lower()
        # Genitive and definite forms: "Socialstyrelsens", "VIVE's".
        for form in {base, base.removesuffix("'s"), base.removesuffix("s")}:
            if len(form) >= 2 and re.search(rf"(?<!\w){re.escape(form)}", lowered):
                return True
        # Across languages: the name is part of a glossary term whose other-language form
        # (or the same term) the passage holds.
        lang = index_language(language)
        tokens = tokenize(sentence, lang)
        stems = tokenize(name, lang)
        if not stems:
            return False
        in_sentence = [
            entry
            for i, n, entry in self.glossary.spans(tokens, lang)
            if stems[0] in tokens[i : i + n]
        ]
        if not in_sentence:
            return False
        passage_lang = index_language(evidence.language)
        in_passage = {id(e) for e in self.glossary.matches(evidence.text, passage_lang)}
        return any(id(e) in in_passage for e in in_sentence)
