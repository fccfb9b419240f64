"""Command line: ``python -m assistant ask "spørgsmål" [--json]``,
``python -m assistant ask --questions FILE`` (one question a line, one JSON object a line) and
``python -m assistant serve [--host] [--port] [--workers]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from ingest.settings import Settings


def _settings(data_dir: str | None, composer: str | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir:
        overrides["data_dir"] = Path(data_dir)
    if composer:
        overrides["composer"] = composer
    return Settings(**overrides)  # type: ignore[arg-type]


def _print_for_person(answer) -> None:  # noqa: ANN001 - assistant.models.Answer
    print(answer.answer)
    if answer.fell_back:
        print(
            f"\n({answer.composer} composer fell back to the extractive answer: "
            f"{answer.fallback_reason})"
        )
    for w in answer.warnings:
        print(f"\n! {w}")
    if answer.citations:
        print("\nKilder / Sources:")
        for c in answer.citations:
            where = " — ".join(x for x in (c.section, f"p. {c.page}" if c.page else None) if x)
            print(f"[{c.n}] {c.title} ({c.doc_id}, {c.language}){' — ' + where if where else ''}")
            print(f"    “{' '.join(c.quote.split())}”  [{c.start}:{c.end}]")
    if answer.related:
        print("\nMåske relateret / Maybe related:")
        for p in answer.related:
            print(f"- {p.title}{' — ' + p.section if p.section else ''}")


def _ask(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from assistant.guard import QuestionError
    from assistant.pipeline import Assistant
    from ingest.embeddings import EmbeddingModelError

    try:
        settings = _settings(args.data_dir, args.composer)
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        assistant = Assistant(settings)
    except EmbeddingModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if assistant.empty:
        print("error: the store is empty; run `python -m ingest` first", file=sys.stderr)
        return 2
    if args.questions:
        failures = 0
        with contextlib.ExitStack() as stack:
            source = (
                sys.stdin
                if args.questions == "-"
                else stack.enter_context(open(args.questions, encoding="utf-8"))
            )
            for line in source:
                question = line.rstrip("\n")
                if not question.strip():
                    continue
                try:
                    out = assistant.ask(question).model_dump()
                except QuestionError as exc:
                    failures += 1
                    out = {
                        "question": question,
                        "error": {"code": exc.code, "message": exc.message},
                    }
                print(json.dumps(out, ensure_ascii=False), flush=True)
        return 1 if failures else 0
    if args.question is None:
        print("error: give a question, or --questions FILE", file=sys.stderr)
        return 2
    try:
        answer = assistant.ask(args.question, language=args.language)
    except QuestionError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.model_dump(), ensure_ascii=False))
    else:
        _print_for_person(answer)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from assistant.serve import serve

    if args.data_dir:
        import os

        os.environ["KVA_DATA_DIR"] = str(Path(args.data_dir).resolve())
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer a question from the ingested material")
    ask.add_argument("question", nargs="?", help="the question, in Danish or English")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("--questions", metavar="FILE", help="answer one question a line ('-': stdin)")
    ask.add_argument("--language", choices=["da", "en"], help="answer in this language")
    ask.add_argument("--data-dir", help="store location (default: KVA_DATA_DIR or .data)")
    ask.add_argument(
        "--composer",
        choices=["extractive", "generative"],
        help="who writes the answer (default: KVA_COMPOSER); generative needs KVA_LLM_BASE_URL "
        "and KVA_LLM_MODEL",
    )
    ask.set_defaults(func=_ask)
    serve = sub.add_parser("serve", help="start the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--data-dir", help="store location (default: KVA_DATA_DIR or .data)")
    serve.set_defaults(func=_serve)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
