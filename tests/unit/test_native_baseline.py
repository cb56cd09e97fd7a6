"""The native tool-calling baseline: what it sends, and every reply kept and read (real ChatOpenAI,
scripted HTTP replies)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_openai import ChatOpenAI

from dspy_programs.native_baseline import SYSTEM, chat_turns, native_select, openai_tool
from dspy_programs.signatures import SelectTools
from dspy_programs.tool_specs import ToolSpec, to_specs
from offline.metrics import failure_class
from tools import TOOLS

SPECS = to_specs(TOOLS)


def server(message: dict[str, Any], seen: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """An OpenAI-compatible endpoint that records each request body and answers with `message`."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})  # fmt: skip

    return handle


def model(message: dict[str, Any], seen: list[dict[str, Any]], **kwargs: Any) -> ChatOpenAI:
    client = httpx.Client(transport=httpx.MockTransport(server(message, seen)))
    return ChatOpenAI(model="m", base_url="http://model.test/v1", api_key="k", http_client=client,  # type: ignore[arg-type]
                      max_retries=0, **kwargs)  # fmt: skip


def call(id_: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_the_request_carries_the_selectors_instructions_complete_schemas_and_parallel_calls() -> None:
    seen: list[dict[str, Any]] = []
    native_select(model({"content": "Hello!"}, seen, max_tokens=512), "hi", SPECS)
    (body,) = seen
    assert SelectTools.instructions == SYSTEM and "one call per part" in SYSTEM
    assert body["messages"][0] == {"role": "system", "content": SelectTools.instructions}
    # langchain-openai sends the limit as `max_completion_tokens`, which llama-server reads as n_predict.
    assert body["parallel_tool_calls"] is True and body["max_completion_tokens"] == 512
    calc = next(t["function"] for t in body["tools"] if t["function"]["name"] == "calculator")
    assert calc["parameters"]["type"] == "object" and calc["parameters"]["required"] == ["expression"]
    # A schema given without its top-level type still goes out as a complete object schema.
    schema = {"properties": {"x": {"type": "string"}}, "required": ["x"]}
    bare = openai_tool(ToolSpec(name="f", description="d", parameters=schema))
    assert bare["function"]["parameters"] == {"type": "object", "properties": {"x": {"type": "string"}},
                                              "required": ["x"]}  # fmt: skip


def test_earlier_turns_go_out_as_chat_turns_with_their_tool_calls_and_results() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "What is 2+2?\nAnd nothing else."},
        {"role": "assistant", "content": "", "tool_calls": [{"name": "calculator", "args": {"expression": "2+2"},
                                                              "id": "c7"}]},
        {"role": "tool", "content": "4", "tool_call_id": "c7", "name": "calculator"},
        {"role": "assistant", "content": "2+2 is 4."},
    ]  # fmt: skip
    seen: list[dict[str, Any]] = []
    native_select(model({"content": "ok"}, seen), "and times 3?", SPECS, history)
    sent = seen[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"] == "What is 2+2?\nAnd nothing else."  # every line of a multi-line turn
    assert sent[2]["tool_calls"][0]["function"] == {"name": "calculator", "arguments": '{"expression": "2+2"}'}
    assert sent[3] == {"role": "tool", "content": "4", "tool_call_id": "c7"}
    with pytest.raises(ValueError, match="unknown role"):
        chat_turns([{"role": "robot", "content": "x"}])


def test_two_server_parsed_calls_are_both_kept() -> None:
    reply = native_select(model({"content": None, "tool_calls": [
        call("a", "calculator", '{"expression": "0.15*80"}'),
        call("b", "convert_units", '{"value": 5, "from_unit": "kg", "to_unit": "lb"}')]}, []),
        "15% of 80, and 5 kg in pounds?", SPECS)  # fmt: skip
    assert [c.name for c in reply.calls] == ["calculator", "convert_units"] and reply.source == "tool_calls"
    assert reply.raw()["tool_calls"][1] == {"name": "convert_units", "args": {"value": 5, "from_unit": "kg",
                                                                              "to_unit": "lb"}}  # fmt: skip
    assert reply.usage == {"prompt_tokens": 100, "completion_tokens": 20}


def test_a_call_that_fails_validation_is_kept_and_classed_invalid_arguments_not_no_call() -> None:
    expected = [{"name": "calculator", "args": {"expression": "2+2"}}]
    for arguments in ('{"expr": "2+2"}', '{"expression": "2+'):  # a wrong key; arguments that are not JSON
        reply = native_select(model({"content": None, "tool_calls": [call("a", "calculator", arguments)]}, []),
                              "2+2?", SPECS)  # fmt: skip
        assert reply.calls == [] and [r.name for r in reply.rejected] == ["calculator"]
        assert failure_class(expected, reply.calls, reply.rejected, reply.unparsable) == "invalid_arguments"


def test_calls_written_in_the_content_are_read_and_an_unreadable_call_is_unparsable() -> None:
    fenced = (
        '```json\n[{"name": "calculator", "arguments": {"expression": "0.15*80"}},\n'
        ' {"name": "convert_units", "arguments": {"value": 5, "from_unit": "kg", "to_unit": "lb"}}]\n```'
    )
    reply = native_select(model({"content": fenced}, []), "15% of 80, and 5 kg in pounds?", SPECS)
    assert [c.name for c in reply.calls] == ["calculator", "convert_units"] and reply.source == "content"
    broken = native_select(model({"content": '<tool_call>\n{"name": "calculator", "arguments": {"expr'}, []),
                           "2+2?", SPECS)  # fmt: skip
    assert broken.calls == [] and broken.rejected == [] and broken.unparsable
    expected = [{"name": "calculator", "args": {"expression": "2+2"}}]
    assert failure_class(expected, broken.calls, broken.rejected, broken.unparsable) == "unparsable"
    prose = native_select(model({"content": "Paris is the capital of France."}, []), "capital of France?", SPECS)
    assert prose.calls == [] and not prose.unparsable and prose.source == "none"
