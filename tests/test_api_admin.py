"""Admin endpoints (upload, delete) behind the API key, and background ingestion."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import api_fixtures
import httpx
import pytest
from api_fixtures import API_KEY, Server, admin_headers

api = api_fixtures.api
admin_off = api_fixtures.admin_off
client = api_fixtures.client

MARKER = "Zebrafinkemetoden"
UPLOAD_MD = f"""# {MARKER} i bostøtte

{MARKER} er en fiktiv arbejdsmetode, som kun findes i denne testfil. Metoden handler om at
aftale faste ugentlige samtaler mellem borger og medarbejder om borgerens egne mål.

## Evaluering

Evalueringen af {MARKER} viste, at borgerne oplevede mere indflydelse på deres hverdag.
""".encode()


def _wait_for_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_admin_off_without_key(admin_off: Server) -> None:
    with admin_off.client() as c:
        files = {"files": ("a.md", b"# A\n\ntext", "text/markdown")}
        for r in (
            c.post("/api/documents", files=files, headers=admin_headers()),
            c.delete("/api/documents/x", headers=admin_headers()),
        ):
            assert r.status_code == 403
            assert r.json()["error"]["code"] == "admin_disabled"
        # Everything else works on that server.
        assert c.get("/api/documents").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, admin_headers("wrong"), {"Authorization": API_KEY}, {"Authorization": "Basic abc"}],
)
def test_admin_wrong_or_missing_key(client: httpx.Client, headers: dict) -> None:
    files = {"files": ("a.md", b"# A\n\ntext", "text/markdown")}
    r = client.post("/api/documents", files=files, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.delete("/api/documents/x", headers=headers).status_code == 401


def test_upload_unsupported_type_is_415(api: Server, client: httpx.Client) -> None:
    files = {"files": ("evil.exe", b"MZ...", "application/octet-stream")}
    r = client.post("/api/documents", files=files, headers=admin_headers())
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"
    assert not (api.settings.uploads_dir / "evil.exe").exists()


def test_upload_over_the_limit_is_413(api: Server, client: httpx.Client) -> None:
    big = b"# Stor\n\n" + b"tekst " * 12_000  # ~72 KB > the 0.05 MB test limit
    files = {"files": ("stor.md", big, "text/markdown")}
    r = client.post("/api/documents", files=files, headers=admin_headers())
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "file_too_large"
    uploads = api.settings.uploads_dir
    assert not uploads.exists() or not [p for p in uploads.iterdir() if "stor" in p.name]


def test_upload_without_files_is_422(client: httpx.Client) -> None:
    r = client.post("/api/documents", data={"x": "y"}, headers=admin_headers())
    assert r.status_code == 422


def test_upload_ingest_search_delete(api: Server, client: httpx.Client) -> None:
    files = {"files": ("../../Zebrafinke metoden.md", UPLOAD_MD, "text/markdown")}
    r = client.post("/api/documents", files=files, headers=admin_headers())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["files"] == ["Zebrafinke_metoden.md"]
    assert r.headers["location"] == f"/api/jobs/{body['job_id']}"
    saved = api.settings.uploads_dir / "Zebrafinke_metoden.md"
    assert saved.read_bytes() == UPLOAD_MD

    job = _wait_for_job(client, body["job_id"])
    assert job["status"] == "done", job
    assert job["report"]["added"], job
    doc_id = job["report"]["added"][0]
    assert client.get(f"/api/documents/{doc_id}").status_code == 200
    hits = client.get("/api/search", params={"q": MARKER}).json()
    assert any(h["doc_id"] == doc_id for h in hits)

    r = client.delete(f"/api/documents/{doc_id}", headers=admin_headers())
    assert r.status_code == 200 and r.json() == {"deleted": doc_id}
    assert client.get(f"/api/documents/{doc_id}").status_code == 404
    assert not any(
        h["doc_id"] == doc_id for h in client.get("/api/search", params={"q": MARKER}).json()
    )
    assert not saved.exists()
    r = client.delete(f"/api/documents/{doc_id}", headers=admin_headers())
    assert r.status_code == 404


def test_ingestion_runs_in_background_without_blocking_asks(
    api: Server, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = api.app.state.jobs
    real_run = jobs._run
    release = {"slow": True}

    def slow_run(paths: list[Path], progress):  # noqa: ANN001, ANN202
        # Stretch the job so that asks are certain to overlap with it.
        deadline = time.monotonic() + 4
        while release["slow"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return real_run(paths, progress)

    monkeypatch.setattr(jobs, "_run", slow_run)
    files = {"files": ("bakgrund.md", UPLOAD_MD.replace(b"Zebra", b"Giraf"), "text/markdown")}
    started = time.monotonic()
    r = client.post("/api/documents", files=files, headers=admin_headers())
    assert r.status_code == 202
    assert time.monotonic() - started < 2, "upload must not wait for ingestion"
    job_id = r.json()["job_id"]
    assert client.get(f"/api/jobs/{job_id}").json()["status"] in ("queued", "running")

    def ask(_: int) -> tuple[int, float]:
        t = time.monotonic()
        with api.client() as c:
            resp = c.post("/api/ask", json={"question": "Hvad er kvalitet på botilbud?"})
        return resp.status_code, time.monotonic() - t

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(ask, range(8)))
    assert all(status == 200 for status, _ in results)
    assert client.get(f"/api/jobs/{job_id}").json()["status"] in ("queued", "running")
    release["slow"] = False
    job = _wait_for_job(client, job_id)
    assert job["status"] == "done"
    assert job["progress"]["stage"] == "finished"
    for doc_id in job["report"]["added"]:
        client.delete(f"/api/documents/{doc_id}", headers=admin_headers())


def _version(n: int, paragraphs: int) -> bytes:
    body = "\n\n".join(
        f"Afsnit {i} af version {n}: borgeren og medarbejderen aftaler mål for bostøtten, og "
        f"kvaliteten følges op hver måned med fokus på recovery og egen mestring ({n}.{i})."
        for i in range(paragraphs)
    )
    return f"# Versionsdokument {n}\n\nVersionsmarkør v{n}.\n\n{body}\n".encode()


def test_reads_during_reingestion_see_old_or_new_never_half(
    api: Server, client: httpx.Client
) -> None:
    def upload(content: bytes) -> dict:
        files = {"files": ("versioner.md", content, "text/markdown")}
        r = client.post("/api/documents?replace=true", files=files, headers=admin_headers())
        assert r.status_code == 202, r.text
        return r.json()

    first = _wait_for_job(client, upload(_version(1, 6))["job_id"])
    assert first["status"] == "done", first
    doc_id = (first["report"]["added"] + first["report"]["updated"])[0]

    job_id = upload(_version(2, 30))["job_id"]
    samples: list[dict] = []
    with api.client() as reader:
        while reader.get(f"/api/jobs/{job_id}").json()["status"] not in ("done", "failed"):
            r = reader.get(f"/api/documents/{doc_id}")
            assert r.status_code == 200
            samples.append(r.json())
            hits = reader.get("/api/search", params={"q": "Versionsmarkør bostøtten"})
            assert hits.status_code == 200
    samples.append(client.get(f"/api/documents/{doc_id}").json())
    for doc in samples:
        text = doc["text"]
        assert ("Versionsmarkør v1." in text) != ("Versionsmarkør v2." in text)
        assert doc["document"]["char_count"] == len(text)
        assert doc["document"]["chunk_count"] == len(doc["chunks"])
        assert all(c["end"] <= len(text) for c in doc["chunks"])
        assert all(s["text"] == text[s["start"] : s["end"]] for s in doc["sections"])
    assert "Versionsmarkør v2." in samples[-1]["text"]
    assert client.delete(f"/api/documents/{doc_id}", headers=admin_headers()).status_code == 200
