"""HTML/markdown snippets for answers and cited passages.

Everything coming from the API is escaped before it goes into ``unsafe_allow_html`` markup:
document text is published material, but it is still not ours to trust as HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

from assistant.plain_text import clean_markup, plain_text

MARKER = re.compile(r"\[(\d+)\]")

# Colours that read on Streamlit's light and dark themes alike: tints over the page background
# and inherited text colour; only the highlight and the badges carry fixed colours of their own.
BASE_CSS = """
<style>
.kva-answer {line-height:1.6;}
a.kva-marker, .kva-marker {display:inline-block; padding:0 .35em; margin:0 .1em;
  border-radius:.4em; background:#1f4e79; color:#fff !important; font-size:.8em;
  font-weight:600; vertical-align:super; text-decoration:none; cursor:pointer;}
a.kva-marker:hover, a.kva-marker:focus {background:#0b2a47; outline:2px solid #ffb000;}
.kva-passage {border-left:4px solid #4a7fb0; padding:.5em .8em;
  background:rgba(127,127,127,.12); color:inherit; line-height:1.55; scroll-margin:6em;}
.kva-passage mark {background:#ffe066; color:#000; padding:0 .1em; scroll-margin:8em;}
.kva-doc {max-height:28em; overflow-y:auto;}
.kva-abstain {border:2px dashed #b35c00; border-radius:.6em; padding:.6em 1em;
  background:rgba(255,153,0,.12); color:inherit;}
.kva-abstain h2 {margin:0 0 .3em 0; padding:0; color:inherit; font-size:1.15rem;}
/* Streamlit greys captions to 3.9:1 on white; the page's own text colour a little faded reads
   at 4.5:1 or more on the light and the dark theme alike. */
[data-testid="stCaptionContainer"] {color:inherit !important; opacity:.8;}
[data-testid="stCaptionContainer"] p {color:inherit !important;}
/* The panels' headings are h2 for a correct heading order; they keep the size of a subheader. */
.stMain h2 {font-size:1.5rem;}
.kva-meta {opacity:.8; font-size:.9em;}
.kva-card blockquote {opacity:1; margin:.2em 0 .15em 0; padding:.45em .9em;
  border-left:4px solid #4a7fb0;
  background:rgba(127,127,127,.10); color:inherit;}
.kva-card blockquote.kva-lead {font-size:1.05em;}
.kva-card blockquote.kva-lead mark {background:#ffe066; color:#000; padding:0 .1em;}
.kva-card blockquote.kva-support {border-left-color:rgba(127,127,127,.6); font-size:.95em;}
.kva-card-source {font-size:.85em; margin:0 0 .8em 0; color:inherit;}
.kva-card-note {font-size:.95em; font-style:italic;}
.kva-versions {opacity:.8; font-size:.85em;}
/* On a phone the title ("Kvalitetsassistenten", one long Danish word) broke mid-word. */
@media (max-width: 640px) {.stMain h1 {font-size:1.9rem; overflow-wrap:normal;}}
</style>
"""

PRESENTATION_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"], .stMain, [data-testid="stSidebar"],
[data-testid="stHeader"], [data-testid="stBottom"] > div, [data-testid="stBottomBlockContainer"] {
  background:#000 !important; color:#fff !important;}
.stMain p, .stMain li, .stMain span, .stMain label, .stMain div, .stMain button,
.stMain summary {font-size:1.6rem; line-height:1.5; color:#fff !important;}
[data-testid="stSidebar"] p, [data-testid="stSidebar"] span, [data-testid="stSidebar"] label,
[data-testid="stSidebar"] div, [data-testid="stSidebar"] button,
[data-testid="stSidebar"] h1, [data-testid="stSidebar"] h2, [data-testid="stSidebar"] h3 {
  font-size:1.25rem; color:#fff !important;}
.stMain h1, .stMain h1 * {font-size:3rem !important; line-height:1.2; color:#fff !important;}
.stMain h2, .stMain h2 *, .stMain h3, .stMain h3 *, .stMain h4, .stMain h4 * {
  font-size:2.2rem !important; line-height:1.3; color:#ffd400 !important;}
[data-testid="stChatMessage"] {background:#111 !important; border:2px solid #fff;}
[data-testid="stAlert"] > div {background:#000 !important; border:2px solid #fff;}
.stMain button, [data-testid="stSidebar"] button {background:#000 !important;
  border:2px solid #ffd400 !important; color:#fff !important;}
[data-testid="stExpander"] details, [data-testid="stExpander"] summary,
[data-testid="stExpander"] summary:hover {background:#000 !important; border-color:#fff !important;
  color:#fff !important;}
[data-testid="stTabs"] [role="tab"][aria-selected="true"] p {color:#ffd400 !important;}
/* Every topic of the question bank in view: the tabs wrap instead of scrolling sideways. */
[data-testid="stTabs"] [role="tablist"] {flex-wrap:wrap !important; overflow:visible !important;
  row-gap:.3rem;}
[data-testid="stTabs"] [role="tab"] {flex:0 0 auto;}
[data-testid="stTabs"] button:has(svg) {display:none !important;}
/* A help icon is a "?" in a circle, not a framed empty box; a label never breaks mid-word. */
[data-testid="stSidebar"] [data-testid="stTooltipHoverTarget"] button,
.stMain [data-testid="stTooltipHoverTarget"] button {border:none !important;
  background:transparent !important; color:#fff !important; padding:0 !important;}
[data-testid="stTooltipHoverTarget"] svg {color:#fff !important; stroke:#fff !important;}
[data-testid="stSidebar"] [data-testid="stWidgetLabel"] p {overflow-wrap:normal !important;
  word-break:normal !important; hyphens:manual;}
/* A long answer scrolls inside its box, so its question stays on the screen above it. */
[data-testid="stChatMessage"] .kva-answer {max-height:56vh; overflow-y:auto; padding-right:.4em;}
[data-testid="stChatMessage"] {scroll-margin-top:4.5rem;}
.stMain .kva-card blockquote {background:#000 !important; border-left-color:#ffd400;}
.stMain .kva-card mark, .stMain .kva-card mark * {background:#ffd400 !important;
  color:#000 !important;}
.stMain .kva-card-source {color:#ddd !important;}
/* What is typed must read on a projector: the chat box and every input field. */
[data-testid="stChatInput"], [data-testid="stChatInput"] > div,
[data-testid="stChatInput"] textarea,
[data-baseweb="input"], [data-baseweb="input"] > div, [data-baseweb="textarea"],
[data-baseweb="select"] > div, input, textarea {
  background:#111 !important; color:#fff !important; -webkit-text-fill-color:#fff !important;
  caret-color:#ffd400; font-size:1.5rem !important;}
[data-testid="stChatInput"] {border:2px solid #ffd400 !important;}
[data-testid="stChatInput"] textarea::placeholder, input::placeholder {color:#ccc !important;
  -webkit-text-fill-color:#ccc !important;}
[data-testid="stChatInput"] button, [data-testid="stChatInput"] svg {color:#ffd400 !important;}
[data-baseweb="select"] div, [data-baseweb="select"] input {background-color:#111 !important;
  color:#fff !important;}
.stMain [data-testid="stCaptionContainer"], .stMain [data-testid="stCaptionContainer"] * {
  color:#ddd !important;}
[data-baseweb="popover"] li, [data-baseweb="popover"] ul {background:#111 !important;
  color:#fff !important;}
.stMain .kva-passage {background:#000 !important; color:#fff !important;
  border-left-color:#ffd400;}
.stMain .kva-passage mark, .stMain .kva-passage mark * {background:#ffd400 !important;
  color:#000 !important;}
.stMain a.kva-marker, .stMain .kva-marker {background:#ffd400 !important; color:#000 !important;}
.stMain .kva-abstain {background:#000 !important; color:#fff !important; border-color:#ffd400;}
.stMain .kva-abstain h2, .stMain .kva-abstain h2 * {color:#ffd400 !important;}
.stMain .kva-meta, .stMain .kva-meta *, .stMain .kva-versions {color:#ddd !important; opacity:1;}
</style>
"""

def answer_markup(text: str, turn: int | None = None, cited: set[int] | None = None) -> str:
    """The answer as one HTML block: text escaped and cleaned of markup, each ``[n]`` a badge.

    With ``turn`` given, a badge for a citation in ``cited`` is a link that opens that source
    (the page's script clicks the matching source button ``cite-{turn}-{n}``).
    """
    escaped = html.escape(plain_text(text), quote=False)

    def badge(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return _badge(n, None if cited is not None and n not in cited else turn)

    return f'<div class="kva-answer">{_breaks(MARKER.sub(badge, escaped))}</div>'


def _badge(n: int, turn: int | None) -> str:
    if turn is None:
        return f'<span class="kva-marker">[{n}]</span>'
    return (
        f'<a class="kva-marker" href="#kva-source" role="button" '
        f'data-cite="cite-{turn}-{n}">[{n}]</a>'
    )


def _focused(cite: dict[str, Any]) -> str:
    """The quote, escaped and cleaned of markup, with the engine's chosen sentence marked."""
    quote = str(cite.get("quote") or "")
    start, fs, fe = cite.get("start"), cite.get("focus_start"), cite.get("focus_end")
    if not all(isinstance(v, int) for v in (start, fs, fe)):
        return _breaks(html.escape(plain_text(quote), quote=False))
    lo = max(0, min(len(quote), fs - start))  # type: ignore[operator]
    hi = max(lo, min(len(quote), fe - start))  # type: ignore[operator]
    cleaned, [(s, e)] = clean_markup(quote, (lo, hi))
    if e <= s:
        return _breaks(html.escape(cleaned, quote=False))
    parts = (cleaned[:s], cleaned[s:e], cleaned[e:])
    before, focus, after = (html.escape(x, quote=False) for x in parts)
    return _breaks(f"{before}<mark>{focus}</mark>{after}")


def card_markup(
    answer: dict[str, Any],
    source_label: Any,
    turn: int | None = None,
) -> str | None:
    """The extractive answer card, or None when the answer has none (a generative answer, or an
    API from before the card): the lead excerpt as a block with the chosen sentence marked, its
    source under it, then the supporting quotes, each with its clickable ``[n]``.

    ``source_label(cite)`` gives the line under a quote in the UI's language (it says where a
    quote in the other language comes from). Paragraphs of the answer text without a ``[n]``
    (the engine's notes, e.g. on numbers no quote holds) follow the card.
    """
    citations = [c for c in answer.get("citations") or [] if isinstance(c, dict)]
    lead = next((c for c in citations if c.get("role") == "lead"), None)
    if lead is None:
        return None
    supports = [c for c in citations if c.get("role") == "support"]

    def block(cite: dict[str, Any], css: str, body: str) -> str:
        n = cite.get("n")
        badge = f" {_badge(n, turn)}" if isinstance(n, int) else ""
        code = html.escape(str(cite.get("language") or ""))
        lang_attr = f' lang="{code}"' if code in ("da", "en") else ""
        source = html.escape(str(source_label(cite)), quote=False)
        return (
            f'<blockquote class="{css}"{lang_attr}>{body}{badge}</blockquote>'
            f'<div class="kva-card-source">{source}</div>'
        )

    out = [block(lead, "kva-lead", _focused(lead))]
    for cite in supports:
        body = _breaks(html.escape(plain_text(str(cite.get("quote") or "")), quote=False))
        out.append(block(cite, "kva-support", body))
    notes = [
        p.strip()
        for p in re.split(r"\n\s*\n", plain_text(str(answer.get("answer") or "")))
        if p.strip() and not MARKER.search(p)
    ]
    for note in notes:
        out.append(f'<p class="kva-card-note">{html.escape(note, quote=False)}</p>')
    return f'<div class="kva-answer kva-card">{"".join(out)}</div>'


def markers_in(text: str) -> list[int]:
    """The citation numbers used in the text, in order of first appearance."""
    seen: list[int] = []
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def highlight(text: str, start: int, end: int, window: int | None = 400) -> str:
    """``text`` around ``[start, end)`` with that span marked; ``window=None`` keeps it all.

    Cuts the context at whitespace so a passage never starts mid-word.
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = 0, len(text)
    if window is not None:
        lo = max(0, start - window)
        hi = min(len(text), end + window)
        if lo > 0:
            space = text.find(" ", lo, start)
            lo = space + 1 if space != -1 else lo
        if hi < len(text):
            space = text.rfind(" ", end, hi)
            hi = space if space != -1 else hi
    before = html.escape(text[lo:start])
    quote = html.escape(text[start:end])
    after = html.escape(text[end:hi])
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(text) else ""
    return f"{prefix}{before}<mark>{quote}</mark>{after}{suffix}"


def find_quote(text: str, quote: str, start: int, end: int) -> tuple[int, int]:
    """The span to highlight: trust offsets when they match the quote, else search for it."""
    if quote and text[start:end] == quote:
        return start, end
    if quote:
        found = text.find(quote)
        if found != -1:
            return found, found + len(quote)
    return start, end


def _breaks(markup: str) -> str:
    # A blank line would end the HTML block in markdown and spill the rest out as paragraphs.
    return re.sub(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*", "<br><br>", markup.strip()).replace("\n", "<br>")


def passage_html(
    text: str, start: int, end: int, window: int | None = 400, source_key: str | None = None
) -> str:
    """The passage around ``[start, end)`` with that span highlighted, markup cleaned away.

    ``source_key`` tags the box so the page's script can scroll its highlight into view.
    """
    cleaned, [(s, e)] = clean_markup(text, (start, end))
    css = "kva-passage kva-doc" if window is None else "kva-passage"
    tag = f' data-src="{html.escape(source_key)}"' if source_key else ""
    return f'<div class="{css}"{tag}>{_breaks(highlight(cleaned, s, e, window))}</div>'


def plain_passage_html(text: str) -> str:
    return f'<div class="kva-passage">{_breaks(html.escape(plain_text(text)))}</div>'


def abstain_html(title: str, answer: str) -> str:
    # The API's abstention often opens with the same sentence as our heading; say it once.
    body = answer.strip()
    if body.lower().startswith(title.lower()):
        body = body[len(title) :].lstrip(" .:–-\n")
    return f'<div class="kva-abstain"><h2>⚠ {html.escape(title)}</h2>{html.escape(body)}</div>'


def section_at(sections: list[dict[str, Any]], pos: int) -> int | None:
    """Index of the section containing character ``pos``, if any."""
    for i, section in enumerate(sections):
        if section.get("start", 0) <= pos < section.get("end", 0):
            return i
    return None


def meta_line(parts: list[tuple[str, Any]]) -> str:
    """``Label: value · Label: value`` for the values that are present."""
    shown = [f"{label}: {value}" for label, value in parts if value not in (None, "", [])]
    return " · ".join(shown)


# Installed once per browser tab (st.html runs it in the page itself, not in an iframe). A click
# on an inline badge clicks the matching source button; after any source click, the highlighted
# quote of the passage tagged with that source is scrolled into view as soon as it is drawn, so
# the reader sees it wherever the source panel sits (beside the answer, or below on a phone).
# It then watches the quote until the page has settled: Streamlit keeps a chat page stuck to its
# bottom while content grows, so in a fresh session (still stuck there after the first answer)
# the first scroll was undone as the source panel finished drawing. Any scroll of the reader's
# own (wheel, touch, keys) ends the watch, so it never fights a person.
# Streamlit (1.67, a port of react-scroll-to-bottom) lets a page go of its bottom only when a
# scroll event it processes finds no glide running and the page no taller than at the event
# before; its scroll handler is throttled to 100 ms and its timer restarts the glide 34 ms after
# the page leaves the bottom. So a quote placed while the page still grows, or while a glide
# runs, is glided away again, and placing it again only fights the glide (seen on a phone: the
# quote moved by up to 500 px ten times a second for the watch's 20 s). When a placed quote is
# taken out of view, the page is first put at its bottom (where the timer has nothing to do) and
# told its height (its focus listener records it), and the quote is placed 250 ms later, past
# the throttle: that scroll then lets the page go.
SOURCE_SCRIPT = """
<script>
(function () {
  if (window.__kvaSources) { return; }
  window.__kvaSources = true;
  const BOTTOM = '[data-testid="stAppScrollToBottomContainer"]';
  let pending = null;
  let until = 0;
  let calmSince = 0;
  let placed = 0;
  let releasing = false;
  function busy() {
    return document.querySelector('[data-testid="stStatusWidget"]')
      || document.querySelector('[data-stale="true"]');
  }
  function inView(el) {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  }
  // A wheel event on the scrolling container is what ends Streamlit's glide to the bottom
  // (it listens for wheel and pointerdown); the scroll that follows then unsticks the page.
  function stopGlide(box) {
    box.dispatchEvent(new WheelEvent('wheel', {deltaY: -1, bubbles: true}));
  }
  function place(mark) {
    const box = mark.closest(BOTTOM);
    if (box) { stopGlide(box); }
    show(mark);
  }
  function show(mark) {
    const tall = mark.getBoundingClientRect().height > window.innerHeight * 0.6;
    mark.scrollIntoView({block: tall ? 'start' : 'center', behavior: 'instant'});
  }
  function release(mark) {
    const box = mark.closest(BOTTOM);
    if (!box) { place(mark); return; }
    releasing = true;
    stopGlide(box);
    box.scrollTop = box.scrollHeight;
    setTimeout(function () {
      releasing = false;
      const now = current();
      if (now) { box.dispatchEvent(new FocusEvent('focus')); show(now); }
    }, 250);
  }
  function current() {
    if (!pending) { return null; }
    const sel = '.kva-passage[data-src="' + pending + '"] mark';
    return Array.from(document.querySelectorAll(sel))
      .find((m) => !m.closest('[data-stale="true"]')) || null;
  }
  function reveal() {
    if (!pending || Date.now() > until) { pending = null; return; }
    if (releasing) { setTimeout(reveal, 100); return; }
    const mark = current();
    if (mark) {
      if (!inView(mark)) {
        if (placed) { release(mark); } else { place(mark); }
        placed += 1;
        calmSince = 0;
      }
      if (busy()) { calmSince = 0; }
      else if (!calmSince) { calmSince = Date.now(); }
      else if (Date.now() - calmSince > 2000) { pending = null; return; }
    }
    setTimeout(reveal, 100);
  }
  function stop(ev) { if (ev.isTrusted) { pending = null; } }
  ['wheel', 'touchmove', 'keydown'].forEach(function (name) {
    window.addEventListener(name, stop, {capture: true, passive: true});
  });
  document.addEventListener('click', function (ev) {
    const target = ev.target instanceof Element ? ev.target : null;
    if (!target) { return; }
    let key = null;
    const badge = target.closest('a.kva-marker[data-cite]');
    if (badge) {
      ev.preventDefault();
      key = badge.getAttribute('data-cite');
      const button = document.querySelector('.st-key-' + key + ' button');
      if (button) { button.click(); }
    } else {
      const holder = target.closest('[class*="st-key-cite-"], [class*="st-key-rel-"]');
      if (holder) {
        const cls = Array.from(holder.classList).find((c) => c.startsWith('st-key-'));
        key = cls ? cls.slice(7) : null;
      }
    }
    if (key) {
      // Unstick the page from its bottom now, before the source panel makes it grow: two
      // pixels up, then Streamlit no longer follows the growth down.
      const box = document.querySelector(BOTTOM);
      if (box && box.scrollHeight - box.scrollTop - box.clientHeight < 2) {
        stopGlide(box);
        box.scrollTop = Math.max(0, box.scrollTop - 2);
      }
      pending = key; until = Date.now() + 20000; calmSince = 0; placed = 0;
      setTimeout(reveal, 150);
    }
  }, true);
})();
</script>
"""


# Streamlit's own labels for keyboard and screen-reader users are English only ("Skip to main
# content", "Send message", "Chat message from assistant", "Open", "Show password", ...), and its
# page says <html lang="en">. This script, run in the page itself, sets ``lang`` to the UI
# language and puts those labels into Danish when the UI is Danish (and back when it is not),
# as Streamlit redraws them. The English original is remembered per element, so a switch of
# language in either direction is exact.
A11Y_DA: dict[str, str] = {
    "Skip to main content": "Gå til hovedindholdet",
    "Send message": "Send besked",
    "Chat message from assistant": "Chatbesked fra assistenten",
    "Chat message from user": "Chatbesked fra dig",
    "Collapse sidebar": "Skjul sidepanelet",
    "Expand sidebar": "Vis sidepanelet",
    "Sidebar": "Sidepanel",
    "App pages": "Sider",
    "Open": "Åbn",
    "Close": "Luk",
    "Show password": "Vis adgangskode",
    "Hide password": "Skjul adgangskode",
    "Choose an option": "Vælg en mulighed",
    "Choose options": "Vælg muligheder",
    "No results": "Ingen resultater",
    "Link to heading": "Link til overskriften",
    "Clear all": "Ryd alle",
    "Clear value": "Ryd værdi",
    "Selected values": "Valgte værdier",
    "Scroll tabs left": "Rul fanerne til venstre",
    "Scroll tabs right": "Rul fanerne til højre",
    "Running...": "Arbejder …",
    "Stop script": "Stop",
    "Add files": "Tilføj filer",
    "Browse files": "Vælg filer",
    "file upload": "filoverførsel",
    "Notifications": "Meddelelser",
    "Help": "Hjælp",
    "Markdown content": "Tekst",
    "Navigate to home page": "Gå til forsiden",
    "Show/hide columns": "Vis/skjul kolonner",
    "Download as CSV": "Hent som CSV",
    "Search": "Søg",
    "Fullscreen": "Fuld skærm",
    "Close fullscreen": "Luk fuld skærm",
    "Exit fullscreen": "Luk fuld skærm",
}
A11Y_DA_PATTERNS: list[tuple[str, str]] = [
    (r"^Help for (.+)$", "Hjælp til $1"),
    (r"^Remove (.+)$", "Fjern $1"),
    (r"^Delete (.+)$", "Slet $1"),
]


def a11y_script(lang: str) -> str:
    """The page script above for UI language ``lang`` (its text changes with the language, so
    Streamlit runs it again after a switch)."""
    import json

    table = json.dumps(A11Y_DA, ensure_ascii=False)
    patterns = json.dumps(A11Y_DA_PATTERNS, ensure_ascii=False)
    code = "da" if lang == "da" else "en"
    return (
        "<script>(function () {\n"
        f"  const lang = {json.dumps(code)};\n"
        f"  const DA = {table};\n"
        f"  const PATTERNS = {patterns}.map((p) => [new RegExp(p[0]), p[1]]);\n"
        + _A11Y_BODY
        + "})();</script>"
    )


_A11Y_BODY = """
  document.documentElement.lang = lang;
  window.__kvaLang = lang;
  if (window.__kvaA11y) { window.__kvaA11y(); return; }
  const ATTRS = ['aria-label', 'title', 'placeholder'];
  // Visible text is translated only for these; document text never goes through the table.
  const TEXT = new Set(['Skip to main content', 'Choose an option', 'Choose options',
    'No results', 'Running...', 'Browse files']);
  const texts = new WeakMap();
  function danish(s) {
    if (!s) { return null; }
    const key = s.trim();
    if (Object.prototype.hasOwnProperty.call(DA, key)) { return DA[key]; }
    for (const [re, out] of PATTERNS) { if (re.test(key)) { return key.replace(re, out); } }
    return null;
  }
  function want(orig) {
    return window.__kvaLang === 'da' ? (danish(orig) || orig) : orig;
  }
  function fix() {
    for (const attr of ATTRS) {
      document.querySelectorAll('[' + attr + ']').forEach((el) => {
        const cur = el.getAttribute(attr);
        const mine = el.getAttribute('data-kva-out-' + attr);
        let orig = el.getAttribute('data-kva-src-' + attr);
        if (mine === null || cur !== mine) { orig = cur; }
        const next = want(orig);
        if (next === orig && mine === null) { return; }
        el.setAttribute('data-kva-src-' + attr, orig);
        el.setAttribute('data-kva-out-' + attr, next);
        if (cur !== next) { el.setAttribute(attr, next); }
      });
    }
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      const cur = node.nodeValue;
      const seen = texts.get(node);
      if (!seen && !TEXT.has((cur || '').trim())) { continue; }
      const orig = seen && seen.out === cur ? seen.src : cur;
      const next = want(orig);
      if (next === orig && !seen) { continue; }
      texts.set(node, {src: orig, out: next});
      if (cur !== next) { node.nodeValue = next; }
    }
  }
  let queued = false;
  function later() {
    if (queued) { return; }
    queued = true;
    setTimeout(() => { queued = false; fix(); }, 30);
  }
  window.__kvaA11y = fix;
  new MutationObserver(later).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ATTRS});
  fix();
"""


def show_turn_script(turn: int) -> str:
    """A one-off page script (presentation mode): once the page has settled, scroll the question
    of the newest answer to the top of the screen, so the room sees it above its answer. The
    turn number makes the script new for each answer, so Streamlit runs it each time."""
    return (
        "<script>(function () {\n"
        f"  const turn = {int(turn)};\n"
        + _SHOW_TURN_BODY
        + "})();</script>"
    )


_SHOW_TURN_BODY = """
  if (window.__kvaShownTurn === turn) { return; }
  window.__kvaShownTurn = turn;
  let stopped = false;
  const until = Date.now() + 15000;
  const stop = () => { stopped = true; };
  ['wheel', 'touchmove', 'keydown', 'mousedown'].forEach((n) =>
    window.addEventListener(n, stop, {capture: true, passive: true, once: true}));
  function step() {
    if (stopped || Date.now() > until) { return; }
    const msgs = document.querySelectorAll(
      '[data-testid="stChatMessage"]:not([data-stale="true"] *)');
    const question = msgs.length >= 2 ? msgs[msgs.length - 2] : null;
    // Watched for the whole window, not until it first looks settled: Streamlit glides to
    // the bottom again when the page grows after that (a long answer then hid its question).
    if (question) {
      const top = question.getBoundingClientRect().top;
      if (top < 0 || top > 120) {
        question.scrollIntoView({block: 'start', behavior: 'instant'});
      }
    }
    setTimeout(step, 150);
  }
  setTimeout(step, 200);
"""
