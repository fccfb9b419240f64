"""The generative composer: the organisation's own language model writes the answer, every
sentence is verified against the passage it cites, and the extractive answer is the fallback.

Order of work: the extractive composer runs first (retrieval, the abstention decision and its
sentence selection are shared), so a question the material does not cover never reaches the
model. Then the model gets the numbered passages and the question, its reply is parsed into
sentences, and each sentence is checked (:mod:`assistant.generative.verifier`). Sentences that
fail are dropped; when too few survive, or the model cannot be reached, times out, is rate
limited, ignores the format or answers in the wrong language, the extractive answer is returned
with ``fell_back=True`` and a ``fallback_reason``, and one log line says why.

Example (a scripted fake model; any LangChain chat model works)::

    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    model = GenericFakeChatModel(messages=iter([AIMessage("Bostøtte gives efter § 85 [1].")]))
    composer = GenerativeComposer(model, embeddings)
    composition = composer.run(request)      # request: assistant.composer.CompositionRequest
    composition.composer, composition.fell_back
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from assistant.answer_model import AnswerModel
from assistant.composer import Composer, Composition, CompositionRequest, ExtractiveComposer
from assistant.generative.parse import ParseError, parse_reply
from assistant.generative.prompt import NumberedPassage, build_messages
from assistant.generative.verifier import Evidence, Verdict, Verifier
from assistant.models import Citation, Passage
from ingest.language import detect_language

if TYPE_CHECKING:
    from ingest.settings import Settings

log = logging.getLogger("kva.generative")


def failure_reason(exc: BaseException) -> str:
    """A short, stable code for why the model call failed (for the answer JSON and logs)."""
    import httpx
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return "llm_timeout"
    if isinstance(exc, openai.RateLimitError):
        return "llm_rate_limited"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return "llm_unavailable"
    return "llm_error"


class GenerativeComposer:
    """Composer protocol: ``run(CompositionRequest) -> Composition``."""

    name = "generative"

    def __init__(
        self,
        chat_model: BaseChatModel,
        embeddings: Embeddings,
        *,
        extractive: Composer | None = None,
        verifier: Verifier | None = None,
        max_passages: int = 5,
        max_sentences: int = 4,
        min_kept_share: float = 0.5,
        max_reply_chars: int = 4000,
    ) -> None:
        if not 1 <= max_passages <= 20:
            raise ValueError("max_passages must be between 1 and 20")
        if not 0.0 < min_kept_share <= 1.0:
            raise ValueError("min_kept_share must be in (0, 1]")
        self.chat_model = chat_model
        self.extractive = extractive or ExtractiveComposer()
        self.verifier = verifier or Verifier(embeddings)
        self.max_passages = max_passages
        self.max_sentences = max_sentences
        self.min_kept_share = min_kept_share
        self.max_reply_chars = max_reply_chars

    def run(self, request: CompositionRequest) -> Composition:
        base = self.extractive.run(request)
        if base.abstained:
            # The shared abstention decision: the model is not asked about what is not there.
            return dataclasses.replace(base, composer=self.name)
        try:
            return self._generate(request, base)
        except Exception as exc:  # noqa: BLE001 - a bug here must cost the answer, not a 500
            log.exception("generative composer failed")
            return self._fall_back(base, "internal_error", f"{type(exc).__name__}: {exc}")

    def _generate(self, request: CompositionRequest, base: Composition) -> Composition:
        passages = self._passages(request, base)
        evidence = self._evidence(request, passages)
        messages = build_messages(
            request.question,
            request.language,
            [NumberedPassage(n, p.title, p.text) for n, p in enumerate(passages, 1)],
            self.max_sentences,
        )
        started = time.perf_counter()
        try:
            reply = self.chat_model.invoke(messages)
        except Exception as exc:  # noqa: BLE001 - any failure of the model means: fall back
            return self._fall_back(base, failure_reason(exc), f"{type(exc).__name__}: {exc}")
        llm_ms = round((time.perf_counter() - started) * 1000, 1)
        raw = reply.content if isinstance(reply.content, str) else str(reply.content)
        info: dict[str, Any] = {"llm_ms": llm_ms, "reply_chars": len(raw)}
        if len(raw) > self.max_reply_chars:
            return self._fall_back(base, "format_ignored", "reply too long", info)
        try:
            parsed = parse_reply(raw)
        except ParseError as exc:
            return self._fall_back(base, "format_ignored", str(exc), info)
        if parsed.abstained:
            return self._fall_back(base, "model_abstained", "the model found no answer", info)
        verdicts = [
            (s, self.verifier.check(s, evidence, request.language)) for s in parsed.sentences
        ]
        kept = [(s, v) for s, v in verdicts if v.ok]
        info.update(
            sentences=len(verdicts),
            kept=len(kept),
            dropped=[v.reason for _, v in verdicts if not v.ok],
            similarities=[round(v.similarity, 4) for _, v in verdicts],
        )
        if not any(s.markers for s in parsed.sentences):
            return self._fall_back(base, "format_ignored", "no [n] markers", info)
        if _wrong_language(parsed.sentences, request.language):
            return self._fall_back(base, "wrong_language", "reply not in the asked language", info)
        if not kept or len(kept) < self.min_kept_share * len(verdicts):
            return self._fall_back(
                base, "too_little_verified", f"{len(kept)}/{len(verdicts)} sentences kept", info
            )
        if len(kept) < len(verdicts):
            log.info("generative answer: dropped sentences", extra={"verification": info})
        return self._compose(request, base, passages, evidence, kept, info)

    # --- steps --------------------------------------------------------------------------
    def _passages(self, request: CompositionRequest, base: Composition) -> list[Passage]:
        """The top retrieved passages, always including those the extractive answer cites."""
        retrieved = request.retrieval.passages
        chosen = list(retrieved[: self.max_passages])
        for c in base.citations:
            if not any(p.doc_id == c.doc_id and p.start <= c.start < p.end for p in chosen):
                extra = next(
                    (p for p in retrieved if p.doc_id == c.doc_id and p.start <= c.start < p.end),
                    None,
                )
                if extra is not None:
                    chosen.append(extra)
        return chosen

    def _evidence(
        self, request: CompositionRequest, passages: list[Passage]
    ) -> dict[int, Evidence]:
        snap = request.retrieval.snapshot
        vectors = snap.unit_vectors([p.chunk_id for p in passages])
        return {
            n: Evidence(
                n=n,
                text=p.text,
                language=p.language,
                doc_text=snap.texts[p.doc_id],
                sentences=vectors.get(p.chunk_id, []),
            )
            for n, p in enumerate(passages, 1)
        }

    def _compose(
        self,
        request: CompositionRequest,
        base: Composition,
        passages: list[Passage],
        evidence: dict[int, Evidence],
        kept: list[tuple[Any, Verdict]],
        info: dict[str, Any],
    ) -> Composition:
        citations: list[Citation] = []
        numbers: dict[tuple[str, int, int], int] = {}
        parts: list[str] = []
        for sentence, verdict in kept:
            marks = []
            for s in verdict.supports:
                p = passages[s.n - 1]
                key = (p.doc_id, s.start, s.end)
                if key not in numbers:
                    numbers[key] = len(citations) + 1
                    citations.append(
                        Citation(
                            n=numbers[key],
                            doc_id=p.doc_id,
                            title=p.title,
                            language=p.language,
                            section=p.section,
                            page=p.page,
                            quote=evidence[s.n].doc_text[s.start : s.end],
                            start=s.start,
                            end=s.end,
                            score=round(s.similarity, 4),
                        )
                    )
                if numbers[key] not in marks:
                    marks.append(numbers[key])
            parts.append(sentence.text + " " + "".join(f"[{m}]" for m in marks))
        return dataclasses.replace(
            base,
            answer=" ".join(parts),
            citations=citations,
            composer=self.name,
            fell_back=False,
            fallback_reason=None,
            verification=info,
        )

    def _fall_back(
        self, base: Composition, reason: str, detail: str, info: dict[str, Any] | None = None
    ) -> Composition:
        log.warning(
            "generative answer fell back to the extractive one",
            extra={"reason": reason, "detail": detail[:300]},
        )
        return dataclasses.replace(
            base,
            composer=self.name,
            fell_back=True,
            fallback_reason=reason,
            verification=info,
        )


def _wrong_language(sentences: list[Any], language: str) -> bool:
    """The reply as a whole reads as another language (a model that ignored the rule)."""
    text = " ".join(s.text for s in sentences)
    if len(text.split()) < 6:
        return False
    detected = detect_language(text, default=None)
    return detected is not None and detected != language


def make_chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` for any OpenAI-compatible server (Azure OpenAI, vLLM, Ollama, llama.cpp)."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "",
        # Local servers want no key, but the client insists on one.
        api_key=settings.llm_api_key or SecretStr("not-needed"),
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        # As ``max_tokens``: ChatOpenAI would send ``max_completion_tokens``, which vLLM, Ollama
        # and llama.cpp servers of 2025 ignore (and then write until the context is full).
        extra_body={"max_tokens": settings.llm_max_tokens},
        temperature=settings.llm_temperature,
        streaming=settings.llm_stream,
    )


def make_composer(settings: Settings, embeddings: Embeddings) -> Composer:
    """The composer the settings ask for (``KVA_COMPOSER``)."""
    if settings.composer == "generative":
        return GenerativeComposer(
            make_chat_model(settings),
            embeddings,
            extractive=ExtractiveComposer(AnswerModel.for_settings(settings)),
            verifier=Verifier(embeddings, min_similarity=settings.llm_min_similarity),
        )
    return ExtractiveComposer(AnswerModel.for_settings(settings))
