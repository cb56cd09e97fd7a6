"""The baseline the compiled selector must beat: the model's own tool calling, as a careful LangChain user runs it.

This is what LangChain's agents do: `bind_tools` sends the tool schemas in the request's `tools`
field and the server renders them with the model's own chat template (`llama-server --jinja`
parses Qwen's `<tool_call>` replies into `tool_calls`). The request is as strong as the
selector's: the same task instructions (`SelectTools`, one source), complete JSON schemas, earlier
turns as chat turns (tool calls and tool results included, where the history has them) and
`parallel_tool_calls` on (llama.cpp allows one call without it). Calls written as JSON text in
the reply's content are read too, so the baseline is not penalised for the format. Every reply is
kept (`NativeReply`): what the server returned, the calls read from it, the calls validation
rejected, and whether the reply held a call that could not be read at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from dspy_programs.selector_reply import content_calls
from dspy_programs.signatures import SelectTools
from dspy_programs.tool_specs import CheckedCall, RejectedCall, ToolSpec, validate_calls

# The selector's task instructions, word for word: the baseline is told what the selector is told.
SYSTEM: str = SelectTools.instructions


def openai_tool(spec: ToolSpec) -> dict[str, Any]:
    """The OpenAI function spec LangChain's `convert_to_openai_tool` writes: a complete object schema."""
    params = {"type": "object", "properties": {}, **spec.parameters}
    return {"type": "function", "function": {"name": spec.name, "description": spec.description, "parameters": params}}


# A reply that names a call (Qwen's tag, or a JSON "name" key) but from which no call could be read.
_CALL_MARKER = re.compile(r'<tool_call>|"name"\s*:')


def looks_like_a_call(content: str) -> bool:
    return bool(_CALL_MARKER.search(content))


@dataclass
class NativeReply:
    """One native tool-calling reply, kept whole: what the server sent and what was made of it."""

    content: str  # the reply's text
    tool_calls: list[dict[str, Any]]  # the calls the server parsed (name, args), as LangChain read them
    invalid_tool_calls: list[dict[str, Any]]  # server-parsed calls whose arguments LangChain could not read
    finish_reason: str | None
    source: Literal["tool_calls", "content", "none"]  # where the calls were read from
    calls: list[CheckedCall] = field(default_factory=list)  # valid calls
    rejected: list[RejectedCall] = field(default_factory=list)  # calls validation refused
    unparsable: bool = False  # a call was written, but not even its name could be read
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens

    def raw(self) -> dict[str, Any]:
        """What the server returned, as JSON-ready data."""
        return {"content": self.content, "tool_calls": self.tool_calls, "invalid_tool_calls": self.invalid_tool_calls,
                "finish_reason": self.finish_reason}  # fmt: skip

    def rejected_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rejected]


def chat_turns(history: Sequence[Mapping[str, Any]]) -> list[BaseMessage]:
    """Earlier turns as chat messages: user and assistant turns, an assistant turn's tool calls
    (`tool_calls`: name, args, id) and the tool results that answered them (role "tool")."""
    messages: list[BaseMessage] = []
    for i, turn in enumerate(history):
        role, content = turn.get("role"), str(turn.get("content") or "")
        if role == "user":
            messages.append(HumanMessage(content))
        elif role == "assistant":
            calls = [{"name": c["name"], "args": dict(c.get("args") or {}), "id": str(c.get("id") or f"call_{i}_{j}"),
                      "type": "tool_call"} for j, c in enumerate(turn.get("tool_calls") or [])]  # fmt: skip
            messages.append(AIMessage(content, tool_calls=calls))
        elif role == "tool":
            messages.append(ToolMessage(content, tool_call_id=str(turn.get("tool_call_id") or ""),
                                        name=turn.get("name")))  # fmt: skip
        else:
            raise ValueError(f"unknown role in history: {role!r}")
    return messages


def read_reply(
    content: str,
    server_calls: list[dict[str, Any]],
    invalid: list[dict[str, Any]],
    specs: Sequence[ToolSpec],
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
) -> NativeReply:
    """A reply read: the server's calls, or else the calls written as JSON in the content, validated
    against `specs`. Also used to read a kept reply again (`evaluate --rescore`)."""
    raw: list[dict[str, Any]] = server_calls
    source: Literal["tool_calls", "content", "none"] = "tool_calls" if server_calls else "none"
    if not server_calls and not invalid and (from_text := content_calls(content)):
        raw, source = from_text, "content"
    calls, rejected = validate_calls(raw, specs)
    # A call the server parsed but whose arguments are not JSON is refused like any invalid call.
    rejected += [RejectedCall(str(c["name"]), c["args"], f"arguments are not JSON: {c['error']}") for c in invalid]
    unparsable = not raw and not invalid and looks_like_a_call(content)
    return NativeReply(content=content, tool_calls=server_calls, invalid_tool_calls=invalid,
                       finish_reason=finish_reason, source=source, calls=calls, rejected=rejected,
                       unparsable=unparsable, usage=usage or {})  # fmt: skip


def native_select(
    model: BaseChatModel,
    question: str,
    specs: Sequence[ToolSpec],
    history: Sequence[Mapping[str, Any]] = (),
    *,
    parallel: bool = True,
) -> NativeReply:
    """The model's own tool calling on `specs`, sent as complete schemas; the calls are validated
    against the same schemas (what the model was shown, and what the tools accept)."""
    bound = model.bind_tools([openai_tool(s) for s in specs], parallel_tool_calls=parallel)
    messages: list[BaseMessage] = [SystemMessage(SYSTEM), *chat_turns(history), HumanMessage(question)]
    reply = bound.invoke(messages)
    if not isinstance(reply, AIMessage):
        raise TypeError(f"expected an AIMessage, got {type(reply).__name__}")
    content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    server_calls = [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls]
    invalid = [{"name": c.get("name"), "args": c.get("args"), "error": c.get("error")}
               for c in reply.invalid_tool_calls]  # fmt: skip
    usage = {}
    if reply.usage_metadata:
        usage = {"prompt_tokens": reply.usage_metadata.get("input_tokens", 0),
                 "completion_tokens": reply.usage_metadata.get("output_tokens", 0)}  # fmt: skip
    return read_reply(content, server_calls, invalid, specs, reply.response_metadata.get("finish_reason"), usage)
