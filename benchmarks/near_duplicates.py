"""Where the e5 cosine of two sentences starts to mean "the same words again".

The answer card leaves out a supporting quote whose vector is nearly that of one already
quoted (``assistant.answer_card.NEAR_DUPLICATE``): the same paragraph on two near-identical
pages says nothing new. e5's cosines are compressed, though: two different sentences on one
subject often score above 0.95. This prints, for every pair of sentences of six words or more
in a corpus's store, by band of cosine: how many pairs, the share whose texts are nearly the
same (difflib ratio >= 0.9 on lower-cased, space-normalised text) and the share that are
different sentences (ratio < 0.5); then the lowest band edge above which no pair of different
sentences is left. No question or label is used, only the corpus's own sentences.

    .venv/bin/python benchmarks/near_duplicates.py                       # the bundled corpus
    .venv/bin/python benchmarks/near_duplicates.py ../shared/corpora/social-dev
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.sentence_index import SentenceIndex  # noqa: E402
from assistant.store_reader import StoreReader  # noqa: E402
from evals.stores import STORES, bring_up_to_date, corpus_settings  # noqa: E402
from ingest.settings import PROJECT_ROOT, Settings  # noqa: E402

EDGES = (0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.01)
MIN_WORDS = 6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus", type=Path, nargs="?", help="a corpus folder (default: corpus/)")
    args = p.parse_args(argv)
    if args.corpus is None:
        settings = Settings(data_dir=STORES / "seed", corpus_dir=PROJECT_ROOT / "corpus")
    elif args.corpus.is_dir():
        settings = corpus_settings(args.corpus.resolve())
    else:
        print(f"no corpus folder at {args.corpus}", file=sys.stderr)
        return 2
    bring_up_to_date(settings)
    snap = StoreReader(settings).snapshot()
    index = SentenceIndex.from_snapshot(snap)
    texts, rows = [], []
    for row, (cid, start, end) in enumerate(
        zip(index.chunk_ids, index.starts, index.ends, strict=True)
    ):
        text = " ".join(snap.texts[snap.chunks[cid].doc_id][start:end].lower().split())
        if len(text.split()) >= MIN_WORDS:
            texts.append(text)
            rows.append(row)
    vectors = index.vectors[rows]
    cos = vectors @ vectors.T
    first, second = np.triu_indices(len(texts), 1)
    near = cos[first, second] >= EDGES[0]
    pairs = [
        (float(cos[i, j]), difflib.SequenceMatcher(None, texts[i], texts[j]).ratio())
        for i, j in zip(first[near], second[near], strict=True)
    ]
    print(f"{len(texts)} sentences of {MIN_WORDS}+ words, {len(first)} pairs\n")
    print("| cosine | pairs | nearly the same text | different sentences |")
    print("| --- | --- | --- | --- |")
    for lo, hi in itertools.pairwise(EDGES):
        band = [r for c, r in pairs if lo <= c < hi]
        if not band:
            print(f"| {lo:.2f}–{min(hi, 1.0):.2f} | 0 | – | – |")
            continue
        same = sum(r >= 0.9 for r in band) / len(band)
        different = sum(r < 0.5 for r in band) / len(band)
        print(f"| {lo:.2f}–{min(hi, 1.0):.2f} | {len(band)} | {same:.2f} | {different:.2f} |")
    edge = next(
        (lo for lo in EDGES[:-1] if not any(c >= lo and r < 0.5 for c, r in pairs)), None
    )
    print(f"\nno pair of different sentences at or above cosine {edge}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
