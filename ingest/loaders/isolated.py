"""Loading files in a child process with a time budget per file.

A parser can spend minutes on a small hostile file (hundreds of thousands of elements, deep
nesting) while the ingestion run holds the single writers' lock: uploads queue and a DELETE
gets no answer. Each file is read by one long-lived child process (started once per run, so
its imports are paid once); when a file takes longer than its budget the child is killed,
the file fails with one line, and the next file gets a new child.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_text("Kontakt\\n\\nRing til os.\\n")
    >>> with LoaderProcess(timeout_s=60) as loader:
    ...     loader.load(p).title  # a text file: read here, no child needed
    'Kontakt'
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from ingest.loaders import DEFAULT_MAX_BYTES, LoadError, load_file
from ingest.loaders.base import LoadedDocument
from ingest.loaders.limits import MAX_LOAD_SECONDS, MAX_TEXT_CHARS

_HEADER = struct.Struct("!Q")
_START_TIMEOUT_S = 120
# Plain text and Markdown are read in a single linear pass bounded by the size limit; only
# the parsers of structured formats can be made to run away, so only they pay for the child.
ISOLATED_SUFFIXES = frozenset({".docx", ".pdf", ".html", ".htm"})


def _send(stream: BinaryIO, obj: object) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    parts = []
    while n:
        part = stream.read(n)
        if not part:
            raise EOFError
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _receive(stream: BinaryIO) -> Any:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))  # noqa: S301 - our own child's answer


class LoaderProcess:
    """``load_file`` in a child process, with ``timeout_s`` per file (see the module doc)."""

    def __init__(self, timeout_s: float = MAX_LOAD_SECONDS) -> None:
        self.timeout_s = timeout_s
        self._child: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LoaderProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def load(
        self,
        path: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_text_chars: int = MAX_TEXT_CHARS,
    ) -> LoadedDocument:
        if path.suffix.lower() not in ISOLATED_SUFFIXES:
            return load_file(path, max_bytes=max_bytes, max_text_chars=max_text_chars)
        try:
            child = self._start()
        except OSError as exc:
            raise LoadError(path, f"cannot start the process that reads files ({exc})") from exc
        assert child.stdin is not None and child.stdout is not None
        started = time.monotonic()
        try:
            _send(child.stdin, (str(path), max_bytes, max_text_chars))
            ready, _, _ = select.select([child.stdout], [], [], self.timeout_s)
            if not ready:
                self.close()
                raise LoadError(
                    path,
                    f"reading the file took longer than {self.timeout_s:g} s (the limit per "
                    "file); it was stopped",
                )
            status, value = _receive(child.stdout)
        except (EOFError, BrokenPipeError, OSError) as exc:
            code = child.poll()
            self.close()
            why = f"exit {code}" if code is not None else type(exc).__name__
            raise LoadError(
                path,
                f"the file crashed the process reading it ({why}) after "
                f"{time.monotonic() - started:.0f} s",
            ) from exc
        if status == "error":
            raise LoadError(path, value)
        return value

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        child = self._child = subprocess.Popen(
            [sys.executable, "-m", "ingest.loaders.isolated"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
            env=dict(os.environ, OMP_NUM_THREADS="1"),
        )
        # The budget is for reading the file, not for the child's imports: wait for them.
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], _START_TIMEOUT_S)
        if not ready or _receive(child.stdout) != "ready":
            self.close()
            raise OSError("the loader process did not start")
        return child


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The child's loop: one (path, max_bytes, max_text_chars) in, ("ok", doc) or
    ("error", reason) out, until its input closes."""
    _send(answers, "ready")
    while True:
        try:
            path, max_bytes, max_text_chars = _receive(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = (
                "ok",
                load_file(Path(path), max_bytes=max_bytes, max_text_chars=max_text_chars),
            )
        except LoadError as exc:
            answer = ("error", exc.reason)
        except Exception as exc:  # noqa: BLE001 - load_file wraps these; belt and braces
            answer = ("error", f"could not read file ({type(exc).__name__}: {exc})")
        _send(answers, answer)


if __name__ == "__main__":
    # Anything a parser prints must not corrupt the answers: stdout is ours alone.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, out)
