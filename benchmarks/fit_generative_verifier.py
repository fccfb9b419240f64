"""Fit the generative verifier's similarity threshold (``KVA_LLM_MIN_SIMILARITY``) on suites.

The verifier keeps a generated sentence only when its e5 cosine (``query:`` prefix) to the best
sentence of a cited passage (``passage:`` vectors stored at ingestion) reaches a threshold. No
language model is needed to fit it: for every answerable case the extractive answer's cited
sentences stand in for faithful generated sentences, and the same sentences set against
passages that do not say them stand in for unfaithful ones.

- positives: the cited sentence itself (a faithful restatement), its first 60 % of words
  (a faithful but compressed sentence) and, where the corpus holds a translation of its
  document, the corresponding sentence of the translation (a faithful sentence in the other
  language) and its first 60 % (compressed and in the other language: what a generated
  cross-lingual answer looks like, the hardest case), each against the passage the sentence
  came from;
- negatives: the cited sentence against the best other-document passage among the retrieved
  ones (a plausible wrong citation, the hard case) and against the cited passage of an
  unrelated case (a claim the passage does not make).

It prints the score distributions, the pass/reject rates per threshold, the threshold with the
best balanced accuracy of the positives (compressed and translated) against the wrong-citation
negatives, and the recommendation: the highest threshold that keeps ``--keep`` (80 %) of each
kind of faithful sentence. A dropped faithful sentence costs fluency, since the extractive
answer is still right; a kept unsupported one costs trust.

    python benchmarks/fit_generative_verifier.py [--suite FILE ...] [--corpus DIR] [--data-dir DIR]

Without arguments: the bundled suites over ``corpus/``. With the development material:
``--suite ../shared/…/social-dev-tune.yaml --corpus ../shared/corpora/social-dev``. Missing
suites or corpus folders are skipped with a message (exit 0), so the script runs anywhere.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from assistant.composer import Composition, CompositionRequest, ExtractiveComposer
from assistant.generative.verifier import Evidence, Verifier
from assistant.models import Turn
from assistant.pipeline import Assistant
from evals.suite import load_suites
from ingest.pipeline import Indexer
from ingest.settings import PROJECT_ROOT, Settings


class _Recording(ExtractiveComposer):
    def run(self, request: CompositionRequest) -> Composition:
        self.request = request
        return super().run(request)


def _plain(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(re.sub(r"^[#>*\-•\s]+", "", line) for line in text.splitlines()).strip()


def _evidence(request: CompositionRequest, passage) -> Evidence:  # noqa: ANN001
    snap = request.retrieval.snapshot
    vectors = snap.unit_vectors([passage.chunk_id]).get(passage.chunk_id, [])
    return Evidence(0, passage.text, passage.language, snap.texts[passage.doc_id], vectors)


def _best(verifier: Verifier, cache: dict[str, np.ndarray], text: str, ev: Evidence) -> float:
    """The verifier's measure (best sentence cosine), each text embedded once."""
    if text not in cache:
        cache[text] = np.asarray(verifier.embeddings.embed_query(text), dtype=np.float32)
    return max((float(v @ cache[text]) for _, _, v in ev.sentences), default=0.0)


def _translation(request, doc_id: str, start: int, end: int, own: Evidence) -> str | None:  # noqa: ANN001
    """The sentence of the document's translation that corresponds to the cited one (the
    closest by passage vectors): a faithful sentence in the other language."""
    snap = request.retrieval.snapshot
    doc = snap.documents.get(doc_id)
    mine = next((v for s, e, v in own.sentences if s <= start < e), None)
    if doc is None or mine is None or not doc.translations:
        return None
    other = doc.translations[0]
    chunk_ids = [cid for cid, ch in snap.chunks.items() if ch.doc_id == other]
    units = [u for us in snap.unit_vectors(chunk_ids).values() for u in us]
    if not units:
        return None
    s, e, _ = max(units, key=lambda u: float(u[2] @ mine))
    text = _plain(snap.texts[other][s:e])
    return text if len(text.split()) >= 6 else None


def collect(assistant: Assistant, composer: _Recording, suites: list) -> dict[str, list[float]]:
    verifier = Verifier(assistant.embeddings)
    scores: dict[str, list[float]] = {
        "verbatim": [],
        "compressed": [],
        "translated": [],
        "translated_short": [],
        "wrong": [],
        "unrelated": [],
    }
    cache: dict[str, np.ndarray] = {}
    cited: list[tuple[str, str, Evidence]] = []  # (case id, doc id, evidence) per case
    claims: list[tuple[str, str, str]] = []  # (case id, doc id, sentence)
    for suite in suites:
        for case in suite.cases:
            if case.must_abstain:
                continue
            history = [Turn(role=t.role, content=t.content) for t in case.history]
            answer = assistant.ask(case.question, language=case.language, history=history)
            if answer.abstained or not answer.citations:
                continue
            request = composer.request
            for c in answer.citations[:2]:
                passage = next(
                    (
                        p
                        for p in request.retrieval.passages
                        if p.doc_id == c.doc_id and p.start <= c.start < p.end
                    ),
                    None,
                )
                sentence = _plain(c.quote)
                words = sentence.split()
                if passage is None or len(words) < 6:
                    continue
                own = _evidence(request, passage)
                best = functools.partial(_best, verifier, cache)
                scores["verbatim"].append(best(sentence, own))
                scores["compressed"].append(
                    best(" ".join(words[: max(4, len(words) * 6 // 10)]), own)
                )
                translated = _translation(request, c.doc_id, c.start, c.end, own)
                if translated:
                    scores["translated"].append(best(translated, own))
                    t_words = translated.split()
                    scores["translated_short"].append(
                        best(" ".join(t_words[: max(4, len(t_words) * 6 // 10)]), own)
                    )
                others = [p for p in request.retrieval.passages if p.doc_id != c.doc_id]
                if others:
                    scores["wrong"].append(
                        max(best(sentence, _evidence(request, p)) for p in others)
                    )
                cited.append((case.id, c.doc_id, own))
                claims.append((case.id, c.doc_id, sentence))
    # Unrelated: each claim against the cited passage of a case about another document.
    for i, (case_id, doc_id, sentence) in enumerate(claims):
        for j in range(1, len(cited)):
            other_case, other_doc, ev = cited[(i + j) % len(cited)]
            if other_doc != doc_id and other_case != case_id:
                scores["unrelated"].append(_best(verifier, cache, sentence, ev))
                break
    return scores


def report(scores: dict[str, list[float]], keep: float = 0.8) -> float | None:
    for name, values in scores.items():
        if values:
            q = np.percentile(values, [5, 25, 50, 75, 95])
            print(
                f"{name:>10}: n={len(values):4d}  p5 {q[0]:.3f}  p25 {q[1]:.3f}  "
                f"median {q[2]:.3f}  p75 {q[3]:.3f}  p95 {q[4]:.3f}"
            )
    # Faithful sentences: compressed restatements and, where the corpus has translations,
    # the same sentence in the other language (what a cross-lingual answer looks like).
    faithful = ("compressed", "translated", "translated_short")
    pos = np.array([v for k in faithful for v in scores[k]])
    neg = np.array(scores["wrong"])
    if not len(pos) or not len(neg):
        print("not enough cases to fit a threshold")
        return None
    print(
        "\nthreshold  verbatim-kept  compressed-kept  translated-kept  short-transl.-kept  "
        "wrong-rejected  unrelated-rejected"
    )
    best_t, best_acc = 0.0, -1.0
    for t in np.arange(0.70, 0.96, 0.01):
        rates = [
            np.mean(np.array(scores["verbatim"]) >= t),
            np.mean(np.array(scores["compressed"]) >= t),
            np.mean(np.array(scores["translated"]) >= t) if scores["translated"] else float("nan"),
            np.mean(np.array(scores["translated_short"]) >= t)
            if scores["translated_short"]
            else float("nan"),
            np.mean(neg < t),
            np.mean(np.array(scores["unrelated"]) < t) if scores["unrelated"] else float("nan"),
        ]
        print(f"  {t:.2f}      " + "          ".join(f"{r:.2f}" for r in rates))
    for t in np.arange(0.70, 0.96, 0.0025):
        acc = (np.mean(pos >= t) + np.mean(neg < t)) / 2
        if acc > best_acc:
            best_t, best_acc = float(t), float(acc)
    print(
        f"\nbest balanced accuracy (faithful vs wrong citation): {best_acc:.3f} "
        f"at threshold {best_t:.3f}"
    )
    # A dropped faithful sentence costs fluency (the extractive fallback is still right); a kept
    # unsupported one costs trust. The recommendation: the highest threshold that keeps ``keep``
    # of each kind of faithful sentence (shown for 95 % too).
    classes = [np.array(scores[k]) for k in faithful if scores[k]]
    keep_t = 0.0
    for share in sorted({0.95, keep}):
        t = float(min(np.percentile(c, 100 * (1 - share)) for c in classes))
        t = float(np.floor(t * 200) / 200)  # down to a multiple of 0.005
        print(
            f"highest threshold keeping {share:.0%} of each kind of faithful sentence: {t:.3f} "
            f"(rejects {np.mean(neg < t):.2f} of wrong citations, "
            f"{np.mean(np.array(scores['unrelated']) < t):.2f} of unrelated claims)"
        )
        if share == keep:
            keep_t = t
    print(f"recommended: KVA_LLM_MIN_SIMILARITY={keep_t:.3f}")
    best_t = keep_t
    return best_t


def _load(path: Path):  # noqa: ANN202 - evals.suite.Suite
    """A suite file; top-level keys this checkout's suite schema does not know (such as a
    newer ``corpus:``) are dropped rather than refused."""
    import yaml

    from evals.suite import Suite, parse_suite

    try:
        return load_suites([path])[0]
    except Exception:  # noqa: BLE001 - retry without unknown keys
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        known = set(Suite.model_fields)
        return parse_suite({k: v for k, v in raw.items() if k in known}, source=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", action="append", type=Path, help="suite file (repeatable)")
    parser.add_argument(
        "--corpus", action="append", type=Path, help="corpus folder (repeatable; default corpus/)"
    )
    parser.add_argument(
        "--keep",
        type=float,
        default=0.8,
        help="share of each kind of faithful sentence the recommended threshold keeps",
    )
    parser.add_argument("--data-dir", type=Path, help="store location (default: a temp dir)")
    args = parser.parse_args(argv)
    suite_paths = args.suite or sorted((PROJECT_ROOT / "evals" / "suites").glob("core.yaml"))
    present = [p for p in suite_paths if p.is_file()]
    for p in set(suite_paths) - set(present):
        print(f"skipped: suite {p} not found", file=sys.stderr)
    corpora = args.corpus or [PROJECT_ROOT / "corpus"]
    missing = [c for c in corpora if not c.is_dir()]
    if not present or missing:
        print(f"skipped: no suites, or corpus folder(s) {missing} not found", file=sys.stderr)
        return 0
    suites = [_load(p) for p in present]
    settings = Settings(
        data_dir=args.data_dir or Path(tempfile.mkdtemp(prefix="kva-fit-")),
        corpus_dir=corpora[0],
    )
    report_ = Indexer(settings).run(corpora)
    documents = len(report_.added) + len(report_.unchanged) + len(report_.updated)
    print(f"corpus {', '.join(map(str, corpora))}: {documents} documents")
    composer = _Recording()
    assistant = Assistant(settings, composer=composer)
    print(f"suites: {', '.join(s.name for s in suites)}\n")
    report(collect(assistant, composer, suites), args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
