"""A deterministic synthetic bilingual corpus for the benchmarks (not a benchmark itself).

Sentences and short heading lines are taken from the seed texts in ``corpus/*.txt`` (Danish
from the Danish file, English from the English ones) and recombined into Markdown documents
with numbered headings: ``# title``, ``## 3. heading``, ``### 3.2 heading`` and paragraphs of
2-5 seed sentences. Same seed, same corpus. ``build_corpus`` keeps adding documents until the
pipeline's own chunker says the corpus yields at least the requested number of chunks.

Used by ``ingest_throughput.py`` and ``ask_latency.py``:

    >>> from synthetic_corpus import seed_pools  # doctest: +SKIP
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.chunker import Chunker
from ingest.language import detect_language
from ingest.loaders import load_file
from ingest.sentences import sentence_spans
from ingest.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"
_DA_FILLER = ("Afsnit", "Bilag", "Tema", "Indsats")
_EN_FILLER = ("Section", "Annex", "Theme", "Effort")


@dataclass
class Pools:
    """Seed sentences (five words or more) and heading-like short lines, per language."""

    sentences: dict[str, list[str]] = field(default_factory=lambda: {"da": [], "en": []})
    headings: dict[str, list[str]] = field(default_factory=lambda: {"da": [], "en": []})

    def all_sentences(self) -> list[str]:
        return sorted({s for lang in self.sentences.values() for s in lang})


def _manifest_languages() -> dict[str, str]:
    path = CORPUS / "manifest.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    docs = (data or {}).get("documents") or {}
    return {name: str(entry.get("language", "")) for name, entry in docs.items()}


def _plain(text: str) -> str:
    """Markdown emphasis, links and heading marks removed; whitespace collapsed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#+\s*|[*_`]", "", text.strip())
    return " ".join(text.split())


def seed_pools() -> Pools:
    pools = Pools()
    languages = _manifest_languages()
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        lang = languages.get(path.name) or detect_language(text, default="da") or "da"
        if lang not in ("da", "en"):
            continue
        for block in re.split(r"\n\s*\n", text):
            para = _plain(block)
            if not re.search(r"[^\W\d_]{3}", para):
                continue
            words = len(para.split())
            if words < 8 and not para.endswith((".", "?", "!", ":")):
                if "\n" not in block.strip() and not re.search(r"\d{4}", para):
                    pools.headings[lang].append(para.rstrip(":"))
                continue
            for s, e in sentence_spans(para, 0, len(para)):
                sentence = " ".join(para[s:e].split())
                if len(sentence.split()) >= 5:
                    pools.sentences[lang].append(sentence)
    for kind in (pools.sentences, pools.headings):
        for lang in kind:
            kind[lang] = sorted(set(kind[lang]))
    if not pools.sentences["da"] or not pools.sentences["en"]:
        raise SystemExit("corpus/*.txt must hold Danish and English seed text")
    return pools


def make_document(rng: random.Random, pools: Pools, index: int) -> tuple[str, str]:
    """(file name, Markdown text) of synthetic document ``index``; alternates da / en."""
    lang = "da" if index % 2 == 0 else "en"
    sentences, headings = pools.sentences[lang], pools.headings[lang] or ["Indhold"]
    filler = _DA_FILLER if lang == "da" else _EN_FILLER
    title = rng.choice(headings)
    word = "dokument" if lang == "da" else "document"
    lines = [f"# {title} ({word} {index + 1})", ""]
    for sec in range(1, rng.randint(4, 8) + 1):
        lines += [f"## {sec}. {rng.choice(headings)}", ""]
        for sub in range(1, rng.randint(1, 3) + 1):
            lines += [f"### {sec}.{sub} {rng.choice(filler)} {rng.choice(headings).lower()}", ""]
            for _ in range(rng.randint(1, 3)):
                lines += [" ".join(rng.sample(sentences, rng.randint(2, 5))), ""]
    return f"synth_{index:05d}_{lang}.md", "\n".join(lines)


def build_corpus(
    folder: Path, min_chunks: int, chunker: Chunker, *, seed: int = 1234, pools: Pools | None = None
) -> int:
    """Write documents into ``folder`` until ``chunker`` yields ``min_chunks`` chunks in all;
    returns that chunk count (the pipeline uses the same chunker, so it will find the same)."""
    pools = pools or seed_pools()
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    total = index = 0
    while total < min_chunks:
        name, text = make_document(rng, pools, index)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        total += len(chunker.run(load_file(path)))
        index += 1
    return total
