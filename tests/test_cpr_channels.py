"""CPR numbers in 18 everyday spellings through every API channel (issue 23, point 1).

Each (channel, spelling) pair gets its own number, so a leak names where it came in. After
sending them all through a real server on loopback, the test looks for every number's digits
(any separators, compatibility forms folded) in the API log, the responses and every file
under the data dir: feedback database, records and document ids, uploads/, jobs, Chroma,
the keyword index. The count found unmasked must be 0.

Workshop questions and participants' names go in through the workshop endpoints (the
room's title too).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from pathlib import Path

import api_fixtures
import httpx
from api_fixtures import Server, admin_headers

api = api_fixtures.api

FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

# How a number is written: the 11 the masking always knew, then the 7 the campaign leaked.
SPELLINGS: dict[str, str] = {
    "plain": "{d}{m}{y}{n}",
    "hyphen": "{d}{m}{y}-{n}",
    "space": "{d}{m}{y} {n}",
    "dotted date": "{d}.{m}.{y}-{n}",
    "dashed date": "{d}-{m}-{y}-{n}",
    "slash": "{d}{m}{y}/{n}",
    "underscore": "{d}{m}{y}_{n}",
    "en dash": "{d}{m}{y}\u2013{n}",
    "non-breaking hyphen": "{d}{m}{y}\u2011{n}",
    "non-breaking space": "{d}{m}{y}\u00a0{n}",
    "minus sign": "{d}{m}{y}\u2212{n}",
    "line break": "{d}{m}{y}\n{n}",
    "zero-width space": "{d}{m}{y}\u200b{n}",
    "soft hyphen": "{d}{m}{y}\u00ad{n}",
    "fullwidth digits": "fullwidth",
    "two spaces": "{d}{m}{y}  {n}",
    "thin space and dash": "{d}{m}{y}\u2009\u2013\u2009{n}",
    "double dash": "{d}{m}{y} -- {n}",
}
CHANNELS = [
    "question",
    "history",
    "stream question",
    "v1 message",
    "v1 history",
    "search query",
    "feedback",
    "request id",
    "upload name",
    "workshop question",
    "workshop name",
]
# Extra upload names from the campaign: separators the name cleaner turns into "_".
NAME_SEPARATORS = ["+", "!", "~", ","]


def _number(channel: int, spelling: int) -> str:
    """Ten digits unique to this pair: a valid day and month, year 47, a serial."""
    return f"{10 + spelling:02d}{channel + 1:02d}47{7000 + spelling * 20 + channel:04d}"


def _spell(digits: str, spelling: str) -> str:
    d, m, y, n = digits[:2], digits[2:4], digits[4:6], digits[6:]
    if spelling == "fullwidth digits":
        return f"{d}{m}{y}-{n}".translate(FULLWIDTH)
    return SPELLINGS[spelling].format(d=d, m=m, y=y, n=n)


def _cases(channel: str) -> list[tuple[str, str]]:
    """(digits, written form) for each spelling on one channel."""
    c = CHANNELS.index(channel)
    return [(_number(c, s), _spell(_number(c, s), name)) for s, name in enumerate(SPELLINGS)]


def _finder(digits: str) -> re.Pattern[str]:
    # Independent of the code under test: the digits in order, up to 8 other characters
    # between two of them (a separator, a JSON escape such as "\\u200b").
    return re.compile(r"(?<!\d)" + r"\D{0,8}".join(digits) + r"(?!\d)")


_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")


def _unescaped(text: str) -> str:
    """JSON's "\\u2013" reads as the character it stands for (its hex digits are no digits of
    a number); compatibility forms such as fullwidth digits count as the digits they show."""
    return unicodedata.normalize("NFKC", _ESCAPE.sub(lambda m: chr(int(m[0][2:], 16)), text))


def _haystacks(data_dir: Path, extra: list[str]) -> list[tuple[str, str]]:
    found = [("response or log", text) for text in extra]
    for path in sorted(data_dir.rglob("*")):
        found.append(("file name", str(path.relative_to(data_dir))))
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "ignore")
            found.append((str(path.relative_to(data_dir)), text))
    return [(where, _unescaped(text)) for where, text in found]


def _wait_for_job(client: httpx.Client, job_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_the_leak_finder_sees_every_spelling() -> None:
    """The check below cannot pass by missing what it looks for."""
    for channel in CHANNELS:
        for digits, written in _cases(channel):
            text = _unescaped(json.dumps(f"x {written} y"))
            assert _finder(digits).search(text), written
    assert len(SPELLINGS) == 18


def test_cpr_spellings_are_masked_on_every_channel(api: Server) -> None:
    responses: list[str] = []
    log_start = len(api.logs.text())
    with api.client() as c:
        # Question and history (one /api/ask each), with the request id header.
        question = _cases("question")
        history = _cases("history")
        header = _cases("request id")
        for (_, q), (_, h), (_, rid) in zip(question, history, header, strict=True):
            headers = {} if "\n" in rid else {"X-Request-ID": rid.encode()}
            r = c.post(
                "/api/ask",
                json={
                    "question": f"Hvad gælder for borger {q} på botilbud?",
                    "history": [
                        {"role": "user", "content": f"Borger {h} har bostøtte."},
                        {"role": "assistant", "content": f"Om borger {h}: ingen svar."},
                    ],
                },
                headers=headers,
            )
            assert r.status_code == 200, r.text
            assert r.json()["warnings"], f"no CPR warning for {q!r}"
            responses += [r.text, r.headers["x-request-id"]]
        # The streamed answer.
        for _, q in _cases("stream question"):
            r = c.post("/api/ask/stream", json={"question": f"Hvad med borger {q}?"})
            assert r.status_code == 200, r.text
            responses.append(r.text)
        # /v1: the last user message (a string, or a list of parts) and an earlier turn.
        for i, ((_, q), (_, h)) in enumerate(
            zip(_cases("v1 message"), _cases("v1 history"), strict=True)
        ):
            last = f"Hvad gælder for borger {q}?"
            content: object = last if i % 2 else [{"type": "text", "text": last}]
            r = c.post(
                "/v1/chat/completions",
                json={
                    "model": "kvalitetsassistenten",
                    "messages": [
                        {"role": "user", "content": f"Jeg arbejder med borger {h}."},
                        {"role": "assistant", "content": f"Borger {h} er noteret."},
                        {"role": "user", "content": content},
                    ],
                },
            )
            assert r.status_code == 200, r.text
            responses.append(r.text)
        for _, q in _cases("search query"):
            r = c.get("/api/search", params={"q": f"bostøtte {q}"})
            assert r.status_code == 200, r.text
            responses.append(r.text)
        for _, f in _cases("feedback"):
            r = c.post(
                "/api/feedback",
                json={
                    "question": f"Borger {f}?",
                    "answer": f"Svar om {f}.",
                    "rating": "down",
                    "comment": f"Nævnte {f}",
                    "history": [{"role": "user", "content": f"Tidligere {f}"}],
                },
            )
            assert r.status_code == 201, r.text
        # Workshops: a participant's question and optional name (18 questions from three
        # participants: each may ask 10 a minute).
        room = c.post("/api/workshops", json={"title": "CPR-test"}, headers=admin_headers()).json()
        participants = [
            c.post(f"/api/workshops/{room['code']}/join").json()["participant_id"] for _ in range(3)
        ]
        for i, ((_, q), (_, n)) in enumerate(
            zip(_cases("workshop question"), _cases("workshop name"), strict=True)
        ):
            r = c.post(
                f"/api/workshops/{room['code']}/questions",
                json={"text": f"Hvad gælder for borger {q}?", "name": f"Deltager {n}"},
                headers={"X-Participant-Id": participants[i % 3]},
            )
            assert r.status_code == 201, r.text
            assert r.json().get("warnings"), r.text
            responses.append(r.text)
        trainer = {"Authorization": f"Bearer {room['trainer_token']}"}
        r = c.get(f"/api/workshops/{room['code']}/questions", headers=trainer)
        responses.append(r.text)
        # Upload names: every spelling, and the separators the cleaner turns into "_".
        names = [f"n{i} {value}.txt" for i, (_, value) in enumerate(_cases("upload name"))]
        digits = _number(CHANNELS.index("upload name"), len(SPELLINGS))
        names += [
            f"s{i} {digits[:6]}{sep}{digits[6:]}.txt" for i, sep in enumerate(NAME_SEPARATORS)
        ]
        files = [
            ("files", (name, f"Testfil {i} om bostøtte og kvalitet.\n".encode(), "text/plain"))
            for i, name in enumerate(names)
        ]
        doc_ids: list[str] = []
        sent: list[str] = []
        try:
            for batch in (files[:11], files[11:]):  # at most 20 files per upload
                r = c.post("/api/documents", files=batch, headers=admin_headers())
                assert r.status_code == 202, r.text
                responses.append(r.text)
                sent += r.json()["files"]
                job = _wait_for_job(c, r.json()["job_id"])
                assert job["status"] == "done", job
                responses.append(json.dumps(job, ensure_ascii=False))
            listing = c.get("/api/documents").json()["documents"]
            responses.append(json.dumps(listing, ensure_ascii=False))
            stored = {Path(f).name for f in job["files"]} | set(sent)
            doc_ids = [d["doc_id"] for d in listing if Path(d["source_path"]).name in stored]
            # A "/" ends a path component, so "n5 150947/7108.txt" is saved as "7108.txt".
            assert len(doc_ids) == len(names), sorted(d["doc_id"] for d in listing)
            leaks = _leaks(api, responses, log_start, extra_digits=[digits])
        finally:
            for doc_id in doc_ids:
                c.delete(f"/api/documents/{doc_id}", headers=admin_headers())
    assert leaks == [], f"{len(leaks)} unmasked CPR numbers: {leaks[:10]}"


def _leaks(api: Server, responses: list[str], log_start: int, extra_digits: list[str]) -> list[str]:
    """'channel / spelling -> where' for every number found unmasked."""
    # The API's log: this process's root logger also holds the test client's (httpx) lines.
    lines = api.logs.text()[log_start:].splitlines()
    log_text = "\n".join(line for line in lines if '"logger": "httpx"' not in line)
    # Every ask was logged with its CPR flag set (how operators see the warning), unless a
    # workshop had masked the question before asking.
    asks = [e for e in map(json.loads, log_text.splitlines()) if e.get("msg") == "ask"]
    unflagged = [e for e in asks if not e["cpr"] and "******-****" not in e["question"]]
    assert asks and not unflagged, unflagged[:3]
    haystacks = _haystacks(api.settings.data_dir, [*responses, log_text])
    numbers = [
        (f"{channel} / {spelling}", _number(c, s))
        for c, channel in enumerate(CHANNELS)
        for s, spelling in enumerate(SPELLINGS)
    ] + [(f"upload name / {sep!r}", d) for d in extra_digits for sep in NAME_SEPARATORS[:1]]
    found = []
    for label, digits in numbers:
        finder = _finder(digits)
        found += [
            f"{label} -> {where}: {text[max(0, m.start() - 60) : m.end() + 20]!r}"
            for where, text in haystacks
            if (m := finder.search(text))
        ]
    return found
