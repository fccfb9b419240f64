"""Background tasks that chat clients send to the chat model, answered without retrieval.

Open WebUI (and clients modelled on it) ask the same model for a chat title, tags, follow-up
suggestions, search queries and autocompletion: a user message starting ``### Task:`` with the
chat history inside ``<chat_history>``. Run through retrieval these would abstain, and the
abstention would become the chat's title. Here they get a sensible reply in the shape asked
for: the title is the first question, shortened; tags and follow-ups are empty lists (the
assistant does not invent questions it may not be able to answer); a search query is the
question itself.

Example:
    >>> from assistant.api.chat_tasks import answer_task
    >>> task = ('### Task:\\nGenerate a concise title summarizing the chat history.\\n'
    ...         '### Output:\\nJSON format: { "title": "your concise title here" }\\n'
    ...         '### Chat History:\\n<chat_history>\\nUSER: Hvad er bostøtte efter § 85?\\n'
    ...         '</chat_history>')
    >>> answer_task(task)
    '{"title": "Hvad er bostøtte efter § 85"}'
    >>> answer_task("Hvad er bostøtte?") is None
    True
"""

from __future__ import annotations

import json
import re

_TASK = re.compile(r"^\s*#{2,4}\s*Task\s*:", re.IGNORECASE)
_HISTORY = re.compile(r"<chat_history>(.*?)</chat_history>", re.DOTALL | re.IGNORECASE)
_TURN = re.compile(
    r"^(USER|ASSISTANT|SYSTEM)\s*:\s*(.*?)(?=^(?:USER|ASSISTANT|SYSTEM)\s*:|\Z)",
    re.DOTALL | re.MULTILINE | re.IGNORECASE,
)
# The first JSON key in the output spec: `JSON format: { "title": ... }`, `{ "tags": [...] }`.
_SHAPE = re.compile(r'\{\s*"(\w+)"\s*:\s*(\[|")')
_TITLE_WORDS = 8


def is_task(text: str) -> bool:
    return bool(_TASK.match(text))


def _user_turns(task: str) -> list[str]:
    history = _HISTORY.search(task)
    if not history:
        return []
    turns = []
    for role, content in _TURN.findall(history.group(1)):
        if role.upper() == "USER":
            text = " ".join(content.strip().strip('"').split())
            if text:
                turns.append(text)
    return turns


def short_title(question: str, words: int = _TITLE_WORDS) -> str:
    """The question's first ``words`` words without the question mark.

    >>> short_title("Hvilken paragraf i serviceloven gælder for bostøtte til borgere i eget hjem?")
    'Hvilken paragraf i serviceloven gælder for bostøtte til…'
    """
    parts = question.split()
    title = " ".join(parts[:words]).rstrip("?.!:, ")
    return title + ("…" if len(parts) > words else "")


def _output_spec(task: str) -> str:
    """The part of the task that says what to return (where the JSON shape is described)."""
    head = _HISTORY.split(task)[0]
    match = re.search(r"#{2,4}\s*\**\s*Output", head, re.IGNORECASE)
    return head[match.start() :] if match else head


def answer_task(text: str) -> str | None:
    """The reply to a client background task, or None when ``text`` is not one."""
    if not is_task(text):
        return None
    questions = _user_turns(text)
    spec = _output_spec(text)
    shape = _SHAPE.search(spec)
    instruction = text.lower()
    if shape is None:
        # Older templates ask for the bare title.
        return short_title(questions[0]) if questions and "title" in instruction else ""
    key, kind = shape.group(1), shape.group(2)
    if key == "title":
        value: object = short_title(questions[0]) if questions else ""
    elif key == "queries":
        value = [questions[-1]] if questions else []
    elif key == "text":
        value = ""  # autocompletion: suggesting words the material may not hold helps no one
    elif kind == "[":
        value = []  # tags, follow_ups and anything else list-shaped
    else:
        value = ""
    return json.dumps({key: value}, ensure_ascii=False)
