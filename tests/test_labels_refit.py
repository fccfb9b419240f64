"""Evaluators label answers through the API, and ``python -m evals refit`` learns from them:
ten labels (seven answering sentences, three "not covered") on a real server, then a refit that
compares the models on a held-out suite and installs the new one or says why not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import api_fixtures
import httpx
from api_fixtures import Server, admin_headers, start_server

from ingest.settings import PROJECT_ROOT

api = api_fixtures.api

DOC = "nyhed-kvalitet-botilbud-bostoette-da"
# (question, words that start the answering sentence in the seed text, a fact in it)
ANSWERS = [
    ("Hvem står bag de to litteraturstudier om kvalitet?", "De to litteraturstudier", None),
    ("Hvornår kommer pejlemærkerne for bostøtte?", "De to litteraturstudier", "2021"),
    ("Hvad presser socialpsykiatrien?", "Gennem de senere år", None),
    ("Hvad skal indsatskataloget indeholde?", "De to litteraturstudier", "indsatskatalog"),
    ("hvorfor skal kvaliteten i socialpsykiatrien udvikles", "Gennem de senere år", None),
    ("hvem har brug for støtte i socialpsykiatrien", "Gennem de senere år", "komplekse"),
    ("Hvad handler kvalitetsarbejdet om?", "De to litteraturstudier", "kvaliteten"),
]
NOT_COVERED = [
    "Hvad koster en plads på et botilbud i Aarhus?",
    "Hvem er formand for Socialpsykiatriens Fællesråd?",
    "Hvilken dag lukker kontoret i julen?",
]
HELD_OUT = """name: refit-check
description: A few seed questions the refit compares the models on.
cases:
  - id: h1
    question: Hvad er formålet med de faglige pejlemærker for bostøtte?
    language: da
    expected_facts: [["pejlemærker"]]
  - id: h2
    question: What are the two tracks of the initiative?
    language: en
    expected_facts: [["botilbud", "housing"]]
  - id: h3
    question: How do I bake sourdough bread?
    language: en
    must_abstain: true
"""


def _sentence(text: str, opening: str) -> tuple[int, int]:
    start = text.index(opening)
    end = text.index(".", start) + 1
    return start, end


def _label_ten(client: httpx.Client) -> list[dict]:
    text = client.get(f"/api/documents/{DOC}").json()["text"]
    made = []
    for question, opening, fact in ANSWERS:
        start, end = _sentence(text, opening)
        body = {
            "question": question,
            "verdict": "answer",
            "doc_id": DOC,
            "start": start,
            "end": end,
            "fact": fact,
        }
        r = client.post("/api/labels", json=body, headers=admin_headers())
        assert r.status_code == 201, r.text
        assert r.json()["quote"] == text[start:end] and r.json()["language"] == "da"
        made.append(r.json())
    for question in NOT_COVERED:
        r = client.post(
            "/api/labels",
            json={"question": question, "verdict": "not_covered"},
            headers=admin_headers(),
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


def test_labels_are_checked_against_the_store_and_need_the_key(api: Server) -> None:
    with api.client() as client:
        body = {"question": "Hvad?", "verdict": "answer", "doc_id": DOC, "start": 0, "end": 20}
        assert client.post("/api/labels", json=body).status_code == 401
        assert client.post(
            "/api/labels", json=body, headers=admin_headers("wrong")
        ).status_code in (
            401,
            403,
        )
        refusals = [
            ({**body, "doc_id": "no-such-doc"}, 404, "document_not_found"),
            ({**body, "start": 30, "end": 10}, 422, "invalid_span"),
            ({**body, "end": 10_000_000}, 422, "invalid_span"),
            ({**body, "fact": "words not in the span"}, 422, "invalid_fact"),
            ({"question": "Hvad?", "verdict": "not_covered", "doc_id": DOC}, 422, "invalid_label"),
            ({"question": "Hvad?", "verdict": "answer"}, 422, "invalid_label"),
            ({"question": "", "verdict": "answer"}, 422, "invalid_request"),
        ]
        for payload, status, code in refusals:
            r = client.post("/api/labels", json=payload, headers=admin_headers())
            assert r.status_code == status, (payload, r.text)
            assert r.json()["error"]["code"] == code, r.text
        # A CPR number in a labelled question is masked before it is stored.
        r = client.post(
            "/api/labels",
            json={"question": "Borger 010203-1234: hvad gælder?", "verdict": "not_covered"},
            headers=admin_headers(),
        )
        assert r.status_code == 201 and "1234" not in r.json()["question"]
        listed = client.get("/api/labels", headers=admin_headers()).json()
        assert listed[-1]["id"] == r.json()["id"]
        assert client.get("/api/labels").status_code == 401


def test_ten_labels_through_the_api_then_refit(api: Server, tmp_path: Path) -> None:
    with api.client() as client:
        before = len(client.get("/api/labels", headers=admin_headers()).json())
        _label_ten(client)
        # Every stored label becomes a case (another test may have stored some before).
        labels_used = len(client.get("/api/labels", headers=admin_headers()).json())
        assert labels_used == before + 10
    held_out = tmp_path / "held-out.yaml"
    held_out.write_text(HELD_OUT, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "evals",
        "refit",
        "--data-dir",
        str(api.settings.data_dir),
        "--tune",
        "evals/suites/core.yaml",
        "--held-out",
        str(held_out),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVA_")}
    run = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=900
    )
    out = run.stdout
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert f"labels used: {labels_used}" in out, out
    assert "refit-check: fact recall" in out, out
    assert "refit-check: questions to decline declined" in out, out
    installed = api.settings.installed_model_path
    if run.returncode == 1:
        # Refused: it says why, and nothing is installed; --force installs all the same.
        assert "refused: refit-check" in out and not installed.exists(), out
        forced = subprocess.run(
            [*command, "--force"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert forced.returncode == 0, forced.stderr[-2000:]
    assert installed.is_file()
    model = json.loads(installed.read_text(encoding="utf-8"))
    assert model["provenance"]["fitted_by"] == "python -m evals refit"
    assert model["provenance"]["labels"] == labels_used
    assert "organisation-labels" in model["provenance"]["tuning_suites"]
    # The fit's choices among what the tuning data cannot tell apart: the card in use stays
    # unless the grid's is better beyond noise, the decline threshold is the lowest within a
    # standard error of the best F1, the sentence fit the simplest within one of the best.
    bundled = json.loads((PROJECT_ROOT / "assistant" / "answer_model.json").read_text("utf-8"))
    card_fit = model["provenance"]["card"]
    assert isinstance(card_fit["kept_incumbent"], bool)
    assert (model["card"] == bundled["card"]) or not card_fit["kept_incumbent"]
    answerable_fit = model["provenance"]["answerable"]
    assert answerable_fit["threshold"] <= answerable_fit["threshold_best_f1"]
    sentence_fit = model["provenance"]["sentence"]
    assert sentence_fit["selection"] == "one standard error"
    assert sentence_fit["top1_out_of_fold"] <= sentence_fit["top1_best_out_of_fold"]
    # A server started on that data dir answers with the installed model and names it.
    fresh = start_server(api.settings, api.logs)
    try:
        ready = httpx.get(f"{fresh.url}/readyz", timeout=10).json()
        assert ready["answer_model"]["path"] == str(installed)
        assert ready["answer_model"]["labels"] == labels_used
    finally:
        fresh.stop()
        installed.unlink()


def test_refit_refuses_without_a_held_out_suite_it_can_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVA_")}
    (tmp_path / "data").mkdir()
    absent = tmp_path / "absent.yaml"
    absent.write_text(
        "name: absent\ncorpus: no-such-folder\ncases:\n  - id: a\n    question: Hvad?\n"
        "    must_abstain: true\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "refit",
            "--data-dir",
            str(tmp_path / "data"),
            "--tune",
            "evals/suites/core.yaml",
            "--held-out",
            str(absent),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 1, run.stderr
    assert "refused: no held-out suite can run here" in run.stdout
    assert "held-out suite left out: absent" in run.stderr
    assert not (tmp_path / "data" / "answer_model.json").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "evals", "refit", "--held-out", str(tmp_path / "nope.yaml")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert missing.returncode == 2 and "no such suite file" in missing.stderr
    nowhere = subprocess.run(
        [sys.executable, "-m", "evals", "refit", "--data-dir", str(tmp_path / "typo")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert nowhere.returncode == 2 and "no data folder" in nowhere.stderr
    assert not (tmp_path / "typo").exists()


def test_refit_names_a_broken_model_in_use_before_it_fits(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVA_")}
    data = tmp_path / "data"
    data.mkdir()
    broken = data / "answer_model.json"
    broken.write_text("{not json", encoding="utf-8")
    held_out = tmp_path / "held-out.yaml"
    held_out.write_text(HELD_OUT, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable, "-m", "evals", "refit", "--data-dir", str(data),
            "--tune", "evals/suites/core.yaml", "--held-out", str(held_out),
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "cannot read the answer model" in run.stderr
    # Nothing was fitted or written: the broken file is as it was, no store was built for it.
    assert broken.read_text(encoding="utf-8") == "{not json"
    assert "is in step with" not in run.stderr


def test_each_label_becomes_a_case_and_a_malformed_one_is_left_out(capsys) -> None:  # noqa: ANN001
    from assistant.db.labels import Label
    from evals.refit import labels_suite

    answer = Label(id=1, question="Hvornår?", language="da", verdict="answer", doc_id="d",
                   start=0, end=10, quote="Udkommer **i 2021**.", author="e")
    fact = Label(id=2, question="Hvem?", language="da", verdict="answer", doc_id="d", start=0,
                 end=4, quote="VIVE har skrevet", fact="VIVE", author="e")
    decline = Label(id=3, question="Kaffe?", language="da", verdict="not_covered", author="e")
    too_long = Label(id=4, question="x" * 3000, language="da", verdict="not_covered", author="e")
    suite = labels_suite([answer, fact, decline, too_long])
    assert [c.id for c in suite.cases] == ["label-1", "label-2", "label-3"]
    assert suite.cases[0].expected_facts == [["Udkommer i 2021."]]  # the quote as it reads
    assert suite.cases[1].expected_facts == [["VIVE"]] and suite.cases[1].expected_sources == ["d"]
    assert suite.cases[2].must_abstain
    assert "label 4 left out" in capsys.readouterr().err
    assert labels_suite([]) is None
