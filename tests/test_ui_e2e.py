"""End to end in a real headless Chromium: the started API over the bundled corpus + the UI.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``; Playwright's own browser
download is not used). Skipped when it is missing or ``KVA_SKIP_E2E=1``. Screenshots and the
exported handouts land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import ui_fixtures as F

CHROMIUM = os.environ.get("KVA_CHROMIUM", "/usr/bin/chromium")
SHOTS = F.ROOT / "artifacts" / "screenshots"
API_KEY = "e2e-admin-key"
UPLOAD_TEXT = (
    "Pejlemærker for god bostøtte\n\n"
    "Bostøtten tager udgangspunkt i borgerens egne mål. Medarbejderne arbejder "
    "recovery-orienteret og inddrager borgerens netværk, når borgeren ønsker det.\n"
).encode()
QUESTION_DA = "Hvem har udarbejdet de nye litteraturstudier om kvalitet på botilbud og i bostøtte?"

pytestmark = pytest.mark.skipif(
    os.environ.get("KVA_SKIP_E2E") == "1" or not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install -y chromium)",
)
playwright_api = pytest.importorskip("playwright.sync_api")
# First answers load models on a small shared CPU: be patient, but not forever.
playwright_api.expect.set_options(timeout=120_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Ingest the corpus into a temp data dir, start API and UI; yield the UI's URL."""
    from ingest.pipeline import Indexer
    from ingest.settings import Settings

    data_dir = tmp_path_factory.mktemp("kva-data")
    report = Indexer(Settings(data_dir=data_dir)).run([F.ROOT / "corpus"])
    assert report.added, report
    logs = tmp_path_factory.mktemp("logs")
    env = {**os.environ, "KVA_DATA_DIR": str(data_dir)}
    env["KVA_API_KEY"] = API_KEY
    api_port, ui_port = free_port(), free_port()
    has_cli = (F.ROOT / "assistant" / "__main__.py").exists()
    serve = ["-m", "assistant", "serve"] if has_cli else ["-m", "assistant.serve"]
    api = subprocess.Popen(
        [sys.executable, *serve, "--port", str(api_port)],
        cwd=F.ROOT,
        env=env,
        stdout=(logs / "api.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    ui_env = {**env, "API_URL": f"http://127.0.0.1:{api_port}"}
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "ui/app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(ui_port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=F.ROOT,
        env=ui_env,
        stdout=(logs / "ui.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{api_port}/readyz", api)
        wait_http(f"http://127.0.0.1:{ui_port}/_stcore/health", ui)
        yield f"http://127.0.0.1:{ui_port}"
    finally:
        stop(ui)
        stop(api)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


IDLE_JS = """() => !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stStatusWidget"]')"""


def wait_idle(page: object) -> None:
    """Streamlit fades stale elements while a run is in progress; wait until it has finished."""
    page.wait_for_function(IDLE_JS, timeout=120_000)  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_idle(page)
    page.screenshot(path=str(SHOTS / name), full_page=True)  # type: ignore[attr-defined]


def test_ask_cite_switch_language_and_export(servers: str, browser: object) -> None:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)  # type: ignore[attr-defined]
    page.set_default_timeout(120_000)
    page.goto(servers)
    expect(page.get_by_text("Skriv ikke personoplysninger", exact=False)).to_be_visible()
    shot(page, "01-start-da.png")

    chat = page.get_by_placeholder("Skriv dit spørgsmål …")
    chat.fill(QUESTION_DA)
    chat.press("Enter")
    expect(page.get_by_test_id("stChatMessage").first).to_contain_text(QUESTION_DA)
    source = page.get_by_role("button", name="[1]", exact=False).first
    expect(source).to_be_visible()
    expect(page.locator(".kva-marker").first).to_be_visible()
    shot(page, "02-answer-da.png")

    page.get_by_role("button", name="Nyttigt", exact=True).click()
    comment = page.get_by_label("Kommentar (valgfri)", exact=True)
    comment.fill("Godt svar til introforløbet")
    comment.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Tak for din feedback!")).to_be_visible()

    source.click()
    expect(page.locator(".kva-passage mark").first).to_be_visible()
    expect(page.get_by_text("Udgivet:", exact=False).first).to_be_visible()
    shot(page, "03-citation-open.png")

    page.get_by_text("English", exact=True).click()
    expect(page.get_by_text("Presentation mode", exact=True)).to_be_visible()
    expect(page.get_by_text("personal data about citizens", exact=False)).to_be_visible()
    shot(page, "04-english.png")

    for label, suffix in (("Markdown", "md"), ("Word (DOCX)", "docx"), ("PDF", "pdf")):
        with page.expect_download() as download_info:
            page.get_by_role("button", name=label).click()
        target = SHOTS / f"handout.{suffix}"
        download_info.value.save_as(str(target))
        assert target.stat().st_size > 0
    handout = (SHOTS / "handout.md").read_text(encoding="utf-8")
    assert QUESTION_DA in handout
    assert "List of sources" in handout
    assert "«" in handout  # quotes made it into the handout
    shot(page, "05-exported.png")

    page.get_by_text("Presentation mode", exact=True).click()
    expect(page.locator(".stMain")).to_have_css("background-color", "rgb(0, 0, 0)")
    shot(page, "06-presentation-mode.png")
    page.close()


def test_documents_page_and_abstention(servers: str, browser: object) -> None:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.set_default_timeout(120_000)
    page.goto(servers)
    wait_idle(page)
    chat = page.get_by_placeholder("Skriv dit spørgsmål …")
    chat.fill("Hvad koster en pizza i Aarhus?")
    chat.press("Enter")
    expect(page.get_by_text("Materialet dækker ikke dette", exact=False)).to_be_visible()
    shot(page, "07-abstention-da.png")

    page.get_by_role("link", name="Dokumenter").click()
    expect(page.get_by_text("Materialet", exact=True).first).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    shot(page, "08-documents.png")

    page.get_by_text("Administration", exact=True).click()
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "pejlemaerker.txt", "mimeType": "text/plain", "buffer": UPLOAD_TEXT}]
    )
    key_field = page.get_by_label("API-nøgle", exact=True)
    key_field.fill("wrong-key")
    key_field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Upload og indlæs").click()
    expect(page.get_by_text("nøglen er forkert", exact=False)).to_be_visible()
    shot(page, "09-upload-refused.png")

    key_field.fill(API_KEY)
    key_field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Upload og indlæs").click()
    expect(page.get_by_text("Indlæsning færdig.", exact=True)).to_be_visible()
    shot(page, "10-upload-done.png")
    page.close()


def test_api_down_is_explained(browser: object) -> None:
    """UI alone, pointed at a closed port: the page must say so kindly, not crash."""
    port = free_port()
    env = {**os.environ, "API_URL": f"http://127.0.0.1:{free_port()}"}
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "ui/app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=F.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", ui)
        page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{port}")
        playwright_api.expect(page.get_by_text("kan ikke nås", exact=False).first).to_be_visible(
            timeout=60_000
        )
        shot(page, "11-api-down.png")
        page.close()
    finally:
        stop(ui)
