"""The baseline the compiled selector must beat: the model's own tool calling.

This is what LangChain's agents do: `bind_tools` sends the tool schemas in the request's
`tools` field and the server renders them with the model's own chat template. llama.cpp's
server (`llama-server --jinja`) parses Qwen's `<tool_call>` replies into `tool_calls`; calls
written as JSON text in `content` are read too, so the baseline is not penalised for the
format. `parallel_tool_calls` is on (llama.cpp's default is off, which allows one call only);
the dev split decides (README).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from dspy_programs.selector_reply import content_calls
from dspy_programs.tool_specs import CheckedCall, RejectedCall, ToolSpec, validate_calls

SYSTEM = "You are a helpful assistant. Call tools only when they are needed to answer."


def _openai_tool(spec: ToolSpec) -> dict[str, Any]:
    return {"type": "function", "function": {"name": spec.name, "description": spec.description,
                                             "parameters": spec.parameters}}  # fmt: skip


def native_select(
    model: BaseChatModel, question: str, specs: Sequence[ToolSpec], history: Sequence[dict[str, str]] = (),
    parallel: bool = True, usage: dict[str, int] | None = None,
) -> tuple[list[CheckedCall], list[RejectedCall]]:
    """The model's own tool calling on `specs`; `usage`, when given, receives the reply's tokens."""
    bound = model.bind_tools([_openai_tool(s) for s in specs], parallel_tool_calls=parallel)
    messages: list[BaseMessage] = [SystemMessage(SYSTEM)]
    for turn in history:
        messages.append(HumanMessage(turn["content"]) if turn["role"] == "user" else AIMessage(turn["content"]))
    messages.append(HumanMessage(question))
    reply = bound.invoke(messages)
    assert isinstance(reply, AIMessage)
    if usage is not None and reply.usage_metadata:
        usage["prompt_tokens"] = reply.usage_metadata.get("input_tokens", 0)
        usage["completion_tokens"] = reply.usage_metadata.get("output_tokens", 0)
    raw = [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls]
    if not raw and isinstance(reply.content, str):
        raw = content_calls(reply.content)
    return validate_calls(raw, specs)
