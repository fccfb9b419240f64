"""The assistant: question -> checks -> hybrid retrieval -> composition -> verified answer.

Example:
    >>> import tempfile
    >>> from ingest.pipeline import Indexer
    >>> from ingest.settings import Settings
    >>> from assistant.pipeline import Assistant
    >>> settings = Settings(data_dir=tempfile.mkdtemp())
    >>> _ = Indexer(settings).run([settings.corpus_dir])
    >>> answer = Assistant(settings).ask("Hvilken paragraf i serviceloven gælder for bostøtte?")
    >>> answer.abstained, "85" in answer.answer
    (False, True)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.answer_model import AnswerModel
from assistant.composer import Composer, CompositionRequest, ExtractiveComposer
from assistant.conversation import search_text
from assistant.document_texts import SnapshotMoved
from assistant.glossary import Glossary
from assistant.guard import contains_cpr, mask_cpr, question_language, validate_question
from assistant.models import Answer, Citation, Filters, Language, Passage, Turn
from assistant.retriever import HybridRetriever, query_terms
from assistant.sentence_index import SentenceIndexCache
from assistant.source_cards import SourceCardsCache
from assistant.store_reader import Snapshot, StoreReader
from ingest.embeddings import make_embeddings
from ingest.settings import Settings, get_settings

log = logging.getLogger("kva.assistant")

# Tries of one question when ingestion commits while it is answered (SnapshotMoved).
_ATTEMPTS = 3

_UNSUPPORTED = (
    "Only Danish and English are supported; please ask in one of them. / "
    "Kun dansk og engelsk understøttes; stil venligst spørgsmålet på et af dem."
)
_PERSONAL_DATA = {
    "da": "Spørgsmålet ser ud til at indeholde et CPR-nummer. Skriv ikke personoplysninger om "
    "borgere i assistenten.",
    "en": "The question seems to contain a CPR number. Do not enter personal data about "
    "citizens into the assistant.",
}


class CitationError(AssertionError):
    """A composer produced a quote that is not an exact span of its source: a bug."""


class Assistant:
    """Answers questions from the ingested store. Thread-safe; load once, ask many times."""

    def __init__(
        self,
        settings: Settings | None = None,
        composer: Composer | None = None,
        k: int | None = None,
    ) -> None:
        if k is not None and k < 1:
            raise ValueError("k must be >= 1")
        self.settings = settings or get_settings()
        self.embeddings = make_embeddings(self.settings)
        self.reader = StoreReader(self.settings)
        self.glossary = Glossary.load()
        model = getattr(composer, "model", None)
        model = model if isinstance(model, AnswerModel) else AnswerModel.for_settings(self.settings)
        fitted_with = model.provenance.get("lexicon")
        if fitted_with and fitted_with != self.glossary.lexicon.description:
            log.warning(
                "the answer model was fitted with the dictionaries %s but %s are loaded: "
                "answers will differ from the reported figures (run scripts/setup.sh)",
                fitted_with,
                self.glossary.lexicon.description,
            )
        k = k or model.passages
        self.retriever = HybridRetriever(
            reader=self.reader,
            embeddings=self.embeddings,
            glossary=self.glossary,
            k=k,
            sentences=SentenceIndexCache(),
            sources=SourceCardsCache(),
            fusion=model.fusion,
        )
        if composer is None and self.settings.composer == "generative":
            from assistant.generative.composer import make_composer

            composer = make_composer(self.settings, self.embeddings)
        self.composer = composer or ExtractiveComposer(model)
        self.model = model
        self.k = k
        # Open the store and build the sentence matrix, the source cards and the boilerplate
        # lines now, not inside the first question; and for each new generation a replica
        # prepares beside the one it serves.
        self.reader.warmers.append(self.warm)
        self.refresh()
        # Load the language models now rather than inside the first question's latency.
        question_language("Hvad er kvalitet på botilbud?")

    @property
    def ready(self) -> bool:
        """Models loaded and the store opened (an empty store is ready: it just abstains)."""
        try:
            self.reader.snapshot()
        except Exception:  # noqa: BLE001 - any failure to open the store means not ready
            return False
        return True

    @property
    def composer_name(self) -> str:
        """Which composer answers: ``extractive`` or ``generative``."""
        return getattr(self.composer, "name", "extractive")

    @property
    def store_problem(self) -> str | None:
        """Why the store failed its check, or None; the API is not ready while it fails."""
        try:
            return self.reader.problem()
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"

    @property
    def empty(self) -> bool:
        return self.reader.snapshot().chunk_count == 0

    def refresh(self) -> None:
        self.warm(self.reader.snapshot())

    def warm(self, snap: Snapshot) -> None:
        """Build what a question on ``snap`` needs: its sentence index, source cards,
        boilerplate lines and the dense ranking's language background (a replica does it for
        a new generation before serving it)."""
        snap.background_vectors()
        self.retriever.sentences.get(snap)
        self.retriever.sources.get(snap)
        if isinstance(self.composer, ExtractiveComposer):
            self.composer.boilerplate.get(snap)

    def search(self, query: str, *, k: int = 8, filters: Filters | None = None) -> list[Passage]:
        query = validate_question(query, self.settings.max_question_chars)
        language = question_language(query)
        terms = query_terms(query, language, self.glossary)
        return self.retriever.search(query, terms, k=k, filters=filters).passages

    def prepare(
        self,
        question: str,
        *,
        language: Language | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Prepared | Answer:
        """Check the question and retrieve: the request a composer answers, or the answer
        itself when there is nothing to compose (a question in a third language)."""
        started = time.perf_counter()
        question = validate_question(question, self.settings.max_question_chars)
        # Bounded here too (the CLI and library callers have no API in front): only recent
        # turns matter, and an earlier question is read no further than a question would be.
        # A CPR number is masked in every turn: its digits would be read as numbers the
        # question asks about (and could be echoed into the answer); no answer needs them.
        limit = self.settings.max_question_chars
        history = [
            Turn(role=t.role, content=mask_cpr(t.content)[:limit])
            for t in (history or [])[-self.settings.max_history_turns :]
            if t.role == "user"
        ]
        earlier_lang = next(
            (question_language(t.content) for t in reversed(history) if t.role == "user"), None
        )
        detected = question_language(question, fallback=earlier_lang)
        warnings = []
        if contains_cpr(question):
            warnings.append(_PERSONAL_DATA[language or ("en" if detected == "en" else "da")])
        question = mask_cpr(question)
        if detected == "other" and language is None:
            return Answer(
                answer=_UNSUPPORTED,
                language="en",
                abstained=True,
                warnings=warnings,
                timings_ms={"total": _ms(started)},
            )
        answer_language: Language = language or ("en" if detected == "en" else "da")
        term_language = detected if detected in ("da", "en") else answer_language

        text, earlier = search_text(question, history)
        terms = query_terms(question, term_language, self.glossary)
        if earlier:
            terms = query_terms(
                earlier,
                question_language(earlier, term_language),
                self.glossary,
                weight=0.5,
                terms=terms,
            )
        t0 = time.perf_counter()
        vector = self.embeddings.embed_query(text)
        # Sentences are ranked against the question itself, not the follow-up's search text.
        question_vector = vector if text == question else self.embeddings.embed_query(question)
        t1 = time.perf_counter()
        retrieval = self.retriever.search(text, terms, k=self.k, filters=filters, vector=vector)
        t2 = time.perf_counter()
        request = CompositionRequest(
            question,
            answer_language,
            terms,
            retrieval,
            question_vector,
            None if vector is question_vector else vector,
        )
        timings = {"embed": round((t1 - t0) * 1000, 2), "search": round((t2 - t1) * 1000, 2)}
        return Prepared(request, warnings, timings, started)

    def ask(
        self,
        question: str,
        *,
        language: Language | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        for attempt in range(_ATTEMPTS):
            try:
                return self._ask(question, language=language, history=history, filters=filters)
            except SnapshotMoved:
                # A large store's text was read after ingestion committed: the next attempt
                # gets the new snapshot.
                if attempt + 1 == _ATTEMPTS:
                    raise
                log.info("the store moved on while answering; asking again")
                # A replica preparing the new generation beside the old one: wait for it.
                self.reader.settle()
        raise AssertionError("unreachable")

    def _ask(
        self,
        question: str,
        *,
        language: Language | None,
        history: list[Turn] | None,
        filters: Filters | None,
    ) -> Answer:
        prepared = self.prepare(question, language=language, history=history, filters=filters)
        if isinstance(prepared, Answer):
            return prepared
        t2 = time.perf_counter()
        composition = self.composer.run(prepared.request)
        t3 = time.perf_counter()
        retrieval = prepared.request.retrieval
        _verify(composition.citations, retrieval.snapshot.texts)
        return Answer(
            answer=composition.answer,
            language=prepared.request.language,  # type: ignore[arg-type]
            abstained=composition.abstained,
            citations=composition.citations,
            related=composition.related,
            warnings=prepared.warnings,
            other_versions=composition.other_versions,
            composer=composition.composer,
            fell_back=composition.fell_back,
            fallback_reason=composition.fallback_reason,
            verification=composition.verification,
            degraded=retrieval.degraded,
            timings_ms={
                **prepared.timings_ms,
                "compose": round((t3 - t2) * 1000, 2),
                "total": _ms(prepared.started),
            },
        )


@dataclass
class Prepared:
    """A checked question with its retrieval, ready for a composer."""

    request: CompositionRequest
    warnings: list[str]
    timings_ms: dict[str, float]
    started: float


def _verify(citations: list[Citation], texts: Mapping[str, str]) -> None:
    for c in citations:
        source = texts.get(c.doc_id)
        if source is None or source[c.start : c.end] != c.quote:
            raise CitationError(f"citation [{c.n}] is not an exact span of {c.doc_id}")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
