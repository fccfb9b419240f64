"""Ingestion throughput: the whole pipeline against the raw embedding model on the same texts.

Generates a deterministic synthetic bilingual corpus (see ``synthetic_corpus.py``) in a temp
dir, sized with the pipeline's own chunker to give at least ``--chunks`` chunks, and runs
``Indexer(Settings(data_dir=tmp)).run([dir])`` once: wall time, chunks/s, peak memory. Then,
in the same process and with the same (already loaded) model, it embeds

- exactly the texts the pipeline embedded: the answer units of every stored chunk
  (``ingest.units.answer_units`` over each chunk span from ``ingest.records.Records``), in
  batches of 32 -> pipeline overhead % = (pipeline - embedding) / embedding;
- the whole chunk texts, in batches of 32 (the "same chunks" of the issue). Long texts are
  slow on this CPU, so by default an evenly spaced sample of ``--chunk-sample`` chunks is
  embedded and the time scaled to all chunks (``--chunk-sample 0`` embeds every chunk).

Memory: ``ru_maxrss`` (peak RSS of the whole process, model included) plus the peak RSS seen
by a thread that samples ``/proc/self/statm`` every 20 ms during the pipeline run.

The default is the issue's 2,000 chunks, about 20 minutes on 2 shared cores (the pipeline
and the re-embedding take about twice the pipeline time); ``--chunks 500`` is a quicker look.
Rates (chunks/s, units/s, overhead %) are what to compare; they hardly depend on the size.
The pipeline's other steps (load + chunk, lingua
language detection per chunk) are re-timed separately on the same input, so the overhead can
be broken down.

    .venv/bin/python benchmarks/ingest_throughput.py [--chunks 2000] [--out FILE.json]
    .venv/bin/python benchmarks/ingest_throughput.py --chunks 2000 --chunk-sample 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_corpus import build_corpus  # noqa: E402

from ingest.embeddings import make_embeddings  # noqa: E402
from ingest.language import detect_language  # noqa: E402
from ingest.loaders import load_file  # noqa: E402
from ingest.pipeline import Indexer  # noqa: E402
from ingest.records import Records  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.units import answer_units  # noqa: E402

BATCH = 32


class RssSampler(threading.Thread):
    """Peak resident set size of this process, read from /proc/self/statm every ``interval``."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = self.start_rss = self._rss()
        self._halt = threading.Event()

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, self._rss())
        return self.peak


def _maxrss_mb() -> float:
    # Linux reports kilobytes, macOS bytes.
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw / 1024 / (1024 if sys.platform == "darwin" else 1)


def _embed_timed(texts: list[str], settings: Settings) -> float:
    embeddings = make_embeddings(settings)
    started = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        embeddings.embed_documents(texts[i : i + BATCH])
    return time.perf_counter() - started


def run(min_chunks: int, chunk_sample: int, seed: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="kva-ingest-bench-"))
    try:
        corpus, data = tmp / "corpus", tmp / "data"
        settings = Settings(data_dir=data)
        indexer = Indexer(settings)
        t0 = time.perf_counter()
        make_embeddings(settings).embed_documents(["passage warm-up"])  # load the model first
        model_load_s = time.perf_counter() - t0
        expected = build_corpus(corpus, min_chunks, indexer._chunker(), seed=seed)
        files = sorted(corpus.iterdir())
        corpus_bytes = sum(f.stat().st_size for f in files)
        print(
            f"corpus: {len(files)} files, {corpus_bytes / 1e6:.2f} MB, chunker predicts "
            f"{expected} chunks; running the pipeline ...",
            flush=True,
        )

        rss_before = RssSampler._rss()
        sampler = RssSampler()
        sampler.start()
        started = time.perf_counter()
        report = indexer.run([corpus])
        pipeline_s = time.perf_counter() - started
        peak_rss = sampler.stop()
        if not report.ok:
            raise SystemExit(f"ingestion failed: {report.failed[:3]}")
        if report.chunks < min_chunks:
            raise SystemExit(f"pipeline made {report.chunks} chunks, fewer than {min_chunks}")

        records = Records(settings.records_path)
        chunks = records.get_chunks()
        texts = {c.doc_id: records.get_text(c.doc_id) or "" for c in chunks}
        unit_texts = [
            texts[c.doc_id][s:e]
            for c in chunks
            for s, e in answer_units(texts[c.doc_id], c.start, c.end)
        ]
        chunk_texts = [texts[c.doc_id][c.start : c.end] for c in chunks]
        if len(unit_texts) != report.embedded:
            print(
                f"WARNING: reconstructed {len(unit_texts)} units, pipeline embedded "
                f"{report.embedded}",
                flush=True,
            )
        print(
            f"pipeline done in {pipeline_s:.1f} s; embedding the {len(unit_texts)} answer "
            "units again ...",
            flush=True,
        )
        units_s = _embed_timed(unit_texts, settings)

        if chunk_sample and chunk_sample < len(chunk_texts):
            step = len(chunk_texts) / chunk_sample
            sample = [chunk_texts[int(i * step)] for i in range(chunk_sample)]
        else:
            sample = chunk_texts
        print("timing the pipeline's other steps on the same input ...", flush=True)
        started = time.perf_counter()
        chunker = indexer._chunker()
        for path in files:
            chunker.run(load_file(path))
        load_chunk_s = time.perf_counter() - started
        started = time.perf_counter()
        for text in chunk_texts:
            if len(text) > 40:  # as Indexer._prepare does
                detect_language(text, default=None)
        language_s = time.perf_counter() - started

        print(f"embedding {len(sample)} whole chunks ...", flush=True)
        sample_s = _embed_timed(sample, settings)
        chunks_s = sample_s * len(chunk_texts) / len(sample)

        unit_chars = sum(map(len, unit_texts))
        return {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
            "model": make_embeddings(settings).model_id,
            "model_load_s": round(model_load_s, 2),
            "files": len(files),
            "corpus_mb": round(corpus_bytes / 1e6, 3),
            "chunks": report.chunks,
            "units_embedded": report.embedded,
            "units_reconstructed": len(unit_texts),
            "unit_chars_mean": round(unit_chars / max(len(unit_texts), 1), 1),
            "chunk_tokens_mean": round(sum(c.tokens for c in chunks) / max(len(chunks), 1), 1),
            "pipeline_s": round(pipeline_s, 2),
            "pipeline_chunks_per_s": round(report.chunks / pipeline_s, 2),
            "units_embedding_s": round(units_s, 2),
            "units_per_s": round(len(unit_texts) / units_s, 2),
            "overhead_pct": round((pipeline_s - units_s) / units_s * 100, 1),
            "load_and_chunk_s": round(load_chunk_s, 2),
            "language_detection_s": round(language_s, 2),
            "rest_s": round(pipeline_s - units_s - load_chunk_s - language_s, 2),
            "whole_chunks_embedded": len(sample),
            "whole_chunks_measured_s": round(sample_s, 2),
            "whole_chunks_embedding_s": round(chunks_s, 2),
            "whole_chunks_per_s": round(len(sample) / sample_s, 2),
            "whole_chunks_extrapolated": len(sample) < len(chunk_texts),
            "rss_before_pipeline_mb": round(rss_before / 2**20, 1),
            "rss_peak_pipeline_mb": round(peak_rss / 2**20, 1),
            "maxrss_process_mb": round(_maxrss_mb(), 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(r: dict[str, Any]) -> None:
    extrapolated = (
        f" (measured on {r['whole_chunks_embedded']} evenly spaced chunks in "
        f"{r['whole_chunks_measured_s']} s, scaled to {r['chunks']})"
        if r["whole_chunks_extrapolated"]
        else ""
    )
    rows = [
        ("corpus", f"{r['files']} synthetic da/en Markdown files, {r['corpus_mb']} MB"),
        (
            "chunks / answer units",
            f"{r['chunks']} / {r['units_embedded']} "
            f"(mean chunk {r['chunk_tokens_mean']} tokens, mean unit {r['unit_chars_mean']} chars)",
        ),
        ("pipeline wall time", f"{r['pipeline_s']} s  ->  {r['pipeline_chunks_per_s']} chunks/s"),
        (
            "pure embedding, same units",
            f"{r['units_embedding_s']} s  ->  {r['units_per_s']} units/s"
            f" ({round(r['chunks'] / r['units_embedding_s'], 2)} chunks/s)",
        ),
        ("pipeline overhead", f"{r['overhead_pct']} %  = (pipeline - embedding) / embedding"),
        ("  of which load + chunk", f"{r['load_and_chunk_s']} s (re-timed separately)"),
        (
            "  of which lingua detection",
            f"{r['language_detection_s']} s (detect_language on "
            "each chunk > 40 chars, re-timed separately)",
        ),
        ("  rest (writes, lexical, ...)", f"{r['rest_s']} s (pipeline - all of the above)"),
        (
            "embedding whole chunks",
            f"{r['whole_chunks_embedding_s']} s  ->  "
            f"{r['whole_chunks_per_s']} chunks/s{extrapolated}",
        ),
        (
            "peak RSS during pipeline",
            f"{r['rss_peak_pipeline_mb']} MB (before: "
            f"{r['rss_before_pipeline_mb']} MB; /proc/self/statm sampled every 20 ms)",
        ),
        (
            "ru_maxrss (whole process)",
            f"{r['maxrss_process_mb']} MB (includes model and the re-embedding runs)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print(
        f"\nIngest throughput - {r['model']} on {r['machine']}; model load "
        f"{r['model_load_s']} s (not counted)."
    )
    print("Figures are from one run on shared, busy CPUs: noisy, read them as +-15 %.\n")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chunks",
        type=int,
        default=2000,
        help="minimum chunks to ingest (the issue's size; ~20 min on 2 shared cores)",
    )
    parser.add_argument(
        "--chunk-sample",
        type=int,
        default=150,
        help="whole chunks to embed for the chunk-level figure (0 = all)",
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.chunks < 1:
        parser.error("--chunks must be >= 1")
    result = run(args.chunks, args.chunk_sample, args.seed)
    print_table(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
