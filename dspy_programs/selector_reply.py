"""The selector's reply: the JSON the model is asked to write, written for worked examples, and read back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import dspy

from dspy_programs.tool_specs import ToolSpec

# The reply is one JSON object, `{"calls": [{"name": ..., "arguments": {...}}]}`, the shape of
# Qwen's own tool calls, written compactly. "No call" is a call of `answer_directly`, a tool
# offered beside the user's tools, so declining is chosen like any call. The request ends with the
# reply's start, `{"calls": [{"name": "`, as an assistant message the server continues
# (assistant prefill): unprompted, the model fences and pretty-prints its JSON, twice the tokens.
DIRECT_TOOL = "answer_directly"
DIRECT_DESCRIPTION = (
    "Reply to the user yourself, with no other tool: greetings, thanks, small talk, opinions, "
    "writing or explaining requests, general knowledge, and requests that no other tool does exactly "
    "(a tool on the same subject that does something else is not a match)."
)
PREFILL = '{"calls": [{"name": "'


def direct_name(taken: Iterable[str]) -> str:
    """The name of the answer-directly tool, made unique if a user's tool already has it."""
    names = set(taken)
    name = DIRECT_TOOL
    while name in names:
        name += "_"
    return name


def direct_spec(specs: Iterable[ToolSpec]) -> ToolSpec:
    return ToolSpec(name=direct_name(s.name for s in specs), description=DIRECT_DESCRIPTION,
                    parameters={"type": "object", "properties": {}})  # fmt: skip


def reply_json(calls: Iterable[Mapping[str, Any]]) -> str:
    """The reply the model is asked for, compact JSON (a worked example's reply is written the same way)."""
    body = [{"name": c["name"], "arguments": c.get("args", {})} for c in calls] or [
        {"name": DIRECT_TOOL, "arguments": {}}
    ]
    return json.dumps({"calls": body}, ensure_ascii=False)


REPLY_NOTE = (
    '\n\nReply with one JSON object and nothing else: {"calls": [{"name": "<tool name>", "arguments": '
    f'{{<arguments>}}}}]}}, one entry per call; {reply_json([])} when no other tool is needed.'
)


def calls_of(value: Any) -> list[dict[str, Any]]:
    """The calls held by a `tool_calls` value: DSPy's ToolCalls, its dict form, or a list of calls."""
    if value is None:
        return []
    if isinstance(value, dspy.ToolCalls):
        return [{"name": c.name, "args": dict(c.args)} for c in value.tool_calls]
    if isinstance(value, Mapping) and "tool_calls" in value:
        return [dict(c) for c in value["tool_calls"]]
    if isinstance(value, list):
        return [dict(c) for c in value]
    return []


def json_values(text: str) -> list[Any]:
    """Every top-level JSON object or array in `text` (fenced, tagged, or one per line)."""
    decoder = json.JSONDecoder()
    values, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            values.append(value)
            i = end
        else:
            i += 1
    return values


def content_calls(content: str) -> list[dict[str, Any]]:
    """Tool calls written as JSON text in a reply: `{"name", "arguments"}` objects, alone or in lists
    (fenced JSON, `<tool_call>` tags)."""
    calls: list[dict[str, Any]] = []
    for value in json_values(content):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "name" in item:
                args = item.get("arguments", item.get("args", item.get("parameters", {})))
                if isinstance(args, str):
                    with contextlib.suppress(json.JSONDecodeError):
                        args = json.loads(args)
                calls.append({"name": item["name"], "args": args})
    return calls


def reply_calls(text: str) -> list[dict[str, Any]]:
    """The calls of a reply: the first `{"calls": [...]}` object in it, else any calls written as JSON.
    `text` may be the continuation of the prefilled start only (a server that returns just that)."""
    if text and not text.lstrip().startswith(PREFILL[0]):
        text = PREFILL + text
    for value in json_values(text):
        if isinstance(value, dict) and "calls" in value:
            items = value["calls"] if isinstance(value["calls"], list) else []
            return [{"name": i["name"], "args": i.get("arguments", i.get("args", {}))}
                    for i in items if isinstance(i, dict) and "name" in i]  # fmt: skip
    return content_calls(text)
