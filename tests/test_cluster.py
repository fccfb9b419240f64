"""The cluster of ``make cluster`` on loopback, through the real balancer (issue 24).

One cluster for the module (scripts/cluster.py): its own PostgreSQL from the ``pgserver``
wheel (its own, not the session's of tests/test_db.py, because one test stops it for ten
seconds), the corpus ingested into it, two API replicas as separate processes and Debian's
nginx in front of them. Skipped, with the reason, only where nginx or PostgreSQL cannot be had.
The tests run in file order and leave the cluster as they found it, except the last, which
kills a replica for good.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import cluster as cluster_script  # noqa: E402
from cluster import Cluster, PostgresUnavailable, find_nginx, render_nginx_conf  # noqa: E402

from ingest.settings import Settings  # noqa: E402

API_KEY = "cluster-admin-key"
ADMIN = {"Authorization": f"Bearer {API_KEY}"}
# Short, so a job whose worker was killed is taken over within seconds, not the default 30.
LEASE_S = 4
QUESTIONS = [
    "Hvad er kvalitet i bostøtten?",
    "Which sub-initiatives improve quality in social psychiatry?",
    "Hvad betyder recovery i socialpsykiatrien?",
]


@pytest.fixture(scope="module")
def nginx() -> Path:
    path = find_nginx()
    if path is None:
        pytest.skip("nginx is not installed and could not be fetched (apt-get download nginx)")
    return path


@pytest.fixture(scope="module")
def cluster(nginx: Path, corpus_settings: Settings) -> Iterator[Cluster]:
    try:
        import pgserver  # noqa: F401
    except ImportError:
        pytest.skip("pgserver is not installed (it is in requirements.lock)")
    # Not under pytest's basetemp: as root PostgreSQL runs as the user "pgserver", and every
    # pytest start resets pytest-of-root to mode 0700, cutting the server off its own data.
    # Short, too: the server's Unix socket lives under it (socket paths are limited to ~100).
    root = Path(tempfile.mkdtemp(prefix="kva-cluster-"))
    c = Cluster(
        root,
        replicas=2,
        api_key=API_KEY,
        temporary=True,
        env={"KVA_JOB_LEASE_S": str(LEASE_S), "OMP_NUM_THREADS": "1"},
        seed=lambda url: _copy_store(corpus_settings, url),
    )
    try:
        c.start()
    except PostgresUnavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL (pgserver) could not start here: {exc}")
    yield c
    c.stop()
    shutil.rmtree(root, ignore_errors=True)


def _copy_store(corpus_settings: Settings, url: str) -> None:
    """The session's ingested corpus copied in (``ingest migrate``): no second embedding run."""
    from ingest.__main__ import main

    assert main(["migrate", "--to", url, "--data-dir", str(corpus_settings.data_dir)]) == 0


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/api/jobs/{job_id}")
        if r.status_code == 200 and r.json()["status"] in ("done", "failed"):
            return r.json()
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not finished in {timeout:.0f} s: {r.text}")


def _upload(client: httpx.Client, name: str, body: bytes) -> str:
    files = {"files": (name, body, "text/markdown")}
    r = client.post("/api/documents", files=files, headers=ADMIN)
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


# --- the set-up -------------------------------------------------------------------------------


def test_compose_names_the_same_services_and_settings_as_the_script() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    always = [name for name, s in services.items() if "profiles" not in s]
    assert always == cluster_script.service_names(2)
    apis = [name for name in always if name.startswith("api-")]
    for name in apis:
        env = services[name]["environment"]
        assert set(env) == set(cluster_script.REPLICA_SETTINGS), name
        assert env["KVA_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:" in env["KVA_DATABASE_URL"]  # the postgres service
    assert "pgvector" in services["postgres"]["image"]
    assert services["balancer"]["image"].startswith("nginx")
    # The balancer sends to exactly the api services, with the proxy rules the script uses.
    mounts = services["balancer"]["volumes"]
    assert any(m.startswith("./deploy/nginx-proxy.conf:") for m in mounts)
    conf = (ROOT / "deploy" / "nginx.compose.conf").read_text(encoding="utf-8")
    lines = [line.split() for line in conf.splitlines()]
    upstream = [words[1] for words in lines if words[:1] == ["server"] and ":" in words[1]]
    assert upstream == [f"{name}:8000" for name in apis]
    # The script's replica environment has the same keys.
    probe = Cluster(Path("/nonexistent"), database_url="postgresql://x@y/z", api_key="k")
    env = probe.replica_env(Path("/tmp/a"))
    assert set(cluster_script.REPLICA_SETTINGS) <= set(env)


def test_the_rendered_nginx_config_is_valid(nginx: Path, tmp_path: Path) -> None:
    conf = render_nginx_conf(tmp_path, 18080, ["127.0.0.1:1", "127.0.0.1:2"])
    text = conf.read_text(encoding="utf-8")
    assert not re.search(r"@[A-Z]+@", text)
    checked = subprocess.run(
        [str(nginx), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


# --- one store, any replica -------------------------------------------------------------------

MARKER = "Gaerdesmutteprojektet"
UPLOAD = f"""# Evaluering af {MARKER}

{MARKER} er en arbejdsform i bostøtten, hvor borgeren selv planlægger ugens aftaler.

Evalueringen af {MARKER} viste, at borgerne oplevede mere indflydelse på deres hverdag.
""".encode()


def test_upload_via_one_replica_is_answered_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.nodes
    with httpx.Client(base_url=a.url, timeout=60) as ca, httpx.Client(
        base_url=b.url, timeout=60
    ) as cb, httpx.Client(base_url=cluster.balancer_url, timeout=60) as lb:
        job = _wait_job(lb, _upload(ca, "gaerdesmutte.md", UPLOAD))
        assert job["status"] == "done", job
        doc_id = job["report"]["added"][0]
        answer = cb.post("/api/ask", json={"question": f"Hvad viste evalueringen af {MARKER}?"})
        assert answer.status_code == 200, answer.text
        assert doc_id in {c["doc_id"] for c in answer.json()["citations"]}
        assert lb.delete(f"/api/documents/{doc_id}", headers=ADMIN).status_code == 200
        assert ca.get(f"/api/documents/{doc_id}").status_code == 404
        assert cb.get(f"/api/documents/{doc_id}").status_code == 404


def test_feedback_and_workshop_questions_from_both_replicas_are_seen_together(
    cluster: Cluster,
) -> None:
    from sqlalchemy import create_engine, text

    from assistant.db.engine import normalise_url

    a, b = cluster.nodes
    with httpx.Client(base_url=a.url, timeout=60) as ca, httpx.Client(
        base_url=b.url, timeout=60
    ) as cb:
        marks = []
        for name, c in (("a", ca), ("b", cb)):
            mark = f"cluster feedback via {name} {time.time_ns()}"
            r = c.post("/api/feedback", json={"question": mark, "answer": "svar", "rating": "up"})
            assert r.status_code == 201, r.text
            marks.append(mark)
        room = ca.post("/api/workshops", json={"title": "Klynge", "language": "da"}, headers=ADMIN)
        assert room.status_code == 201, room.text
        code = room.json()["code"]
        trainer = {"Authorization": f"Bearer {room.json()['trainer_token']}"}
        texts = []
        for name, c in (("a", ca), ("b", cb)):
            joined = c.post(f"/api/workshops/{code}/join")
            assert joined.status_code == 200, joined.text
            who = {"X-Participant-Id": joined.json()["participant_id"]}
            texts.append(f"Hvordan arbejder I med recovery? ({name})")
            r = c.post(f"/api/workshops/{code}/questions", json={"text": texts[-1]}, headers=who)
            assert r.status_code == 201, r.text
        for c in (ca, cb):
            listed = c.get(f"/api/workshops/{code}/questions", headers=trainer)
            assert listed.status_code == 200, listed.text
            assert {q["text"] for q in listed.json()["questions"]} == set(texts)
        assert ca.delete(f"/api/workshops/{code}", headers=trainer).status_code == 204
    # Feedback has no reading endpoint: both rows must be in the one database.
    engine = create_engine(normalise_url(cluster.url))
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT question FROM feedback WHERE question LIKE 'cluster feedback via %'")
            ).scalars()
            assert set(marks) <= set(stored)
    finally:
        engine.dispose()


# --- faults -----------------------------------------------------------------------------------


def test_a_database_outage_gives_503s_then_recovers_without_restarting_replicas(
    cluster: Cluster,
) -> None:
    assert cluster.postgres is not None
    pids = [n.proc.pid for n in cluster.nodes]  # type: ignore[union-attr]
    seen: list[tuple[str, int, dict]] = []
    cluster.postgres.stop()
    try:
        stopped = time.monotonic()
        with httpx.Client(timeout=30) as c:
            while time.monotonic() - stopped < 10:
                for node in cluster.nodes:
                    r = c.get(f"{node.url}/readyz")
                    seen.append(("readyz", r.status_code, r.json()))
                r = c.post(
                    f"{cluster.balancer_url}/api/ask", json={"question": QUESTIONS[0]}
                )
                seen.append(("ask", r.status_code, r.json() if r.content else {}))
                time.sleep(0.5)
    finally:
        cluster.postgres.start()
    statuses = {(kind, status) for kind, status, _ in seen}
    assert not [s for s in seen if s[1] >= 500 and s[1] != 503], seen
    assert ("readyz", 503) in statuses and ("readyz", 200) not in statuses, statuses
    # An ask is a 503 with a message, or answered from the snapshot in memory; never a 500.
    asks = [(status, body) for kind, status, body in seen if kind == "ask"]
    assert asks and all(status in (200, 503) for status, _ in asks), asks
    assert all(body["error"]["message"] for status, body in asks if status == 503), asks
    # Recovery on their own: the same processes answer again once the database is back.
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=30) as c:
        for node in cluster.nodes:
            while c.get(f"{node.url}/readyz").status_code != 200:
                assert time.monotonic() < deadline, f"{node.name} did not recover"
                time.sleep(0.5)
        r = c.post(f"{cluster.balancer_url}/api/ask", json={"question": QUESTIONS[0]})
        assert r.status_code == 200, r.text
    assert [n.proc.pid for n in cluster.nodes] == pids  # type: ignore[union-attr]


def test_killing_a_replica_under_load_fails_only_its_requests_in_flight(cluster: Cluster) -> None:
    """Six clients ask through the balancer; replica b is killed (SIGKILL) meanwhile. Only
    requests that started before it was gone may fail (with nginx's 502), everything after
    goes to replica a; b, started again, is taken back by the balancer."""
    results: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=cluster.balancer_url, timeout=60) as c:
            i = n
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = c.post(
                        "/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    results.append((started, time.monotonic(), status))
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        cluster.kill_replica(1, signal.SIGKILL)
        gone = time.monotonic()
        time.sleep(5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    failed = [r for r in results if r[2] != 200]
    after = [r for r in results if r[0] > gone]
    assert len(results) > 10 and after, results
    assert all(started < gone for started, _, _ in failed), (gone, failed)
    assert len(failed) <= len(threads) and all(s == 502 for _, _, s in failed), failed
    assert all(s == 200 for _, _, s in after)
    cluster.restart_replica(1)
    with httpx.Client(timeout=30) as c:
        assert c.get(f"{cluster.nodes[1].url}/readyz").status_code == 200
        # Back in the balancer's rotation (its passive check forgot the failure after
        # fail_timeout, long past by now).
        statuses = [c.get(f"{cluster.balancer_url}/readyz").status_code for _ in range(6)]
        assert statuses == [200] * 6


def _long_document() -> bytes:
    """A document whose ingestion takes seconds (hundreds of distinct sentences to embed)."""
    paragraphs = [
        f"Afsnit {i} om {MARKER}: medarbejder nummer {i} beskriver, hvordan borger {i * 7} "
        f"planlagde {i % 5 + 2} aftaler i uge {i % 52 + 1} og fik hjælp til indkøb nummer {i * 3}."
        for i in range(150)
    ]
    return (f"# Lang rapport om {MARKER}\n\n" + "\n\n".join(paragraphs) + "\n").encode()


def test_a_worker_killed_mid_job_leaves_no_half_document(cluster: Cluster) -> None:
    """Replica a takes an upload's job (b is paused meanwhile so that a claims it) and is
    killed with SIGKILL while the job runs. The document is never half visible; the job is
    taken over by b once its lease runs out and finishes (or fails with a reason)."""
    a, b = cluster.nodes
    assert a.proc is not None and b.proc is not None
    os.killpg(b.proc.pid, signal.SIGSTOP)
    try:
        with httpx.Client(base_url=a.url, timeout=60) as ca:
            job_id = _upload(ca, "lang-rapport.md", _long_document())
            deadline = time.monotonic() + 120
            while (job := ca.get(f"/api/jobs/{job_id}").json())["status"] != "running":
                assert job["status"] == "queued" and time.monotonic() < deadline, job
                time.sleep(0.1)
            time.sleep(0.5)  # into embedding
            assert ca.get(f"/api/jobs/{job_id}").json()["status"] == "running"
        cluster.kill_replica(0, signal.SIGKILL)
    finally:
        os.killpg(b.proc.pid, signal.SIGCONT)
    with httpx.Client(base_url=b.url, timeout=60) as cb:
        listed = cb.get("/api/documents").json()
        assert not any(MARKER in json.dumps(d) for d in listed["documents"]), listed
        job = _wait_job(cb, job_id, timeout=LEASE_S + 180)
        assert job["attempts"] == 2, job
        listed = cb.get("/api/documents").json()["documents"]
        mine = [d for d in listed if "lang-rapport" in json.dumps(d)]
        if job["status"] == "done":
            assert len(mine) == 1, listed
            shown = cb.get(f"/api/documents/{mine[0]['doc_id']}").json()
            assert "Afsnit 149" in shown["text"]
        else:
            assert job["error"] and not mine, (job, listed)
    env = cluster.replica_env(cluster.root / "check")
    check = subprocess.run(
        [sys.executable, "-m", "ingest", "check"], env=env, cwd=ROOT, capture_output=True,
        text=True, check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_command_prints_the_balancer_and_replicas_and_stops_on_ctrl_c(cluster: Cluster) -> None:
    """``scripts/cluster.py`` itself (what ``make cluster`` runs), here with one replica on the
    module's PostgreSQL (its store is not empty, so nothing is ingested); Ctrl-C (SIGINT) stops
    nginx and the replica, and the command exits 0."""
    from cluster import free_port

    root = Path(tempfile.mkdtemp(prefix="kva-cli-"))
    port = free_port()
    command = [sys.executable, str(ROOT / "scripts" / "cluster.py"), "--replicas", "1"]
    command += ["--port", str(port), "--dir", str(root), "--database-url", cluster.url]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(2)]  # type: ignore[union-attr]
        assert lines[0] == f"balancer: http://127.0.0.1:{port}", lines
        assert lines[1].startswith("replica: http://127.0.0.1:"), lines
        replica = lines[1].removeprefix("replica: ")
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        for url in (f"http://127.0.0.1:{port}", replica):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{url}/healthz", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
