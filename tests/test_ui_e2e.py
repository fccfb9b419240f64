"""The three kinds of users' days in a real headless Chromium, on a laptop and a phone screen.

One API (over the bundled corpus, in a temp data dir) and one UI serve the whole module. Each
journey asserts what a person would see: visible, inside the viewport, legible (WCAG contrast
of the painted colours), in the UI's language. Screenshots and the exported handouts land in
``artifacts/screenshots/``.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``; Playwright's own browser
download is not used). Skipped when it is missing or ``KVA_SKIP_E2E=1``.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import ui_fixtures as F

CHROMIUM = os.environ.get("KVA_CHROMIUM", "/usr/bin/chromium")
SHOTS = F.ROOT / "artifacts" / "screenshots"
API_KEY = "e2e-admin-key"
CPR = "010190-1234"

pytestmark = pytest.mark.skipif(
    os.environ.get("KVA_SKIP_E2E") == "1" or not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install -y chromium)",
)
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# First answers load models on a small shared CPU: be patient, but not forever.
expect.set_options(timeout=90_000)

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}


@dataclass
class Servers:
    ui: str
    api: str


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
        proc.wait(timeout=15)


def streamlit_cmd(port: int) -> list[str]:
    # The rest of the settings (toolbar, upload cap) come from .streamlit/config.toml.
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "ui/app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Ingest the corpus into a temp data dir, start API and UI once for the whole module."""
    from ingest.pipeline import Indexer
    from ingest.settings import Settings

    data_dir = tmp_path_factory.mktemp("kva-data")
    report = Indexer(Settings(data_dir=data_dir)).run([F.ROOT / "corpus"])
    assert report.added, report
    logs = tmp_path_factory.mktemp("logs")
    env = {**os.environ, "KVA_DATA_DIR": str(data_dir), "KVA_API_KEY": API_KEY}
    api_port, ui_port = free_port(), free_port()
    with (logs / "api.log").open("wb") as api_log, (logs / "ui.log").open("wb") as ui_log:
        api = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(api_port)],
            cwd=F.ROOT,
            env=env,
            stdout=api_log,
            stderr=subprocess.STDOUT,
        )
        ui = subprocess.Popen(
            streamlit_cmd(ui_port),
            cwd=F.ROOT,
            env={**env, "API_URL": f"http://127.0.0.1:{api_port}"},
            stdout=ui_log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{api_port}/readyz", api)
            wait_http(f"http://127.0.0.1:{ui_port}/_stcore/health", ui)
            yield Servers(ui=f"http://127.0.0.1:{ui_port}", api=f"http://127.0.0.1:{api_port}")
        finally:
            stop(ui)
            stop(api)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A fresh browser context per journey; the phone one also prefers a dark theme."""
    name = request.param
    phone = name == "phone"
    context = browser.new_context(
        viewport=VIEWPORTS[name],
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if phone else "light",
        accept_downloads=True,
        locale="da-DK",
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.viewport_name = name  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


# --- what a person sees ------------------------------------------------------------------

IDLE_JS = """() => !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stStatusWidget"]')"""

IN_VIEW_JS = """(el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""

# WCAG contrast of the colour actually painted (text fill colour over the composited
# backgrounds of the element and its ancestors).
CONTRAST_JS = """(el) => {
  const parse = (c) => {
    const m = (c || '').match(/rgba?\\(([^)]+)\\)/);
    if (!m) { return null; }
    const p = m[1].split(',').map((s) => parseFloat(s));
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, base) => ({
    r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a), a: 1});
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c && c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
  }
  let bg = {r: 255, g: 255, b: 255, a: 1};
  for (let i = layers.length - 1; i >= 0; i--) { bg = over(layers[i], bg); }
  const style = getComputedStyle(el);
  const fg = over(parse(style.webkitTextFillColor) || parse(style.color), bg);
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const [a, b] = [lum(fg), lum(bg)];
  return {ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), bg: lum(bg),
          size: parseFloat(style.fontSize)};
}"""


def wait_idle(page: Any) -> None:
    """Streamlit fades stale elements while a run is in progress; wait until it has finished."""
    page.wait_for_function(IDLE_JS, timeout=90_000)
    page.wait_for_timeout(250)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_idle(page)
    page.screenshot(path=str(SHOTS / f"{page.viewport_name}-{name}.png"))


def legible(locator: Any, min_ratio: float = 4.5) -> dict[str, float]:
    """Assert the element's text reads against what is behind it; returns the measures."""
    expect(locator).to_be_visible()
    measured = locator.evaluate(CONTRAST_JS)
    assert measured["ratio"] >= min_ratio, measured
    return measured


def eventually_in_viewport(locator: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if locator.count() and locator.first.evaluate(IN_VIEW_JS):
            return
        time.sleep(0.2)
    box = locator.first.bounding_box() if locator.count() else None
    raise AssertionError(f"not inside the viewport: {box}")


def open_sidebar(page: Any) -> None:
    """On a phone the sidebar starts collapsed behind a button; on a laptop it is open."""
    expand = page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():
        expand.click()
    expect(page.get_by_test_id("stSidebar").get_by_text("Sprog / Language")).to_be_in_viewport()
    wait_idle(page)


def close_sidebar_on_phone(page: Any) -> None:
    if page.viewport_name != "phone":
        return
    collapse = page.get_by_test_id("stSidebarCollapseButton").locator("button")
    if collapse.is_visible():
        collapse.click()
    expect(page.get_by_test_id("stSidebar").get_by_text("Sprog / Language")).not_to_be_in_viewport()


def ask(page: Any, question: str, placeholder: str = "Skriv dit spørgsmål …") -> Any:
    """Type a question, send it, and return the locator of the assistant's new message."""
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_placeholder(placeholder)
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(before + 1)
    expect(answer).to_be_visible()
    expect(
        answer.locator(".kva-answer, .kva-abstain, [data-testid='stAlert']").first
    ).to_be_visible()
    wait_idle(page)
    return answer


# --- frontline staff ---------------------------------------------------------------------


def test_frontline_asks_follows_up_sees_the_quote_and_is_kept_from_sharing_a_cpr(
    servers: Servers, page: Any
) -> None:
    page.goto(servers.ui)
    expect(page.get_by_text("Skriv ikke personoplysninger", exact=False)).to_be_visible()
    # The title, one long Danish word, stays whole on a phone too (it broke mid-word). The
    # page's style arrives after the title, so wait for it to take effect.
    page.wait_for_function(
        "() => { const e = document.querySelector('.stMain h1 [data-heading-text]');"
        " return e !== null && e.getClientRects().length === 1; }",
        timeout=15_000,
    )
    shot(page, "01-start")

    first = ask(page, "Hvad betyder recovery for indsatsen på botilbud og i bostøtten?")
    badge = first.locator("a.kva-marker").first
    expect(badge).to_be_visible()
    legible(badge)
    # Answers carry no markdown syntax or "also available in" notes.
    text = first.inner_text()
    for raw in ("##", "](#)", "**", "Findes også på", "Also available in"):
        assert raw not in text, raw

    follow = ask(page, "og hvad med bostøtten?")
    expect(follow.locator(".kva-answer, .kva-abstain").first).to_be_visible()

    cpr_turn = ask(page, f"Borgeren {CPR} bor på botilbud. Hvad er kvalitet på botilbud?")
    warning = cpr_turn.get_by_test_id("stAlert")
    expect(warning).to_contain_text("CPR-nummer")
    legible(warning.locator("p").first)
    assert CPR not in page.content()
    expect(page.get_by_text("******-****", exact=False).first).to_be_visible()

    abstain = ask(page, "Hvad koster en pizza i Aarhus?")
    expect(abstain.get_by_text("Materialet dækker ikke dette", exact=False)).to_be_visible()
    # The CPR warning belongs to its own turn, not to every later answer.
    expect(page.get_by_test_id("stAlert").filter(has_text="CPR-nummer")).to_have_count(1)
    shot(page, "02-conversation")

    # Click the first answer's inline [1]: the highlighted quote comes into view.
    badge.click()
    mark = page.locator('.kva-passage[data-src="cite-1-1"] mark')
    expect(mark).to_be_visible()
    eventually_in_viewport(mark)
    legible(mark)
    passage = page.locator('.kva-passage[data-src="cite-1-1"]')
    for raw in ("##", "](#)", "- >"):
        assert raw not in passage.inner_text(), raw
    shot(page, "03-quote-in-view")

    # A source button further down does the same.
    page.get_by_role("button", name="[1]", exact=False).last.click()
    eventually_in_viewport(page.locator(".kva-passage[data-src] mark"))

    if page.viewport_name == "phone":
        # Dark system theme: the passage box follows it instead of glaring white.
        measured = legible(page.locator(".kva-passage[data-src]"))
        assert measured["bg"] < 0.2, measured
    else:
        # No Streamlit menu with developer items ("Record screen", "Made with Streamlit").
        expect(page.get_by_test_id("stMainMenu")).to_have_count(0)
        expect(page.get_by_text("Made with Streamlit", exact=False)).to_have_count(0)


# --- trainers ----------------------------------------------------------------------------


def download(page: Any, label: str, target: Path) -> Path:
    """Click a download button and wait until the file has fully arrived."""
    wait_idle(page)
    button = page.get_by_role("button", name=label, exact=True)
    expect(button).to_be_enabled()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    got = info.value
    assert got.failure() is None, got.failure()
    got.save_as(str(target))
    assert target.stat().st_size > 0
    return target


def test_trainer_presents_asks_from_the_bank_and_hands_out(servers: Servers, page: Any) -> None:
    from docx import Document
    from pypdf import PdfReader

    phone = page.viewport_name == "phone"
    page.goto(servers.ui)
    wait_idle(page)
    open_sidebar(page)
    if not phone:  # the laptop trainer teaches in English, the phone one in Danish
        page.get_by_text("English", exact=True).click()
        expect(page.get_by_text("Presentation mode", exact=True)).to_be_visible()
    toggle = "Presentation mode" if not phone else "Præsentationstilstand"
    page.get_by_text(toggle, exact=True).click()
    expect(page.locator(".stMain")).to_have_css("background-color", "rgb(0, 0, 0)")
    wait_idle(page)
    # The sidebar reads from the back of the room too.
    label = page.get_by_test_id("stSidebar").get_by_text(toggle, exact=True)
    assert legible(label, 7)["size"] >= 18
    close_sidebar_on_phone(page)

    placeholder = "Type your question …" if not phone else "Skriv dit spørgsmål …"
    question = (
        "What does recovery mean for the support in housing?"
        if not phone
        else "Hvad betyder recovery for indsatsen på botilbud og i bostøtten?"
    )
    box = page.get_by_placeholder(placeholder)
    box.fill(question)
    typed = legible(box, 7)
    assert typed["size"] >= 20, typed
    shot(page, "04-presentation-typed")
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(1)
    badge = answer.locator("a.kva-marker").first
    legible(badge, 7)

    bank_title = "Question bank" if not phone else "Spørgsmålsbank"
    page.get_by_text(bank_title, exact=True).click()
    header = page.get_by_test_id("stExpander").filter(has_text=bank_title).locator("summary")
    legible(header, 7)
    topic = "The six sub-initiatives" if not phone else "De seks delinitiativer"
    page.get_by_role("tab", name=topic).click()
    tabs = page.get_by_role("tab").all_inner_texts()
    assert not any(t in " ".join(tabs).lower() for t in ("abstain", "injection", "plausible"))
    bank_q = (
        "What is the purpose of the competence development?"
        if not phone
        else "Hvad er formålet med kompetenceudviklingen?"
    )
    # The first answer's run may still be finishing underneath; a click it swallows is retried.
    for _ in range(3):
        wait_idle(page)
        page.get_by_role("button", name=bank_q, exact=True).click()
        try:
            expect(page.get_by_test_id("stChatMessage").nth(2)).to_contain_text(
                bank_q, timeout=30_000
            )
            break
        except AssertionError:
            continue
    expect(page.get_by_test_id("stChatMessage").nth(2)).to_contain_text(bank_q)
    expect(page.get_by_test_id("stChatMessage").nth(3).locator(".kva-answer")).to_be_visible()
    shot(page, "05-presentation-bank")

    ask(page, f"Borgeren {CPR} har bostøtte. Hvad er kvalitet?", placeholder)
    open_sidebar(page)
    stem = f"handout-{page.viewport_name}"
    md = download(page, "Markdown", SHOTS / f"{stem}.md").read_text(encoding="utf-8")
    docx_path = download(page, "Word (DOCX)", SHOTS / f"{stem}.docx")
    pdf_path = download(page, "PDF", SHOTS / f"{stem}.pdf")
    doc = Document(str(docx_path))
    docx_text = "\n".join(p.text for p in doc.paragraphs)
    pdf_text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    )
    sources = "List of sources" if not phone else "Kildeliste"
    for name, text in (("md", md), ("docx", docx_text), ("pdf", pdf_text)):
        flat = " ".join(text.split())
        assert question in flat and bank_q in flat, name
        assert sources in flat, name
        assert CPR not in flat and "******-****" in flat, name
    assert doc.core_properties.author == "Kvalitetsassistenten"
    assert round(doc.sections[0].page_width.mm) == 210
    shot(page, "06-handouts")


# --- admins and evaluators ---------------------------------------------------------------


STATUS_WATCH_JS = """() => {
  window.__kvaSeen = [];
  new MutationObserver(() => {
    document.querySelectorAll('[data-testid="stExpander"] summary').forEach((s) => {
      const t = s.innerText.trim();
      if (t && !window.__kvaSeen.includes(t)) { window.__kvaSeen.push(t); }
    });
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def choose(page: Any, label: str, option: str) -> None:
    """Pick an option of a select box; a rerun finishing underneath may close the list once."""
    for _ in range(3):
        wait_idle(page)
        page.get_by_role("combobox", name=label).click()
        item = page.get_by_role("option", name=option)
        try:
            item.click(timeout=10_000)
            return
        except playwright_api.TimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def doc_count(page: Any) -> int:
    text = page.get_by_text(re.compile(r"^\d+ dokumenter$")).first.inner_text()
    return int(text.split()[0])


def test_admin_uploads_watches_and_deletes(servers: Servers, page: Any) -> None:
    name = page.viewport_name
    title = f"Pejlemærker for god bostøtte ({name})"
    upload = (
        f"{title}\n\nBostøtten tager udgangspunkt i borgerens egne mål. Medarbejderne arbejder "
        "recovery-orienteret og inddrager borgerens netværk, når borgeren ønsker det.\n"
    ).encode()
    page.goto(servers.ui)
    wait_idle(page)
    open_sidebar(page)
    page.get_by_role("link", name="Dokumenter").click()
    close_sidebar_on_phone(page)
    expect(page.get_by_role("heading", name="Materialet")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_idle(page)
    before = doc_count(page)
    shot(page, "07-documents")

    page.get_by_text("Administration", exact=True).click()
    # Administration is on (the servers start with a key): no "how to switch it on" text.
    expect(page.get_by_text("Administration er slået til", exact=False)).to_be_visible()
    expect(page.get_by_text("KVA_API_KEY", exact=False)).to_have_count(0)
    expect(page.get_by_text("højst 50 MB pr. fil", exact=False)).to_be_visible()
    expect(page.get_by_text("200MB", exact=False)).to_have_count(0)
    page.locator("input[type=file]").set_input_files(
        files=[{"name": f"pejlemaerker-{name}.txt", "mimeType": "text/plain", "buffer": upload}]
    )
    key_field = page.get_by_label("API-nøgle", exact=True)
    key_field.fill("wrong-key")
    key_field.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Upload og indlæs").click()
    expect(page.get_by_text("nøglen er forkert", exact=False)).to_be_visible()
    shot(page, "08-upload-refused")

    key_field.fill(API_KEY)
    key_field.press("Enter")
    wait_idle(page)
    page.evaluate(STATUS_WATCH_JS)
    page.get_by_role("button", name="Upload og indlæs").click()
    expect(page.get_by_text(f"Indlæst: pejlemaerker-{name}.txt", exact=False)).to_be_visible()
    seen = page.evaluate("window.__kvaSeen")
    assert any(s.startswith(("Venter", "Indlæser", "Læser", "Indekserer")) for s in seen), seen
    assert not any("job" in s.lower() or "queued" in s or "running" in s for s in seen), seen
    expect(page.get_by_text(f"{before + 1} dokumenter", exact=True)).to_be_visible()
    # The picker is empty again: the uploaded file is not offered a second time.
    expect(page.get_by_test_id("stFileUploaderFile")).to_have_count(0)
    shot(page, "09-uploaded")

    wait_idle(page)
    if not key_field.is_visible():  # the expander stays open over the refresh, but be sure
        page.get_by_text("Administration", exact=True).click()
    choose(page, "Slet dokument", title)
    page.get_by_text("Ja, slet det valgte dokument", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Slet", exact=True).click()
    expect(page.get_by_text(f"Slettet: {title}", exact=False)).to_be_visible()
    expect(page.get_by_text(f"{before} dokumenter", exact=True)).to_be_visible()
    # The confirmation starts over unticked (it stayed ticked while "Slet" was greyed out).
    wait_idle(page)
    confirm = page.get_by_role("checkbox", name="Ja, slet det valgte dokument")
    expect(confirm).not_to_be_checked()
    expect(page.get_by_role("button", name="Slet", exact=True)).to_be_disabled()
    if name == "laptop":
        # Every column of the documents table fits at 1366 px, "Oversættelse" included.
        scroller = page.get_by_test_id("stDataFrame").locator(".dvn-scroller").first
        fits = scroller.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
        assert fits[0] <= fits[1] + 1, fits
    shot(page, "10-deleted")


def test_api_docs_work_offline(servers: Servers, browser: Any) -> None:
    """/docs loads with every request off the loopback refused, as on a machine with no net."""
    context = browser.new_context(viewport=LAPTOP)
    refused: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{servers.api}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kvalitetsassistenten")
    expect(page.get_by_text("/api/ask", exact=True).first).to_be_visible()
    page.viewport_name = "laptop"
    shot(page, "11-api-docs-offline")
    # ReDoc too, without Redocly's logo from cdn.redoc.ly.
    page.goto(f"{servers.api}/redoc")
    expect(page.get_by_text("/api/ask", exact=False).first).to_be_attached()
    wait_idle(page)
    assert refused == []
    context.close()


def test_api_down_is_explained(browser: Any) -> None:
    """UI alone, pointed at a closed port: the page must say so kindly, not crash."""
    port = free_port()
    env = {**os.environ, "API_URL": f"http://127.0.0.1:{free_port()}"}
    ui = subprocess.Popen(
        streamlit_cmd(port),
        cwd=F.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", ui)
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.viewport_name = "laptop"
        page.goto(f"http://127.0.0.1:{port}")
        expect(page.get_by_text("kan ikke nås", exact=False).first).to_be_visible(timeout=60_000)
        shot(page, "12-api-down")
        context.close()
    finally:
        stop(ui)


# --- the first click, in fresh sessions ----------------------------------------------------

FIRST_CLICKS = [
    # (question, what is clicked first, viewport): the most common first click, on a laptop and
    # on a phone in the dark, and two other questions.
    ("Hvad er pejlemærkerne for bostøtten?", "badge", "laptop"),
    ("Hvad er pejlemærkerne for bostøtten?", "button", "phone"),
    ("Hvad betyder recovery for indsatsen på botilbud og i bostøtten?", "badge", "laptop"),
    ("Hvilke delinitiativer er der for øget kvalitet i socialpsykiatrien?", "button", "laptop"),
]


# Where the element stands, sampled every 100 ms for a second: (top, inside the viewport).
STILL_JS = """async (el) => {
  const seen = [];
  for (let i = 0; i < 10; i++) {
    const r = el.getBoundingClientRect();
    seen.push([Math.round(r.top), r.top >= 0 && r.bottom <= window.innerHeight]);
    await new Promise((done) => setTimeout(done, 100));
  }
  return seen;
}"""


def stays_in_viewport(page: Any, locator: Any) -> None:
    """Inside the viewport once the page has settled, and there, unmoved, for a second after
    (the first click's scroll used to be undone as the source panel finished drawing, and then
    Streamlit's glide to the bottom and the quote's placing took turns, ten times a second)."""
    eventually_in_viewport(locator)
    wait_idle(page)
    page.wait_for_timeout(1500)
    seen = locator.first.evaluate(STILL_JS)
    tops = {top for top, _ in seen}
    assert all(inside for _, inside in seen) and len(tops) == 1, f"moved or left: {seen}"


def test_the_first_click_on_a_source_shows_its_quote(servers: Servers, browser: Any) -> None:
    """Issue 22, point 1: in a fresh session the first click on [1] of the first answer
    scrolled the passage panel to a contact block; the quote sat above the viewport."""
    for question, first, viewport in FIRST_CLICKS:
        phone = viewport == "phone"
        context = browser.new_context(
            viewport=VIEWPORTS[viewport],
            is_mobile=phone,
            has_touch=phone,
            color_scheme="dark" if phone else "light",
            locale="da-DK",
        )
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.viewport_name = viewport
        try:
            page.goto(servers.ui)
            wait_idle(page)
            answer = ask(page, question)
            badge = answer.locator("a.kva-marker[data-cite]").first
            button = answer.get_by_role("button", name="[1]", exact=False).first
            mark = page.locator('.kva-passage[data-src="cite-1-1"] mark')
            for target in (badge, button) if first == "badge" else (button, badge):
                if phone:
                    target.scroll_into_view_if_needed()
                target.click()
                stays_in_viewport(page, mark)
                if target is (badge if first == "badge" else button):
                    shot(page, f"13-first-click-{first}-{len(question)}")
                # The next click starts from the answer again, as a reader's would.
                target.scroll_into_view_if_needed()
        finally:
            context.close()


# --- accessibility: axe-core on every page, in both languages -------------------------------

AXE = F.ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
}"""
ENGLISH_LABELS = ["Skip to main content", "Send message", "Chat message from", "Collapse sidebar",
                  "Show password", "Choose an option", "Link to heading", "Help for"]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    wait_idle(page)
    page.wait_for_timeout(300)
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    return page.evaluate(AXE_RUN_JS)


def test_axe_finds_nothing_serious_and_labels_speak_the_ui_language(
    servers: Servers, browser: Any
) -> None:
    """Issue 22, point 3 (and the page icon of point 6): chat, documents and presentation pages
    in Danish and English, with nothing fetched from outside the machine."""
    if not AXE.exists():
        pytest.skip("axe-core missing: scripts/setup.sh --test installs it (npm)")
    context = browser.new_context(viewport=LAPTOP, locale="da-DK")
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.viewport_name = "laptop"
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page.goto(servers.ui)
        wait_idle(page)
        ask(page, "Hvad er pejlemærkerne for bostøtten?")
        ask(page, "Hvad koster en pizza i Aarhus?")  # the decline box and its headings
        sidebar = page.get_by_test_id("stSidebar")
        for lang, chat, docs, toggle in (
            ("da", "Spørg", "Dokumenter", "Præsentationstilstand"),
            ("en", "Ask", "Documents", "Presentation mode"),
        ):
            if lang == "en":
                sidebar.get_by_text("English", exact=True).click()
                expect(sidebar.get_by_text(toggle, exact=True)).to_be_visible()
            wait_idle(page)
            assert page.evaluate("document.documentElement.lang") == lang
            found[f"chat-{lang}"] = axe_violations(page)
            labels = page.locator("body").aria_snapshot()
            if lang == "da":
                leftovers = [label for label in ENGLISH_LABELS if label in labels]
                assert not leftovers, leftovers
                assert "Send besked" in labels and "Chatbesked fra assistenten" in labels
            sidebar.get_by_role("link", name=docs).click()
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
            page.get_by_text("Administration", exact=True).click()
            password = "Vis adgangskode" if lang == "da" else "Show password"
            expect(page.get_by_role("button", name=password, exact=True)).to_be_attached()
            found[f"documents-{lang}"] = axe_violations(page)
            sidebar.get_by_role("link", name=chat).click()
            sidebar.get_by_text(toggle, exact=True).click()
            expect(page.locator(".stMain")).to_have_css("background-color", "rgb(0, 0, 0)")
            found[f"presentation-{lang}"] = axe_violations(page)
            page.viewport_name = f"laptop-{lang}"
            shot(page, "14-presentation-axe")
            page.viewport_name = "laptop"
            sidebar.get_by_text(toggle, exact=True).click()
            expect(page.locator(".stMain")).not_to_have_css("background-color", "rgb(0, 0, 0)")
    finally:
        context.close()
    assert len(found) == 6, list(found)
    assert all(not v for v in found.values()), {k: v for k, v in found.items() if v}
    assert outside == [], outside


# --- the projector ---------------------------------------------------------------------------

STYLE_JS = """(el) => { const s = getComputedStyle(el);
  return {size: parseFloat(s.fontSize), color: s.color, line: parseFloat(s.lineHeight) || 0}; }"""


def test_presentation_on_a_projector_shows_the_question_with_its_answer(
    servers: Servers, browser: Any
) -> None:
    """Issue 22, point 4, at 1920×1080: hierarchy, accent, every topic tab, no maintainer note,
    an unbroken sidebar label with a drawn help icon, and a long answer under its question."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="da-DK")
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.viewport_name = "projector"
    try:
        page.goto(servers.ui)
        wait_idle(page)
        page.get_by_text("Præsentationstilstand", exact=True).click()
        expect(page.locator(".stMain")).to_have_css("background-color", "rgb(0, 0, 0)")
        wait_idle(page)
        title = page.locator(".stMain h1").first.evaluate(STYLE_JS)
        body = page.locator(".stMain [data-testid='stCaptionContainer'] p").first.evaluate(STYLE_JS)
        assert title["size"] >= 1.6 * body["size"], (title, body)
        heading = page.get_by_role("heading", name="Kilde").evaluate(STYLE_JS)
        assert heading["color"] == "rgb(255, 212, 0)" and heading["size"] > body["size"], heading
        label = page.get_by_test_id("stSidebar").get_by_text("Præsentationstilstand", exact=True)
        measured = label.evaluate(STYLE_JS)
        assert label.bounding_box()["height"] < 1.8 * measured["size"], "the label wraps"
        help_button = page.get_by_role("button", name="Hjælp til Præsentationstilstand")
        assert help_button.evaluate("(e) => getComputedStyle(e).borderTopWidth") == "0px"
        legible(help_button.locator("svg"), 7)

        page.get_by_text("Spørgsmålsbank", exact=True).click()
        tabs = page.get_by_role("tab")
        expect(tabs.first).to_be_visible()
        assert tabs.count() >= 6
        for k in range(tabs.count()):
            expect(tabs.nth(k)).to_be_in_viewport()
        expect(page.get_by_text("question_bank.yaml", exact=False)).to_have_count(0)

        question = "Hvilke delinitiativer er der for øget kvalitet i socialpsykiatrien?"
        answer = ask(page, question)
        page.wait_for_timeout(1500)
        asked = page.get_by_test_id("stChatMessage").nth(0)
        expect(asked).to_be_in_viewport()
        # Below Streamlit's header, not under it. The page scrolls there after the answer
        # renders; on a loaded machine that can come later than the pause above (this once
        # failed in a full run at load ~11 and passed alone), so it is waited for.
        header = page.get_by_test_id("stHeader").bounding_box()
        top = header["y"] + header["height"] if header else 0

        def below_header() -> bool:
            box = asked.bounding_box()
            return box is not None and box["y"] >= top - 1

        deadline = time.monotonic() + 15
        while not below_header() and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert below_header(), (asked.bounding_box(), header)
        expect(answer.locator(".kva-answer")).to_be_in_viewport()
        expect(page.get_by_role("button", name="Nyttigt", exact=True)).to_have_count(0)
        shot(page, "15-projector-answer")
    finally:
        context.close()
