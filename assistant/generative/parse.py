"""Parsing a model's reply into sentences and the passage numbers each one cites.

Markers may come as ``[1]``, ``[1][2]`` or ``[1, 2]``, before or after the full stop. A
sentence without any marker is kept (with no markers) so the verifier can drop it and say why.
Markdown (emphasis, headings, list markers, code fences) is removed: the answer is plain text.

Example:
    >>> from assistant.generative.parse import parse_reply
    >>> reply = parse_reply("Bostøtte gives efter § 85. [1] Det er en indsats [1, 2].")
    >>> [(s.text, s.markers) for s in reply.sentences]
    [('Bostøtte gives efter § 85.', (1,)), ('Det er en indsats.', (1, 2))]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.composer import framing
from ingest.sentences import sentence_spans

MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_MARKER_RUN = r"(?:\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]\s*)+"
# "… § 85. [1]" -> "… § 85 [1]." so the splitter keeps the marker with its sentence.
_MARKERS_AFTER_STOP = re.compile(rf"([.!?…])\s*({_MARKER_RUN})")
_FENCE = re.compile(r"```[a-zA-Z]*")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_LINE_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|[-*•>]\s+|\d+[.)]\s+)", re.MULTILINE)
_LEAD_LABEL = re.compile(r"^\s*(?:svar|answer|assistant)\s*:\s*", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?…])")


class ParseError(ValueError):
    """The reply holds nothing to verify (empty, or only markers)."""


@dataclass(frozen=True)
class GeneratedSentence:
    text: str  # the sentence without its markers, whitespace normalised
    markers: tuple[int, ...]  # passage numbers it cites, in order, without repeats


@dataclass(frozen=True)
class ParsedReply:
    sentences: list[GeneratedSentence]
    abstained: bool  # the model said the passages do not answer the question


def _clean(raw: str) -> list[str]:
    """Non-empty lines without markdown; a line break always ends a sentence."""
    text = _FENCE.sub("", raw)
    text = _EMPHASIS.sub("", text)
    text = _LINE_PREFIX.sub("", text)
    text = _LEAD_LABEL.sub("", text)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def parse_reply(raw: str) -> ParsedReply:
    lines = _clean(raw)
    text = " ".join(lines)
    if not MARKER.sub("", text).strip(" .!?…"):
        raise ParseError("the reply is empty")
    plain = " ".join(MARKER.sub(" ", text).split()).rstrip(" .")
    abstain_phrases = {framing(lang, "abstain").rstrip(".") for lang in ("da", "en")}
    if plain.lower() in {p.lower() for p in abstain_phrases}:
        return ParsedReply([], abstained=True)
    sentences = []
    for line in lines:
        sentences += _sentences(line)
    if not sentences:
        raise ParseError("the reply holds no sentence")
    return ParsedReply(sentences, abstained=False)


def _sentences(line: str) -> list[GeneratedSentence]:
    text = _MARKERS_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", line)
    text = " ".join(text.split())
    sentences = []
    for start, end in sentence_spans(text):
        chunk = text[start:end]
        markers: list[int] = []
        for m in MARKER.finditer(chunk):
            for n in re.split(r"\s*[,;]\s*", m.group(1)):
                if int(n) not in markers:
                    markers.append(int(n))
        body = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(MARKER.sub(" ", chunk).split()))
        if not body.strip(" .!?…"):
            continue  # a stray marker between sentences
        sentences.append(GeneratedSentence(body, tuple(markers)))
    return sentences
