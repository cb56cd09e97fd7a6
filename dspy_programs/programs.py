"""The DSPy modules behind the graph's reasoning nodes.

Each module composes one signature; the selector adds validation of the calls it
proposes, so an invalid call is rejected rather than executed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import dspy
from langchain_core.tools import BaseTool

from dspy_programs.native_adapter import NativeToolAdapter
from dspy_programs.signatures import Critique, Refine, SelectTools, Synthesize
from dspy_programs.tool_specs import ToolSpec, render_tools, to_specs, validate_calls

log = logging.getLogger(__name__)

AdapterName = Literal["native", "chat", "json"]


def make_adapter(name: AdapterName) -> dspy.Adapter:
    """The selector's prompt format: a measured choice (see the README's evaluation table).

    native: the model's own tool-calling template, demos as earlier turns (native_adapter.py);
    chat: DSPy's `[[ ## field ## ]]` sections; json: DSPy's JSON output (with llama.cpp's JSON
    mode; its native function calling is off because the server returns Qwen's call as text).
    """
    if name == "native":
        return NativeToolAdapter()
    if name == "json":
        return dspy.JSONAdapter(use_native_function_calling=False)
    return dspy.ChatAdapter()


class ToolSelector(dspy.Module):
    """Question + tools -> validated tool calls (zero or more)."""

    def __init__(self, adapter: AdapterName = "native") -> None:
        super().__init__()
        self.adapter_name: AdapterName = adapter
        self.select = dspy.ChainOfThought(SelectTools)

    def forward(
        self,
        question: str,
        tools: str | Iterable[BaseTool | Mapping[str, Any] | ToolSpec],
        conversation: str = "",
        gathered: str = "",
    ) -> dspy.Prediction:
        specs = to_specs(tools) if not isinstance(tools, str) else None
        rendered = tools if isinstance(tools, str) else render_tools(specs or [])
        if not rendered.strip():  # nothing to choose from: no model call
            return dspy.Prediction(tool_calls=None, calls=[], rejected=[], reasoning="no tools offered")
        with dspy.context(adapter=make_adapter(self.adapter_name)):
            pred = self.select(question=question, conversation=conversation, gathered=gathered, tools=rendered)
        raw = list(pred.tool_calls.tool_calls) if pred.tool_calls is not None else []
        if specs is None:  # tools given pre-rendered (as in compiled demos): parse them back
            specs = [ToolSpec.from_any(_json_line(line)) for line in rendered.splitlines() if line.strip()]
        calls, rejected = validate_calls(raw, specs)
        return dspy.Prediction(
            tool_calls=pred.tool_calls, calls=calls, rejected=rejected, reasoning=getattr(pred, "reasoning", "")
        )


def _json_line(line: str) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("tool line is not an object")
    return value


class Synthesizer(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.answer = dspy.Predict(Synthesize)

    def forward(self, question: str, tool_results: str, conversation: str = "") -> dspy.Prediction:
        return self.answer(question=question, tool_results=tool_results, conversation=conversation)


class Critic(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.judge = dspy.ChainOfThought(Critique)

    def forward(self, question: str, tool_results: str, draft: str) -> dspy.Prediction:
        return self.judge(question=question, tool_results=tool_results, draft=draft)


class Refiner(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rewrite = dspy.Predict(Refine)

    def forward(self, question: str, tool_results: str, draft: str, critique: str) -> dspy.Prediction:
        return self.rewrite(question=question, tool_results=tool_results, draft=draft, critique=critique)


ProgramName = Literal["selector", "synthesizer", "critic", "refiner"]
PROGRAMS: dict[str, type[dspy.Module]] = {
    "selector": ToolSelector,
    "synthesizer": Synthesizer,
    "critic": Critic,
    "refiner": Refiner,
}
