"""Study material (``GET /api/study``) as a Markdown handout: key points, FAQ and quiz, each
item with its numbered source, the quiz answers at the end so the sheet can be handed out.

Example:
    >>> study = {"scope": {"title": "Recovery", "language": "en"}, "key_points": [],
    ...          "faq": [], "quiz": []}
    >>> to_markdown(study).splitlines()[0]
    '# Study material: Recovery'
"""

from __future__ import annotations

from typing import Any

from ui.workshop_i18n import w
from ui.workshop_view import source_place


class _Sources:
    """Numbers sources in order of first use, one number per quoted span."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, int, int], tuple[int, dict[str, Any]]] = {}

    def ref(self, citation: dict[str, Any]) -> str:
        key = (citation["doc_id"], citation["start"], citation["end"])
        if key not in self.items:
            self.items[key] = (len(self.items) + 1, citation)
        return f"[{self.items[key][0]}]"

    def lines(self, lang: str) -> list[str]:
        out = []
        for n, c in self.items.values():
            where = ", ".join(source_place(c, lang))
            out.append(f"{n}. {where}: “{_one_line(c['quote'])}”")
        return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def to_markdown(study: dict[str, Any]) -> str:
    lang = study["scope"]["language"]
    sources = _Sources()
    md = [f"# {w('st_title', lang)}: {study['scope']['title']}", ""]
    md += [f"## {w('st_key_points', lang)}", ""]
    for p in study["key_points"]:
        md.append(f"- {_one_line(p['text'])} {sources.ref(p['citation'])}")
    md += ["", f"## {w('st_faq', lang)}", ""]
    for item in study["faq"]:
        refs = " ".join(sources.ref(c) for c in item["citations"])
        md += [f"**{item['question']}**", "", f"{_one_line(item['answer'])} {refs}", ""]
    md += [f"## {w('st_quiz', lang)}", ""]
    for i, q in enumerate(study["quiz"], 1):
        md.append(f"{i}. {_one_line(q['prompt'])} {sources.ref(q['citation'])}")
        md.append(f"   {w('st_options', lang)}: {' / '.join(q['options'])}")
    if study["quiz"]:
        answers = "; ".join(f"{i}. {q['answer']}" for i, q in enumerate(study["quiz"], 1))
        md += ["", f"*{w('st_answer', lang)}: {answers}*"]
    md += ["", f"## {'Kilder' if lang == 'da' else 'Sources'}", "", *sources.lines(lang), ""]
    return "\n".join(md)
