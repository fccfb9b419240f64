"""Faults and abuse from issue 12, each reproduced against the real thing: a uvicorn process on
loopback, the ingest CLI in another process, a real Chroma store that gets corrupted on disk."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ingest.settings import PROJECT_ROOT

PY = sys.executable
API_KEY = "reliability-key"
ZEBRA = (
    "# Zebraer på botilbud\n\nZebraprojektet handler om striber og kvalitet i botilbud. "
    "Zebraer måles hvert år af kommunen med et særligt zebraskema.\n"
)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, KVA_DATA_DIR=str(data_dir), KVA_API_KEY=API_KEY, **extra)
    env.pop("API_URL", None)
    return env


def run_ingest(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "ingest", *args],
        cwd=PROJECT_ROOT,
        env=_env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class ApiProcess:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_api(
    data_dir: Path, log_path: Path, wait_ready: bool = True, **extra_env: str
) -> ApiProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [PY, "-m", "uvicorn", "--factory", "assistant.api.app:create_app", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=_env(data_dir, **extra_env),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )
    api = ApiProcess(f"http://127.0.0.1:{port}", data_dir, proc, log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            r = httpx.get(api.url + "/readyz", timeout=5)
            if r.status_code == 200 or (not wait_ready and r.status_code == 503):
                return api
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"API exited: {api.logs()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("API did not start")


def stop_api(api: ApiProcess) -> None:
    api.proc.send_signal(signal.SIGTERM)
    try:
        api.proc.wait(20)
    except subprocess.TimeoutExpired:
        api.proc.kill()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """A uvicorn process over a store holding the bundled corpus."""
    data = tmp_path_factory.mktemp("reliability")
    done = run_ingest(data, str(PROJECT_ROOT / "corpus"))
    assert done.returncode == 0, done.stderr
    api = start_api(data, data / "api.log")
    yield api
    stop_api(api)


def test_reader_sees_documents_ingested_by_another_process(served: ApiProcess) -> None:
    """Point 1: a CLI ingest into the served data dir; filtered asks on the new document used
    to fail with 500 'Error finding id' until restart, unfiltered ones missed it."""
    with served.client() as c:
        assert c.post("/api/ask", json={"question": "Hvad er kvalitet?"}).status_code == 200
        folder = served.data_dir / "cli-new"
        folder.mkdir()
        (folder / "zebra.txt").write_text(ZEBRA)
        done = run_ingest(served.data_dir, str(folder))
        assert done.returncode == 0, done.stderr
        question = "Hvad er zebraprojektet?"
        for _ in range(3):
            r = c.post("/api/ask", json={"question": question, "filters": {"doc_ids": ["zebra"]}})
            assert r.status_code == 200, r.text
            cited = {x["doc_id"] for x in r.json()["citations"]}
            assert cited == {"zebra"}, r.json()
            r = c.post("/api/ask", json={"question": question})
            assert r.status_code == 200, r.text
            assert "zebra" in {x["doc_id"] for x in r.json()["citations"]}
        # An edit of the same document from the CLI is seen as well.
        (folder / "zebra.txt").write_text(ZEBRA.replace("zebraskema", "stribeskema"))
        assert run_ingest(served.data_dir, str(folder)).returncode == 0
        r = c.post(
            "/api/ask",
            json={"question": "Hvad måles med stribeskema?", "filters": {"doc_ids": ["zebra"]}},
        )
        assert r.status_code == 200, r.text
        assert "stribeskema" in r.json()["answer"] or r.json()["citations"], r.json()


def test_history_flood_is_refused_before_the_model(served: ApiProcess) -> None:
    """Point 2: a 300 KB history used to take a minute of CPU; now a clear 422 at once."""
    big = "Hvad er kvalitet i bostøtten og botilbud? " * 7500
    floods = [
        ("/api/ask", {"question": "og det?", "history": [{"role": "user", "content": big}]}),
        ("/api/ask/stream", {"question": "og det?", "history": [{"role": "user", "content": big}]}),
        (
            "/api/ask",
            {"question": "og det?", "history": [{"role": "user", "content": "Hvad?"}] * 51},
        ),
        (
            "/v1/chat/completions",
            {
                "messages": [
                    {"role": "user", "content": big},
                    {"role": "assistant", "content": "Svar."},
                    {"role": "user", "content": "og det?"},
                ]
            },
        ),
        (
            "/v1/chat/completions",
            {
                "stream": True,
                "messages": [
                    {"role": "user", "content": "Hvad?"},
                    {"role": "assistant", "content": "x" * 25_000},
                    {"role": "user", "content": "og det?"},
                ],
            },
        ),
    ]
    with served.client() as c:
        for path, body in floods:
            started = time.monotonic()
            r = c.post(path, json=body)
            assert r.status_code == 422, (path, r.status_code, r.text[:300])
            assert r.json()["error"]["code"] in ("history_too_long", "invalid_request")
            assert "limit" in r.json()["error"]["message"]
            assert time.monotonic() - started < 10
        # Within the limits a follow-up still works.
        r = c.post(
            "/api/ask",
            json={
                "question": "og botilbud?",
                "history": [{"role": "user", "content": "Hvilken paragraf gælder for bostøtte?"}],
            },
        )
        assert r.status_code == 200, r.text


def test_lone_surrogates_are_422_not_500(served: ApiProcess) -> None:
    """Point 7: '\\ud800' in the question, history, filters and chat messages."""
    bad = '"\\ud800 hvad"'
    bodies = [
        ("/api/ask", '{"question": BAD}'),
        ("/api/ask/stream", '{"question": BAD}'),
        ("/api/ask", '{"question": "ok", "history": [{"role": "user", "content": BAD}]}'),
        ("/api/ask", '{"question": "Hvad er kvalitet?", "filters": {"doc_ids": [BAD]}}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": BAD}]}'),
        (
            "/v1/chat/completions",
            '{"messages": [{"role": "user", "content": [{"type": "text", "text": BAD}]}]}',
        ),
        ("/api/feedback", '{"question": BAD, "answer": "a", "rating": "up"}'),
    ]
    with served.client() as c:
        for path, raw in bodies:
            r = c.post(
                path, content=raw.replace("BAD", bad), headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 422, (path, r.status_code, r.text[:300])
            message = r.json()["error"]["message"]
            assert "surrogate" in message or "unicode string" in message, message


def _raw_post_headers(url: str, path: str, headers: dict[str, str]) -> str:
    """Send only the request head of a huge upload (no body) and read what comes back."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=15) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            return s.recv(65536).decode("latin-1")
        except TimeoutError:
            return "(no answer while the body was awaited)"


def test_upload_without_key_is_refused_before_the_body(served: ApiProcess) -> None:
    """Point 4: three 900 MB unauthenticated uploads used to be spooled to disk before 401."""
    head = {
        "Content-Type": "multipart/form-data; boundary=xyz",
        "Content-Length": str(900 * 1024 * 1024),
    }
    reply = _raw_post_headers(served.url, "/api/documents", head)
    assert reply.startswith("HTTP/1.1 401"), reply[:200]
    reply = _raw_post_headers(
        served.url, "/api/documents", {**head, "Authorization": "Bearer wrong"}
    )
    assert reply.startswith("HTTP/1.1 401"), reply[:200]
    # With the key, the declared size is over the upload cap: 413, still before the body.
    big = {**head, "Content-Length": str(4 * 1024**3), "Authorization": f"Bearer {API_KEY}"}
    reply = _raw_post_headers(served.url, "/api/documents", big)
    assert reply.startswith("HTTP/1.1 413"), reply[:200]


CPR_FORMATS = [
    "010203-1234",
    "0102031235",
    "010203 1236",
    "01.02.03-1237",
    "010203\u20131238",  # en dash
    "010203\u20111239",  # non-breaking hyphen
    "010203/1240",
    "010203\u00a01241",  # non-breaking space
    "01-02-03-1242",
]


def _leaks(data_dir: Path, extra_text: str = "") -> list[str]:
    """Every CPR value (as written, and as bare digits) found in a file name or file."""
    blobs = [extra_text.encode()]
    names = []
    for path in data_dir.rglob("*"):
        names.append(str(path.relative_to(data_dir)))
        if path.is_file():
            blobs.append(path.read_bytes())
    found = []
    for value in CPR_FORMATS:
        digits = "".join(ch for ch in value if ch.isdigit())
        for form in {value, digits, value.replace("\u2013", "-")}:
            if any(form.encode() in blob for blob in blobs) or any(form in n for n in names):
                found.append(form)
    return found


def test_cpr_numbers_in_every_format_are_masked_on_every_channel(
    served: ApiProcess, tmp_path: Path
) -> None:
    """Point 6: X-Request-ID, upload file names (uploads/, jobs, records, Chroma), logs,
    feedback and `evals from-feedback` drafts; all formats of the campaign."""
    from assistant.guard import contains_cpr, mask_cpr

    for value in CPR_FORMATS:
        assert contains_cpr(f"cpr {value}.") and value not in mask_cpr(f"cpr {value}.")
    admin = {"Authorization": f"Bearer {API_KEY}"}
    with served.client() as c:
        job_ids = []
        for value in CPR_FORMATS:
            question = f"Hvad gælder for borger {value} på botilbud?"
            r = c.post(
                "/api/ask", json={"question": question}, headers={"X-Request-ID": value.encode()}
            )
            assert r.status_code == 200, r.text
            assert value not in r.headers["x-request-id"]
            r = c.post(
                "/api/feedback",
                json={
                    "question": question,
                    "answer": f"svar {value}",
                    "rating": "down",
                    "comment": f"borger {value}",
                },
                headers={"X-Request-ID": value.encode()},
            )
            assert r.status_code == 201, r.text
            r = c.get("/api/search", params={"q": f"borger {value}"})
            assert r.status_code == 200
            r = c.post(
                "/api/documents",
                files={
                    "files": (
                        f"notat {len(job_ids)} {value}.txt",
                        f"Notat om kvalitet nr {len(job_ids)}.\n",
                    )
                },
                headers=admin,
            )
            assert r.status_code == 202, r.text
            job_ids.append(r.json()["job_id"])
        deadline = time.monotonic() + 300
        for job_id in job_ids:
            while (job := c.get(f"/api/jobs/{job_id}").json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert job["status"] == "done", job
        docs = c.get("/api/documents").json()["documents"]
        assert sum("cpr-removed" in d["doc_id"] for d in docs) >= 1
    draft = subprocess.run(
        [PY, "-m", "evals", "from-feedback", "--db", str(served.data_dir / "app.sqlite")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert draft.returncode == 0, draft.stderr
    assert "******-****" in draft.stdout
    assert _leaks(served.data_dir, draft.stdout) == []


def test_readyz_refuses_a_store_that_fails_its_check(served: ApiProcess, tmp_path: Path) -> None:
    """Point 5: /readyz said ready over a broken store; now 503 with the reason."""
    import shutil

    from ingest.records import Records

    data = tmp_path / "broken"
    shutil.copytree(served.data_dir, data, ignore=shutil.ignore_patterns("*.log"))
    folder = Records(data / "store" / "records.sqlite").get_meta("bm25_dir")
    shutil.rmtree(data / "store" / "bm25" / folder)
    api = start_api(data, tmp_path / "broken.log", wait_ready=False)
    try:
        deadline = time.monotonic() + 180
        while True:
            r = httpx.get(api.url + "/readyz", timeout=30)
            body = r.json()
            if body.get("error") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 503, body
        assert "store check failed" in body["error"] and "keyword index" in body["error"]
        assert "--repair" in body["error"]
        # Asking still works (the dense side answers), it is just not advertised as ready.
        r = httpx.post(api.url + "/api/ask", json={"question": "Hvad er kvalitet?"}, timeout=60)
        assert r.status_code == 200, r.text
    finally:
        stop_api(api)
    done = run_ingest(data, "check", "--repair")
    assert done.returncode == 0, done.stdout + done.stderr


def test_answer_markup_renders_quoted_markdown_as_text() -> None:
    """Point 11: a quote holding `![](http://…)` or a `javascript:` link must not render."""
    from markdown_it import MarkdownIt

    from ui.render import answer_markup

    text = (
        "Se ![](http://evil.example/x.png) og [klik](javascript:alert(1)) og "
        "<img src=x onerror=alert(1)> http://evil.example/ [1]. # Ikke en overskrift"
    )
    markup = answer_markup(text)
    rendered = MarkdownIt("commonmark").enable("table").render(markup)
    assert "<img" not in rendered and "<a " not in rendered and "<h1" not in rendered
    assert 'class="kva-marker"' in rendered
    # What a reader sees is still the words (a link shows its text, not its target).
    assert "klik" in rendered and "evil.example" in rendered


def test_same_name_upload_needs_replace(served: ApiProcess) -> None:
    """Point 11: another file under an existing name silently replaced the document."""
    admin = {"Authorization": f"Bearer {API_KEY}"}
    with served.client() as c:

        def send(text: str, query: str = "") -> httpx.Response:
            files = {"files": ("samme_navn.txt", text.encode())}
            return c.post(f"/api/documents{query}", files=files, headers=admin)

        assert send("Første version om kvalitet.").status_code == 202
        r = send("Anden version om kvalitet.")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "document_exists"
        assert "replace=true" in r.json()["error"]["message"]
        assert send("Anden version om kvalitet.", "?replace=true").status_code == 202
        two = [("files", ("a.txt", b"x")), ("files", ("a.txt", b"y"))]
        assert c.post("/api/documents", files=two, headers=admin).status_code == 422


def test_header_floods_are_refused_and_the_spec_declares_auth(served: ApiProcess) -> None:
    """Point 11: 100 KB and 5,000 headers were accepted; the spec had no auth scheme/4xx."""
    with served.client() as c:
        r = c.get("/healthz", headers={"X-Big": "a" * 100_000})
        assert r.status_code in (400, 431), r.status_code
        many = [(f"X-H{i}", "1") for i in range(5000)]
        r = c.get("/healthz", headers=many)
        assert r.status_code in (400, 431), r.status_code
        assert c.get("/healthz", headers={"X-Ok": "a" * 1000}).status_code == 200
        spec = c.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    upload = spec["paths"]["/api/documents"]["post"]
    assert upload["security"] == [{"HTTPBearer": []}]
    assert {"401", "403", "409", "413", "415", "422"} <= set(upload["responses"])
    assert {"422", "503"} <= set(spec["paths"]["/api/ask"]["post"]["responses"])


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper that may never come)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _workers_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_stop_when_the_master_is_killed(served: ApiProcess, tmp_path: Path) -> None:
    """Point 11: killing only the uvicorn master left its workers serving, and the next start
    failed with "address already in use"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path / "workers.log"
    master = subprocess.Popen(
        [PY, "-m", "assistant", "serve", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=_env(served.data_dir),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        workers: list[int] = []
        while time.monotonic() < deadline:
            workers = _workers_of(master.pid)
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                up = False
            if up and len(workers) == 2:
                break
            assert master.poll() is None, log_path.read_text(errors="replace")[-2000:]
            time.sleep(0.3)
        assert len(workers) == 2, log_path.read_text(errors="replace")[-2000:]

        master.kill()
        master.wait(10)
        deadline = time.monotonic() + 30
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_running, workers)), log_path.read_text(errors="replace")[-2000:]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with socket.socket() as s:  # what the next start does (uvicorn sets SO_REUSEADDR too)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        assert "master is gone" in log_path.read_text(errors="replace")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(master.pid, signal.SIGKILL)


def test_a_loading_worker_answers_once_loaded_instead_of_503(
    served: ApiProcess, tmp_path: Path
) -> None:
    """Point 11: a starting worker accepted connections while loading and answered 503."""
    # A generous wait: loading takes seconds, but this machine may be busy.
    api = start_api(served.data_dir, tmp_path / "api.log", wait_ready=False, KVA_READY_WAIT_S="300")
    try:
        if httpx.get(api.url + "/readyz", timeout=5).status_code == 200:
            pytest.skip("the models loaded before the first probe: no loading window to test")
        with api.client() as c:
            assert c.get("/healthz").json() == {"status": "ok"}  # liveness while loading
            asked = c.post("/api/ask", json={"question": "Hvad er kvalitet i bostøtten?"})
            assert asked.status_code == 200, asked.text
            assert asked.json()["answer"] and asked.json()["citations"]
            assert c.get("/readyz").status_code == 200
    finally:
        stop_api(api)
