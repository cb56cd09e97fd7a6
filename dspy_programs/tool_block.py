"""The offered tools as the system message's tool block, as Qwen2.5's chat template writes a request's `tools`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from dspy_programs.tool_specs import ToolSpec

# The selector renders its input field `tools` itself, as every DSPy adapter renders its input
# fields, rather than sending them in the request's `tools` field: DSPy sends that field only
# through its native function calling, for models its catalogue says support it (a local server's
# model is not among them). The text is what llama-server's `--jinja` template adds to the system
# message for the same `tools` (the same prompt, character for character, checked with the
# server's `/apply-template`: benchmarks/selector_prompts.py), the format Qwen2.5 was trained to read.
_HEAD = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
# The doubled braces are the template's own text (as llama-server renders the model's template).
_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    'within <tool_call></tool_call> XML tags:\n<tool_call>\n{{"name": <function-name>, "arguments": '
    "<args-json-object>}}\n</tool_call>"
)


def openai_tools(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    return [spec.openai() for spec in specs]


def tools_block(tools: Sequence[dict[str, Any]]) -> str:
    """The block for OpenAI-style function specs: one JSON object per line, as the template's `tojson`."""
    return _HEAD + "\n".join(json.dumps(t, ensure_ascii=False) for t in tools) + _TAIL


def tools_in_system(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The function specs read back from a system message that holds a `tools_block` (testkit's scripted models)."""
    system = str(messages[0].get("content", "")) if messages and messages[0].get("role") == "system" else ""
    _, _, rest = system.rpartition(_HEAD)
    block, found, _ = rest.partition(_TAIL)
    return [json.loads(line) for line in block.splitlines() if line.strip()] if found else []
