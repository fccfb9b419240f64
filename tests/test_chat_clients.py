"""Stock chat clients against the real API server on loopback: the official ``openai`` client,
LangChain ``ChatOpenAI``, the ``llm`` CLI, and a replay of Open WebUI's background tasks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from api_fixtures import Server, api, client  # noqa: F401

MODEL = "kvalitetsassistenten"
DA_Q = "Hvilken paragraf i serviceloven gælder for bostøtte?"

# Open WebUI's default title task (its DEFAULT_TITLE_GENERATION_PROMPT_TEMPLATE, filled in the
# way it fills it), padded with a long answer in the history: longer than a question may be.
_GUIDELINES = "\n".join(
    f"- guideline {i}: keep it short and in the chat's language" for i in range(30)
)
TITLE_TASK = f"""### Task:
Generate a concise title summarizing the chat history.
### Guidelines:
{_GUIDELINES}
### Output:
JSON format: {{ "title": "your concise title here" }}
### Examples:
- {{ "title": "Stock Trends" }},
- {{ "title": "Chocolate Chip Cookies" }}
### Chat History:
<chat_history>
USER: {DA_Q}
ASSISTANT: {"Bostøtte gives efter servicelovens § 85. [1] " * 40}
</chat_history>"""


def task(instruction: str, output: str) -> str:
    return (
        f"### Task:\n{instruction}\n### Output:\n{output}\n### Chat History:\n<chat_history>\n"
        f"USER: {DA_Q}\nASSISTANT: Bostøtte gives efter § 85. [1]\n</chat_history>"
    )


@pytest.fixture()
def oai(api: Server) -> openai.OpenAI:  # noqa: F811
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key="x", timeout=60, max_retries=0)


def test_stream_usage_chunk_when_asked(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": DA_Q}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    # Not asked: no usage chunk.
    plain = list(
        oai.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": DA_Q}], stream=True
        )
    )
    assert all(c.choices for c in plain)


def test_unknown_model_is_refused_in_openai_shape(oai: openai.OpenAI, client: httpx.Client) -> None:  # noqa: F811
    with pytest.raises(openai.NotFoundError) as info:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": DA_Q}])
    assert "kvalitetsassistenten" in str(info.value)
    r = client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    error = r.json()["error"]
    assert r.status_code == 404 and error["type"] == "not_found_error"
    assert error["param"] == "model" and error["code"] == "model_not_found" and error["message"]


def test_what_cannot_be_honoured_is_a_clear_400(oai: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": DA_Q}]
    with pytest.raises(openai.BadRequestError, match="n=1"):
        oai.chat.completions.create(model=MODEL, messages=msgs, n=2)
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError, match="json_schema"):
        oai.chat.completions.create(model=MODEL, messages=msgs, response_format=schema)
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError, match="tools"):
        oai.chat.completions.create(
            model=MODEL, messages=msgs, tools=[tool], tool_choice="required"
        )
    assert oai.chat.completions.create(model=MODEL, messages=msgs, n=1).choices


def test_json_object_response_format_is_valid_json(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": DA_Q}],
        response_format={"type": "json_object"},
    )
    data = json.loads(completion.choices[0].message.content or "")
    assert "85" in data["answer"] and data["sources"] and data["language"] == "da"


def test_conversation_ending_with_a_tool_message(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": DA_Q},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"result": 1}'},
        ],
    )
    assert "85" in (completion.choices[0].message.content or "")


def test_open_webui_title_task_replay(oai: openai.OpenAI) -> None:
    assert len(TITLE_TASK) > 2000  # a question this long would be refused
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": TITLE_TASK}],
        stream=False,
        temperature=0.1,
        max_tokens=1000,
    )
    title = json.loads(completion.choices[0].message.content or "")["title"]
    assert title == "Hvilken paragraf i serviceloven gælder for bostøtte"


@pytest.mark.parametrize(
    ("instruction", "output", "expected"),
    [
        (
            "Generate 1-3 broad tags categorizing the main themes of the chat history.",
            'JSON format: { "tags": ["tag1", "tag2", "tag3"] }',
            {"tags": []},
        ),
        (
            "Suggest 3-5 relevant follow-up questions or prompts that the user might ask next.",
            'JSON format: { "follow_ups": ["Question 1?", "Question 2?", "Question 3?"] }',
            {"follow_ups": []},
        ),
        (
            "Analyze the chat history to determine the necessity of generating search queries.",
            'Strictly return in JSON format: \n{\n  "queries": ["query1", "query2"]\n}',
            {"queries": [DA_Q]},
        ),
    ],
)
def test_open_webui_background_tasks(
    oai: openai.OpenAI, instruction: str, output: str, expected: dict
) -> None:
    stream = oai.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": task(instruction, output)}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert json.loads(text) == expected


def test_langchain_chat_openai(api: Server) -> None:  # noqa: F811
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        base_url=f"{api.url}/v1", api_key="x", model=MODEL, max_retries=0, stream_usage=True
    )
    reply = chat.invoke(DA_Q)
    assert "85" in str(reply.content) and "Kilder:" in str(reply.content)
    chunks = list(chat.stream(DA_Q))
    assert "".join(str(c.content) for c in chunks) == reply.content
    assert any(c.usage_metadata and c.usage_metadata["total_tokens"] > 0 for c in chunks)


def test_llm_cli(api: Server, tmp_path: Path) -> None:  # noqa: F811
    exe = shutil.which("llm", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the llm CLI is not installed (dev extra)")
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: kva\n  model_name: {MODEL}\n  api_base: {api.url}/v1\n", encoding="utf-8"
    )
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path), "OPENAI_API_KEY": "x"}
    proc = subprocess.run(
        [exe, "-m", "kva", "--no-log", DA_Q],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "85" in proc.stdout and "Kilder:" in proc.stdout


def test_task_answers_without_a_server() -> None:
    from assistant.api.chat_tasks import answer_task, short_title

    assert answer_task(DA_Q) is None
    assert json.loads(answer_task(TITLE_TASK) or "") == {
        "title": "Hvilken paragraf i serviceloven gælder for bostøtte"
    }
    # An older template asks for the bare title; autocompletion suggests nothing.
    old = task("Create a concise, 3-5 word title for the chat history.", "Only the title.")
    assert answer_task(old) == short_title(DA_Q)
    auto = task("You are an autocompletion system.", 'Respond only in JSON: `{ "text": "" }`.')
    assert json.loads(answer_task(auto) or "") == {"text": ""}
    assert json.loads(
        answer_task('### Task:\nGenerate tags.\n### Output:\n{ "tags": [] }') or ""
    ) == {"tags": []}
