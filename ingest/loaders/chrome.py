"""Recognise page chrome: the navigation, cookie and CMS furniture that scraped pages carry.

A line is chrome when its *shape* says so, in Danish or English: a skip link ("Gå til
indhold", "Skip to content"), a cookie banner line, a lone button or link label ("Læs mere",
"Acceptér og luk", "Print"), a "last updated" stamp, a "click here" line, a breadcrumb row
("Forside » Voksne » Recovery", "Home > News > 2021"), an image file name
("1600x900_new4", "tegning-660x498.jpg"), a line of markdown links only, or a CMS field label
("Overskrift:", "Tekst:"). Sentences that merely mention such words are not chrome: every
pattern is bounded by line length and anchored to the whole line.

Loaders that build their text (PDF, DOCX) drop chrome lines; loaders that keep a file verbatim
(text, Markdown, HTML-as-Markdown) mark them as ``chrome`` blocks, which the chunker skips.

Example:
    >>> [is_chrome_line(s) for s in ("Gå til indhold", "Forside » Voksne » Recovery",
    ...  "Sidst opdateret 06/05 2015", "1600x900_new4", "Læs mere om CTI i manualen.")]
    [True, True, True, True, False]
"""

from __future__ import annotations

import re

# Whole-line labels of links and buttons (compared lower-case, trailing punctuation removed).
_LABELS = {
    # Danish
    "gå til indhold",
    "gå til hovedindhold",
    "spring til indhold",
    "spring til hovedindhold",
    "skip til indhold",
    "skip til hoved indholdet",
    "skip til hovedindhold",
    "til toppen",
    "tilbage til toppen",
    "til top",
    "læs mere",
    "læs op",
    "se mere",
    "se alle",
    "vis mere",
    "acceptér og luk",
    "accepter og luk",
    "acceptér",
    "accepter",
    "acceptér alle",
    "accepter alle",
    "afvis",
    "afvis alle",
    "luk",
    "menu",
    "søg",
    "print",
    "udskriv",
    "del",
    "del siden",
    "del på facebook",
    "del på linkedin",
    "del på twitter",
    "tilbage",
    "log ind",
    "kontakt os",
    "indstillinger",
    "cookieindstillinger",
    "hovedmenu",
    "relaterede links",
    "relateret indhold",
    "abonnér",
    "tilmeld nyhedsbrev",
    "læs også",
    "find mere",
    "download",
    "download pdf",
    "hent pdf",
    "sidst opdateret",
    "senest opdateret",
    "ansvarlig redaktør",
    "redaktør",
    "del artikel",
    "print siden",
    "lyt til siden",
    # English
    "skip to content",
    "skip to main content",
    "skip to main",
    "skip navigation",
    "back to top",
    "to top",
    "read more",
    "find out more",
    "learn more",
    "see more",
    "show more",
    "accept",
    "accept all",
    "accept cookies",
    "reject",
    "reject all",
    "close",
    "search",
    "share",
    "share this page",
    "share on facebook",
    "share on twitter",
    "share on linkedin",
    "tweet",
    "log in",
    "login",
    "sign in",
    "subscribe",
    "contact us",
    "main menu",
    "related links",
    "related content",
    "cookie settings",
    "settings",
    "last updated",
    "last update",
    "page last updated",
    "print this page",
    "listen",
    "facebook",
    "twitter",
    "linkedin",
    "instagram",
    "youtube",
}
_CMS_LABEL_RE = re.compile(
    r"(overskrift|tekst|billede|billedtekst|manchet|underrubrik|navn|rubrik|"
    r"heading|title|text|body|image|caption|label|teaser|summary)\s*:",
    re.IGNORECASE,
)
_UPDATED_RE = re.compile(
    r"(sidst|senest)\s+(opdateret|ændret|redigeret|revideret)\b|"
    r"(last|page last|latest)\s+(update|updated|modified|changed|reviewed)\b|"
    r"(opdateret|updated|modified|revideret)\s*:?\s*\d",
    re.IGNORECASE,
)
_CLICK_RE = re.compile(r"\b(klik her|click here|tryk her|læs mere her|read more here)\b", re.I)
_COOKIE_RE = re.compile(r"\bcookie", re.IGNORECASE)
_COOKIE_CONTEXT_RE = re.compile(
    r"hjemmeside|website|webside|browser|samtykke|consent|accept|afvis|reject|analytics|"
    r"statisti|indstilling|setting|privatliv|privacy|sætter|uses|bruger|anvender|we use",
    re.IGNORECASE,
)
_BREADCRUMB_SEP_RE = re.compile(r"\s+(?:»|›|>|/|\||→|·)\s+|\s*[»›→]\s*")
_BREADCRUMB_START_RE = re.compile(r"(forside|hjem|home|start|du er her|you are here)\b", re.I)
_IMAGE_NAME_RE = re.compile(
    r"[\w.-]*(\d{2,4}x\d{2,4})[\w.-]*|[\w-]+\.(?:jpe?g|png|gif|svg|webp|tiff?|bmp)",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(r"(tlf|telefon|phone|tel)\.?\s*:?\s*\+?\d", re.IGNORECASE)
_WEB_RE = re.compile(r"https?://|www\.|@|\(at\)", re.IGNORECASE)
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
_MORE_RE = re.compile(
    r"(læs mere|se mere|find mere|read more|find out more|learn more|see more)\b", re.I
)
_MD_LINK_RE = re.compile(r"!?\[[^\]]*\]\([^)]*\)")
_MAX_LABEL_CHARS = 40
_MAX_CHROME_LINE_CHARS = 120
_MAX_COOKIE_LINE_CHARS = 400
_MAX_CRUMB_WORDS = 6


def is_chrome_line(line: str) -> bool:
    """Whether one line of text is page chrome rather than content."""
    # Markdown escapes ("1600x900\\_new4" from trafilatura) do not change what a line is.
    s = " ".join(_ESCAPE_RE.sub(r"\1", line).split()).strip()
    if not s:
        return False
    bare = s.lstrip("#>*-•–· ").rstrip(" .:!→↓↑›»").strip().strip("*_").strip().lower()
    if bare in _LABELS:
        return True
    if len(s) <= _MAX_LABEL_CHARS and _CMS_LABEL_RE.fullmatch(s.strip("*_ ")):
        return True
    if _IMAGE_NAME_RE.fullmatch(s):
        return True
    if _MD_LINK_RE.search(s) and not _MD_LINK_RE.sub("", s).strip(" |·-–•,*"):
        return True
    if len(s) <= _MAX_COOKIE_LINE_CHARS and (
        (_COOKIE_RE.search(s) and _COOKIE_CONTEXT_RE.search(s)) or _is_contact_row(s)
    ):
        return True
    if len(s) > _MAX_CHROME_LINE_CHARS:
        return False
    if _UPDATED_RE.match(bare) or _CLICK_RE.search(s) or _is_more_link(s):
        return True
    return _is_breadcrumb(s)


def _is_more_link(s: str) -> bool:
    """A "Læs mere om …" / "Read more about …" link line, not a sentence."""
    return bool(_MORE_RE.match(s)) and len(s) <= _MAX_LABEL_CHARS * 2 and s[-1:] != "."


def _is_contact_row(s: str) -> bool:
    """An address/phone/web row of a site's header or footer (not a sentence)."""
    return bool(_PHONE_RE.search(s) and _WEB_RE.search(s) and s[-1:] not in ".?!")


def _is_breadcrumb(s: str) -> bool:
    """A row of short link labels separated by », ›, > or /, or starting at "Forside"/"Home"."""
    if s[-1:] in ".?!;:" or any(ch.isdigit() for ch in s[:1]):
        return False
    parts = [p for p in _BREADCRUMB_SEP_RE.split(s) if p.strip()]
    if len(parts) >= 3 and all(len(p.split()) <= _MAX_CRUMB_WORDS for p in parts[:-1]):
        return True
    if len(parts) == 2 and _BREADCRUMB_START_RE.match(s):
        return True
    # "Hjem Sociale tilbud Tilsyn med godkendte sociale tilbud": separators lost in scraping.
    words = s.split()
    return (
        bool(_BREADCRUMB_START_RE.match(s))
        and len(words) >= 4
        and sum(w[0].isupper() for w in words[1:]) >= 2
        and not re.search(r"\b(er|is|are|har|has|kan|can|skal|will)\b", s, re.I)
    )


def strip_image_names(line: str) -> str:
    """Remove image file names sitting inside a line of text ("1600x900_new4 The Hub is…").

    >>> strip_image_names("1600x900_new4 The Hub is a partnership.")
    'The Hub is a partnership.'
    """
    out = re.sub(
        r"(?<!\S)(?:[\w.-]*\d{2,4}x\d{2,4}[\w.-]*|[\w-]+\.(?:jpe?g|png|gif|svg|webp))(?!\S)",
        "",
        line,
        flags=re.IGNORECASE,
    )
    return " ".join(out.split()) if out != line else line
