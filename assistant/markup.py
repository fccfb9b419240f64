"""Answer text without active markup: what a client renders (Markdown, HTML) cannot run.

Documents carry markup (``<img src=x onerror=…>``, ``[Log ind](javascript:…)``); the bundled
UI escapes it, but ``/v1`` replies go to third-party chat clients that render Markdown and
inline HTML. :func:`neutralise` turns a displayed text into plain words: HTML tags and
comments are dropped (a ``<`` that could still open one becomes ``‹``), Markdown images
too (their alt text is mostly "logo"), links become their words, and autolinks and bare
``javascript:``/``vbscript:``/``data:…/…`` schemes lose the colon that makes them a link.
Citations' quotes stay exact spans of their document; only displayed text goes through
here.

Example:
    >>> from assistant.markup import neutralise
    >>> neutralise('Se <img src=x onerror=alert(5)>[Log ind](javascript:alert(1)) her.')
    'Se Log ind her.'
    >>> neutralise("![logo](data:image/png;base64,AAAA) Kvalitet <b>i</b> bostøtten, 3 < 5")
    ' Kvalitet i bostøtten, 3 < 5'
"""

from __future__ import annotations

import re

# Whole elements whose content is code, not text.
_CODE_ELEMENTS = re.compile(r"<(script|style|iframe|object|embed)\b.*?(?:</\1\s*>|$)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
# A "<" that could still open a tag in a renderer (an unclosed "<img src=x onerror=…").
_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
# A link target may hold one level of parentheses: (javascript:alert(1)).
_TARGET = r"\((?:[^()]|\([^()]*\))*\)"
_IMAGE = re.compile(rf"!\[([^\]]*)\]{_TARGET}")
_LINK = re.compile(rf"\[([^\]]*)\]{_TARGET}")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$", re.M)
_SCHEME = re.compile(r"\b(javascript|vbscript|livescript|data(?=:\s*[\w.+-]+/))\s*:", re.I)


def neutralise(text: str) -> str:
    """``text`` with no markup a renderer would act on; plain text passes unchanged."""
    if not any(ch in text for ch in "<[:"):
        return text
    text = _CODE_ELEMENTS.sub("", text)
    text = _COMMENT.sub("", text)
    text = _TAG.sub("", text)
    text = _OPENER.sub("‹", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REFERENCE.sub("", text)
    text = _SCHEME.sub(r"\1 :", text)
    return text
