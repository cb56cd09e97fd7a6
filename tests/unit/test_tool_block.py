"""The offered tools as the system message's tool block, and ToolSpec's forms of a tool."""

from __future__ import annotations

from typing import Any

import dspy
from langchain_core.tools import tool

from dspy_programs.tool_block import openai_tools, tools_block, tools_in_system
from dspy_programs.tool_specs import ToolSpec, to_specs

SPEC = {"name": "lookup", "description": "Look a word up.",
        "parameters": {"type": "object", "title": "Args", "properties": {
            "word": {"type": "string", "maxLength": 40, "description": "the word"},
            "lang": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}},
            "required": ["word"]}}  # fmt: skip


def test_a_tool_is_shown_with_its_brief_schema_and_validated_with_the_full_one() -> None:
    spec = ToolSpec.from_any(SPEC)
    assert "title" not in spec.parameters and spec.parameters["properties"]["word"]["maxLength"] == 40
    shown = spec.openai()["function"]["parameters"]
    assert shown == {"type": "object", "properties": {"word": {"type": "string", "description": "the word"},
                                                      "lang": {"type": "string"}}, "required": ["word"]}  # fmt: skip


def test_the_block_is_qwen_templates_and_reads_back() -> None:
    tools = openai_tools(to_specs([SPEC]))
    block = tools_block(tools)
    assert block.startswith("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.")
    assert '\n<tools>\n{"type": "function", "function": {"name": "lookup"' in block
    assert block.endswith('<tool_call>\n{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>')
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Instructions." + block},
                                      {"role": "user", "content": "hi"}]  # fmt: skip
    assert tools_in_system(messages) == tools
    assert tools_in_system([{"role": "system", "content": "no tools"}]) == []


def test_langchain_and_dspy_tools_and_openai_specs_become_the_same_spec() -> None:
    @tool
    def lookup(word: str) -> str:
        """Look a word up."""
        return word

    def lookup_fn(word: str) -> str:
        return word

    from_lc = ToolSpec.from_any(lookup)
    from_dspy = ToolSpec.from_any(dspy.Tool(lookup_fn, name="lookup", desc="Look a word up."))
    from_openai = ToolSpec.from_any({"type": "function", "function": from_lc.openai()["function"]})
    assert from_lc.name == from_dspy.name == from_openai.name == "lookup"
    assert from_lc.brief()["required"] == from_dspy.brief()["required"] == ["word"]
    assert from_openai.openai() == from_lc.openai()
    assert ToolSpec.model_validate(from_lc.model_dump()) == from_lc  # saved in demos as plain JSON
