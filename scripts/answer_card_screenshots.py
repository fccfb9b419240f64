"""Screenshots of three answer cards in the running UI, for the README and a closing note.

A Danish question with a Danish lead, an English list question and a Danish question answered
from an English text, each in a fresh session, on a laptop (1280 x 800) and a phone (390 x 844)
viewport. Start the product first (``make run``); Playwright drives Debian's ``chromium``
(``playwright install`` cannot download a browser here).

    make run &   # API :8000, UI :8501
    .venv/bin/python scripts/answer_card_screenshots.py --ui http://127.0.0.1:8501 --out docs

Writes ``answer-card-{da,en,cross}.png`` (laptop) and ``answer-card-{…}-phone.png``, and
prints, per card, how many sentences are marked and whether the page is wider than the
viewport (a card wider than the phone is a failure, exit status 1). The screenshot itself is
taken at the viewport's width and the height the whole conversation needs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CARDS = {
    "da": "Hvad er pejlemærkerne for bostøtten?",
    "en": "Which sub-initiatives are part of the effort to improve quality in housing support?",
    "cross": "Hvilken paragraf i serviceloven gælder for bostøtte?",
}
VIEWPORTS = {"": (1280, 800), "-phone": (390, 844)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ui", default="http://127.0.0.1:8501")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.browser, args=["--no-sandbox"])
        for suffix, (width, height) in VIEWPORTS.items():
            for name, question in CARDS.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(args.ui, wait_until="networkidle")
                box = page.get_by_placeholder("Skriv dit spørgsmål …")
                box.fill(question)
                box.press("Enter")
                answer = page.get_by_test_id("stChatMessage").nth(1)
                card = answer.locator(".kva-answer, .kva-abstain").first
                expect(card).to_be_visible(timeout=60_000)
                page.wait_for_timeout(1500)
                target = args.out / f"answer-card-{name}{suffix}.png"
                # A card is taller than a phone, and Streamlit scrolls its own container, so
                # the page is screenshotted at the viewport's width and the height the
                # conversation needs.
                tall = page.evaluate(
                    "Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
                )
                page.set_viewport_size({"width": width, "height": min(int(tall) + 200, 4000)})
                page.wait_for_timeout(800)
                page.screenshot(path=str(target))
                wide = page.evaluate("document.documentElement.scrollWidth") > width
                marked = answer.locator("mark").count()
                print(
                    f"{target}: {width}x{height}, marked sentences {marked}, "
                    f"wider than the viewport: {wide}"
                )
                failed |= wide
                page.close()
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
