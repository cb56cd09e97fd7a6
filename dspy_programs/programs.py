"""The DSPy modules behind the graph's reasoning nodes.

Each module composes one signature; the selector adds validation of the calls it
proposes, so an invalid call is rejected rather than executed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

import dspy
from langchain_core.tools import BaseTool

from dspy_programs.native_adapter import (
    Constrain,
    DemoMode,
    ExampleTools,
    NativeToolAdapter,
    ReplyFormat,
    as_constrain,
    check_reply,
)
from dspy_programs.signatures import Critique, Refine, SelectTools, Synthesize
from dspy_programs.tool_specs import ToolSpec, parse_rendered, render_tools, to_specs, validate_calls
from runtime.settings import Role

log = logging.getLogger(__name__)

AdapterName = Literal["native", "chat", "json"]
ADAPTERS: tuple[AdapterName, ...] = get_args(AdapterName)


def make_adapter(name: AdapterName, **native: Any) -> dspy.Adapter:
    """The selector's prompt format: a measured choice (see the README's evaluation table).

    native: the model's own tool-calling template (native_adapter.py; `native` holds its options:
    direct, constrain, demo_mode); chat: DSPy's `[[ ## field ## ]]` sections; json: DSPy's JSON output.
    """
    if name == "native":
        return NativeToolAdapter(**native)
    if name == "json":
        return dspy.JSONAdapter(use_native_function_calling=False)
    return dspy.ChatAdapter()


class ToolSelector(dspy.Module):
    """Question + tools -> validated tool calls (zero or more).

    The defaults are the measured choices (README, "Tool selection"): `Predict` (no reasoning
    before the call), an `answer_directly` tool offered beside the user's tools, the reply started
    for the model as compact JSON (assistant prefill), and worked examples that carry their own
    tool lists, written as signatures.
    `config()` returns these options; compile stores them in the program's metadata.
    """

    def __init__(
        self,
        adapter: AdapterName = "native",
        reasoning: bool = False,
        direct: bool = True,
        # Unconstrained by default: with the grammar, Predict closed the call list after the first
        # call of a two-part question ("15% of 80, and 5 kg in pounds": one call, in a 4-question
        # probe on llama-server); unconstrained it wrote both. Schema validation runs either way.
        constrain: Constrain | bool = "none",
        demo_mode: DemoMode = "examples",
        # Dev sample (README): exact tool set 0.583 with the prefill vs 0.517 without, p50 6.1 s vs
        # 15.9 s (the unprompted reply is fenced, pretty-printed JSON: twice the tokens).
        prefill: bool = True,
        # The probability of `answer_directly` at which the selector answers directly whatever the
        # model ranked first (native_adapter.py); chosen on train rows by `optimize --abstain`.
        abstain: float | None = None,
        # "keyed" writes each call as {"<name>": {<arguments>}}: fewer tokens to generate;
        # "triage" first says what the question needs (native_adapter.py). Both unconstrained and
        # without reasoning only.
        reply: ReplyFormat = "calls",
        # How each worked example's own tool list is written (native_adapter.py). Signatures alone:
        # the same dev accuracy as with descriptions, 9 % quicker (README, "Tool selection").
        example_tools: ExampleTools = "signatures",
    ) -> None:
        super().__init__()
        self.adapter_name: AdapterName = adapter
        self.reasoning, self.direct, self.demo_mode, self.prefill = reasoning, direct, demo_mode, prefill
        self.abstain = abstain
        self.constrain: Constrain = as_constrain(constrain)
        self.reply: ReplyFormat = reply
        self.example_tools: ExampleTools = example_tools
        check_reply(reply, self.constrain, reasoning)  # at construction, not at the first call
        self.select = dspy.ChainOfThought(SelectTools) if reasoning else dspy.Predict(SelectTools)

    def config(self) -> dict[str, Any]:
        return {"adapter": self.adapter_name, "reasoning": self.reasoning, "direct": self.direct,
                "constrain": self.constrain, "demo_mode": self.demo_mode, "prefill": self.prefill,
                "abstain": self.abstain, "reply": self.reply, "example_tools": self.example_tools}  # fmt: skip

    def forward(
        self,
        question: str,
        tools: str | Iterable[BaseTool | Mapping[str, Any] | ToolSpec],
        conversation: str = "",
        gathered: str = "",
    ) -> dspy.Prediction:
        specs, rendered = self._offer(tools)
        if not rendered.strip():  # nothing to choose from: no model call
            return _no_tools_offered()
        with dspy.context(adapter=self._adapter()):
            pred = self.select(question=question, conversation=conversation, gathered=gathered, tools=rendered)
        return self._checked(pred, specs, rendered)

    async def aforward(
        self,
        question: str,
        tools: str | Iterable[BaseTool | Mapping[str, Any] | ToolSpec],
        conversation: str = "",
        gathered: str = "",
    ) -> dspy.Prediction:
        """`forward`, awaiting the model instead of holding a thread while it answers."""
        specs, rendered = self._offer(tools)
        if not rendered.strip():
            return _no_tools_offered()
        with dspy.context(adapter=self._adapter()):
            pred = await self.select.acall(question=question, conversation=conversation, gathered=gathered,
                                           tools=rendered)  # fmt: skip
        return self._checked(pred, specs, rendered)

    @staticmethod
    def _offer(tools: str | Iterable[BaseTool | Mapping[str, Any] | ToolSpec]) -> tuple[list[ToolSpec] | None, str]:
        specs = to_specs(tools) if not isinstance(tools, str) else None
        return specs, tools if isinstance(tools, str) else render_tools(specs or [])

    def _adapter(self) -> dspy.Adapter:
        # The adapter's options are the program's config minus what the module itself decides.
        native = {k: v for k, v in self.config().items() if k not in ("adapter", "reasoning")}
        return make_adapter(self.adapter_name, **native)

    @staticmethod
    def _checked(pred: dspy.Prediction, specs: list[ToolSpec] | None, rendered: str) -> dspy.Prediction:
        raw = list(pred.tool_calls.tool_calls) if pred.tool_calls is not None else []
        if specs is None:  # tools given pre-rendered (as in compiled demos): parse them back
            specs = parse_rendered(rendered)
        calls, rejected = validate_calls(raw, specs)
        return dspy.Prediction(
            tool_calls=pred.tool_calls, calls=calls, rejected=rejected, reasoning=getattr(pred, "reasoning", ""),
            direct_probability=getattr(pred, "direct_probability", None),
        )


def _no_tools_offered() -> dspy.Prediction:
    return dspy.Prediction(tool_calls=None, calls=[], rejected=[], reasoning="no tools offered")


def selector_kwargs(meta: Mapping[str, Any]) -> dict[str, Any]:
    """ToolSelector options recorded in a compiled program's metadata. Programs compiled before
    these options existed were ChainOfThought with demos as turns and no answer-directly tool; none
    before the prefill option had it, and those before `reply`/`example_tools` wrote "calls" replies
    and described each example's tools."""
    if isinstance(meta.get("selector_config"), Mapping):
        return {"prefill": False, "reply": "calls", "example_tools": "described", **meta["selector_config"]}
    if meta.get("adapter"):
        return {"adapter": meta["adapter"], "reasoning": True, "direct": False, "demo_mode": "turns",
                "prefill": False}  # fmt: skip
    return {}


class Synthesizer(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.answer = dspy.Predict(Synthesize)

    def forward(self, question: str, tool_results: str, conversation: str = "") -> dspy.Prediction:
        return self.answer(question=question, tool_results=tool_results, conversation=conversation)

    async def aforward(self, question: str, tool_results: str, conversation: str = "") -> dspy.Prediction:
        return await self.answer.acall(question=question, tool_results=tool_results, conversation=conversation)


class Critic(dspy.Module):
    """Judges a draft the deterministic checks could not (nodes/checks.py decides the rest)."""

    def __init__(self, reasoning: bool = False) -> None:
        super().__init__()
        # ChainOfThought writes a reasoning field first: ~100 tokens, several seconds on a CPU; the
        # critic now sees only what the checks cannot judge, and answers with verdict + one sentence.
        self.judge = dspy.ChainOfThought(Critique) if reasoning else dspy.Predict(Critique)

    def forward(self, question: str, tool_results: str, draft: str) -> dspy.Prediction:
        return self.judge(question=question, tool_results=tool_results, draft=draft)

    async def aforward(self, question: str, tool_results: str, draft: str) -> dspy.Prediction:
        return await self.judge.acall(question=question, tool_results=tool_results, draft=draft)


class Refiner(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rewrite = dspy.Predict(Refine)

    def forward(self, question: str, tool_results: str, draft: str, critique: str) -> dspy.Prediction:
        return self.rewrite(question=question, tool_results=tool_results, draft=draft, critique=critique)

    async def aforward(self, question: str, tool_results: str, draft: str, critique: str) -> dspy.Prediction:
        return await self.rewrite.acall(question=question, tool_results=tool_results, draft=draft, critique=critique)


# One program per role (runtime/settings.py names the roles).
PROGRAMS: dict[Role, type[dspy.Module]] = {
    "selector": ToolSelector,
    "synthesizer": Synthesizer,
    "critic": Critic,
    "refiner": Refiner,
}
