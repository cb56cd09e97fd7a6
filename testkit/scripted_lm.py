"""A scripted language model: deterministic answers chosen from the prompt, no network.

It speaks DSPy's ChatAdapter format, and the selector's format when a request offers tools (in
the system message's `<tools>` block, or in the request's `tools` field as native tool calling
sends them), so the real programs, adapters and parsing run unchanged. The default
script follows simple rules written into the question:
- the selector calls every offered tool whose name appears in the question, with the
  JSON arguments that follow the name (`calculator{"expression": "2+2"}`), or none;
  with results already gathered it calls nothing more;
- the synthesizer echoes the tool results (with `#vague` in the question it answers with no
  figure, so a draft built on passages or records goes to the critic model);
- the critic answers `accept`, unless the question contains `#refine` or `#more`.
Two rules play a misbehaving model, for security tests:
- `!call name{json}` in the question is called whether or not `name` is offered (a model
  that ignores its tool list);
- with `#obey` in the question, a tool result already gathered saying "call <tool> on <target>"
  makes the selector call that tool with `{"path": target}` (a model obeying a prompt
  injection in a document or API answer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import dspy
from dspy.clients.engines.dummy_engine import AsyncDummyEngine, DummyEngine
from dspy.lm15 import Message, Response, TextPart, Usage
from dspy.utils.dummies import DummyLM

from dspy_programs.selector_adapter import RESULTS_HEADER
from dspy_programs.tool_block import tools_in_system

FIELD = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", re.S)
Script = Callable[[str, dict[str, str]], dict[str, Any]]


def role_of(system: str) -> str:
    if "`tool_calls`" in system:
        return "selector"
    if "`verdict`" in system:
        return "critic"
    if "`critique`" in system:
        return "refiner"
    return "synthesizer"


def input_fields(user: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in FIELD.finditer(user)}


def _offered(tools_text: str) -> list[dict[str, Any]]:
    specs = []
    for line in tools_text.splitlines():
        try:
            specs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return specs


def default_script(role: str, fields: dict[str, str]) -> dict[str, Any]:
    question = fields.get("question", "")
    if role == "selector":
        calls: list[dict[str, Any]] = []
        gathered = fields.get("tool_results", "")
        if not gathered:
            for match in re.finditer(r"!call (\w+)(\{.*?\})?(?=\s|$)", question):
                calls.append({"name": match.group(1), "args": json.loads(match.group(2) or "{}")})
            forced = {c["name"] for c in calls}
            for spec in _offered(fields.get("tools", "")):
                named = re.search(re.escape(spec["name"]) + r"(\{.*?\})?(?=\s|$|[?.!,])", question)
                if not named or spec["name"] in forced:
                    continue
                args = json.loads(named.group(1)) if named.group(1) else {}
                calls.append({"name": spec["name"], "args": args})
        elif "#obey" in question:
            for match in re.finditer(r"call (\w+) on (\S+)", gathered):
                calls.append({"name": match.group(1), "args": {"path": match.group(2).rstrip(".,;\"'")}})
        return {"reasoning": "scripted", "tool_calls": {"tool_calls": calls}}
    if role == "synthesizer":
        results = "" if "#vague" in question else fields.get("tool_results", "")
        return {"answer": f"Scripted answer. {results}".strip()}
    if role == "critic":
        verdict = "refine" if "#refine" in question else "need_more_info" if "#more" in question else "accept"
        return {"reasoning": "scripted", "verdict": verdict, "critique": f"scripted {verdict}"}
    return {"answer": f"Refined: {fields.get('draft', '')}"}


def native_selector_fields(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, str]:
    """The selector's inputs as its adapter sends them: the offered tools (with its `answer_directly`
    tool, which no question names) in the system message's tool block or in `tools`, this
    conversation's turns, then the question and any tool results already gathered."""
    tools = tools or tools_in_system(messages)
    if messages and messages[-1].get("role") == "assistant":  # the reply's start (prefill), not a turn
        messages = messages[:-1]
    question, _, gathered = str(messages[-1].get("content", "")).partition(RESULTS_HEADER)
    turns = [m for m in messages[1:-1] if m.get("role") in ("user", "assistant")]
    return {
        "question": question,
        "tool_results": gathered,
        "tools": "\n".join(json.dumps(t.get("function", t)) for t in tools),
        "conversation": "\n".join(f"{m['role']}: {m['content']}" for m in turns),
    }


def native_reply(outputs: dict[str, Any]) -> str:
    """The selector's reply as the model writes it: one JSON object."""
    calls = outputs["tool_calls"]["tool_calls"]
    return json.dumps({"calls": [{"name": c["name"], "arguments": c["args"]} for c in calls]})


def _tool_dicts(tools: Any) -> list[dict[str, Any]]:
    out = []
    for t in tools or ():
        if isinstance(t, dict):
            out.append(t)
        else:  # lm15 FunctionTool
            out.append({"name": t.name, "description": t.description, "parameters": t.parameters})
    return out


# What DSPy's JSONAdapter writes in the system message of a request whose reply is a JSON object.
JSON_REQUEST = "Outputs will be a JSON object with the following fields."


def reply_adapter(system: str) -> dspy.Adapter:
    """The adapter whose reply format a request asks for: JSON for DSPy's JSONAdapter (the
    critic's), DSPy's field headers otherwise."""
    return dspy.JSONAdapter() if JSON_REQUEST in system else dspy.ChatAdapter()


class _ScriptEngine(DummyEngine):
    tools: list[dict[str, Any]]

    def __init__(self, owner: Any) -> None:
        super().__init__(owner)
        self.tools = []

    def complete(self, request: Any) -> Any:
        self.tools = _tool_dicts(getattr(request, "tools", ()))
        return super().complete(request)

    def complete_legacy(self, lm: Any, request: Any, **context: Any) -> Any:
        self.tools = _tool_dicts(request.get("tools") if isinstance(request, dict) else None)
        return super().complete_legacy(lm, request, **context)

    def _complete_messages(self, messages: list[dict[str, Any]]) -> Any:
        owner: ScriptedLM = self.owner
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        if self.tools or tools_in_system(messages):
            fields = native_selector_fields(messages, self.tools)
            owner.calls.append(("selector", fields))
            reply = native_reply(owner.script("selector", fields))
            return Response(id=None, model="dummy", finish_reason="stop", message=Message.assistant([TextPart(reply)]),
                            usage=Usage(input_tokens=0, output_tokens=0, total_tokens=0))  # fmt: skip
        role = role_of(system)
        fields = input_fields(messages[-1]["content"])
        owner.calls.append((role, fields))
        owner.answers = {"": owner.script(role, fields)}
        owner.adapter = reply_adapter(system)
        return super()._complete_messages(messages)


class ScriptedLM(DummyLM):
    """DSPy's DummyLM with answers computed from the prompt by a script."""

    def __init__(self, script: Script = default_script) -> None:
        super().__init__({})
        self.script = script
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._engine_spec = _ScriptEngine(self)
        self._async_engine_spec = AsyncDummyEngine(self._engine_spec)

    def roles(self) -> list[str]:
        return [role for role, _ in self.calls]


def format_reply(outputs: dict[str, Any], system: str = "") -> str:
    """The reply text for an OpenAI-compatible scripted server (see scripted_server.py), in the
    format the request's system message asks for."""
    lm = DummyLM({}, adapter=reply_adapter(system))
    return str(lm._format_answer_fields(outputs))


__all__ = [
    "ScriptedLM", "default_script", "dspy", "format_reply", "input_fields", "native_reply",
    "native_selector_fields", "role_of",
]  # fmt: skip
