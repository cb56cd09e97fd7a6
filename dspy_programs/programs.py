"""The DSPy modules behind the graph's reasoning nodes: one signature each; the selector validates its calls."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import dspy

from dspy_programs.answer_adapter import AnswerAdapter
from dspy_programs.selector_adapter import SELECTOR_FORMAT, ToolSelectionAdapter
from dspy_programs.selector_reply import direct_spec
from dspy_programs.signatures import Critique, Refine, SelectTools, Synthesize
from dspy_programs.tool_specs import AnyTool, ToolSpec, to_specs, validate_calls
from runtime.settings import Role

log = logging.getLogger(__name__)

Conversation: TypeAlias = dspy.History | Sequence[Mapping[str, str]] | None


def as_history(conversation: Conversation) -> dspy.History:
    """Earlier turns as a `dspy.History` of `{"role", "content"}` messages (given as one, or as a list of them)."""
    if isinstance(conversation, dspy.History):
        return conversation
    return dspy.History(messages=[{"role": m["role"], "content": m["content"]} for m in conversation or ()])


class ToolSelector(dspy.Module):
    """Question + tools (+ earlier turns, + tool results already gathered) -> validated tool calls, zero or more.

    One `Predict(SelectTools)` through the selector's adapter (selector_adapter.py). An
    `answer_directly` tool is offered beside the given ones, so "no call" is chosen like a call;
    its calls are removed from the answer, and every other call is validated against its tool's
    JSON schema: an invalid call is reported in `rejected`, never returned in `calls`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.select = dspy.Predict(SelectTools)
        self.adapter = ToolSelectionAdapter()

    def load_state(self, state: dict[str, Any], **kwargs: Any) -> ToolSelector:
        """A saved program, refused with one line when its worked examples are in an older format
        (tools and the conversation as text): the typed adapter cannot read them."""
        for demo in (state.get("select") or {}).get("demos") or []:
            if not isinstance(demo.get("tools"), list) or isinstance(demo.get("conversation"), str):
                raise ValueError("a selector whose worked examples are in an older format (tools and conversation "
                                 "as text) no longer loads: compile it again with `optimize`")  # fmt: skip
        super().load_state(state, **kwargs)
        return self

    @staticmethod
    def config() -> dict[str, Any]:
        """What the prompt is (compile records it in the program's metadata)."""
        return dict(SELECTOR_FORMAT)

    @staticmethod
    def offered(specs: list[ToolSpec]) -> list[ToolSpec]:
        """The tools the model is shown: the given ones and the answer-directly tool."""
        return [*specs, direct_spec(specs)]

    def forward(self, question: str, tools: Iterable[AnyTool], conversation: Conversation = None,
                tool_results: str = "") -> dspy.Prediction:  # fmt: skip
        specs = to_specs(tools)
        if not specs:  # nothing to choose from: no model call
            return _no_tools_offered()
        with dspy.context(adapter=self.adapter):
            try:
                pred = self.select(tools=self.offered(specs), conversation=as_history(conversation),
                                   tool_results=tool_results, question=question)  # fmt: skip
            except dspy.AdapterParseError:  # an empty reply: no call
                pred = dspy.Prediction(tool_calls=None)
        return _checked(pred, specs)

    async def aforward(self, question: str, tools: Iterable[AnyTool], conversation: Conversation = None,
                       tool_results: str = "") -> dspy.Prediction:  # fmt: skip
        """`forward`, awaiting the model instead of holding a thread while it answers."""
        specs = to_specs(tools)
        if not specs:
            return _no_tools_offered()
        with dspy.context(adapter=self.adapter):
            try:
                pred = await self.select.acall(tools=self.offered(specs),
                                               conversation=as_history(conversation),
                                               tool_results=tool_results, question=question)  # fmt: skip
            except dspy.AdapterParseError:
                pred = dspy.Prediction(tool_calls=None)
        return _checked(pred, specs)


def _checked(pred: dspy.Prediction, specs: list[ToolSpec]) -> dspy.Prediction:
    """The reply's calls minus the answer-directly tool's, validated against the offered tools."""
    direct = direct_spec(specs).name
    raw = [c for c in (pred.tool_calls.tool_calls if pred.tool_calls is not None else []) if c.name != direct]
    calls, rejected = validate_calls(raw, specs)
    return dspy.Prediction(tool_calls=dspy.ToolCalls(tool_calls=raw), calls=calls, rejected=rejected)


def _no_tools_offered() -> dspy.Prediction:
    return dspy.Prediction(tool_calls=None, calls=[], rejected=[])


def selector_kwargs(meta: Mapping[str, Any]) -> dict[str, Any]:
    """ToolSelector's arguments for a compiled program, from its metadata: none, once its recorded
    prompt format (`selector_config`) is checked to be the one the selector writes. A program
    compiled with an option the selector no longer has (docs/selector-experiments.md) is refused
    with that option named, rather than run in a prompt it was not compiled for."""
    if not meta:  # nothing compiled: the zero-shot selector
        return {}
    recorded = meta.get("selector_config")
    if not isinstance(recorded, Mapping):
        raise ValueError("a selector compiled before its options were recorded (ChainOfThought, demos as turns) "
                         "no longer loads: compile it again with `optimize --program selector`")  # fmt: skip
    # Options recorded before these keys existed had the values of that time.
    recorded = {"prefill": False, "reply": "calls", "example_tools": "described", **recorded}
    differ = {k: v for k, v in recorded.items() if k in SELECTOR_FORMAT and v != SELECTOR_FORMAT[k]}
    if differ:
        raise ValueError(f"a selector compiled with {differ} no longer loads (the option was removed: "
                         "docs/selector-experiments.md); compile it again with `optimize --program selector`")
    return {}


class Synthesizer(dspy.Module):
    """Question + tool results (+ earlier turns) -> the answer, through AnswerAdapter (answer_adapter.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = dspy.Predict(Synthesize)
        self.adapter = AnswerAdapter()

    def forward(self, question: str, tool_results: str, conversation: str = "") -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return self.answer(question=question, tool_results=tool_results, conversation=conversation)

    async def aforward(self, question: str, tool_results: str, conversation: str = "") -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return await self.answer.acall(question=question, tool_results=tool_results, conversation=conversation)


class Critic(dspy.Module):
    """Judges a draft the deterministic checks could not (nodes/checks.py decides the rest)."""

    def __init__(self, reasoning: bool = False) -> None:
        super().__init__()
        # ChainOfThought writes a reasoning field first, generated tokens on every call; the critic
        # sees only what the checks cannot judge, and answers with verdict + one sentence.
        self.judge = dspy.ChainOfThought(Critique) if reasoning else dspy.Predict(Critique)
        self.adapter = dspy.JSONAdapter()

    # The verdict is asked for in JSON (DSPy's JSONAdapter). In DSPy's default field format the
    # small model writes `[[ ## verdict ## ]] = refine`, which does not parse, so every critic call
    # cost a second model call through the adapter's own JSON fallback.
    def forward(self, question: str, tool_results: str, draft: str) -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return self.judge(question=question, tool_results=tool_results, draft=draft)

    async def aforward(self, question: str, tool_results: str, draft: str) -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return await self.judge.acall(question=question, tool_results=tool_results, draft=draft)


class Refiner(dspy.Module):
    """Draft + critique -> a rewritten answer, through AnswerAdapter like the synthesizer's."""

    def __init__(self) -> None:
        super().__init__()
        self.rewrite = dspy.Predict(Refine)
        self.adapter = AnswerAdapter()

    def forward(self, question: str, tool_results: str, draft: str, critique: str) -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return self.rewrite(question=question, tool_results=tool_results, draft=draft, critique=critique)

    async def aforward(self, question: str, tool_results: str, draft: str, critique: str) -> dspy.Prediction:
        with dspy.context(adapter=self.adapter):
            return await self.rewrite.acall(question=question, tool_results=tool_results, draft=draft,
                                            critique=critique)  # fmt: skip


# One program per role (runtime/settings.py names the roles).
PROGRAMS: dict[Role, type[dspy.Module]] = {
    "selector": ToolSelector,
    "synthesizer": Synthesizer,
    "critic": Critic,
    "refiner": Refiner,
}


def prompt_messages(program: dspy.Module, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chat messages `program`'s one predictor sends for `inputs` (its signature's input fields),
    formatted by the program's own adapter, with no model call."""
    [predictor] = program.predictors()
    adapter: dspy.Adapter = program.adapter
    return adapter.format(predictor.signature, predictor.demos, dict(inputs))
