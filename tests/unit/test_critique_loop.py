"""The critique loop: checks decide without a model, the critic judges only free text, and a
refined draft replaces the old one only when it is better."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import StructuredTool
from langgraph.cache.memory import InMemoryCache
from pydantic import BaseModel, Field

from agent_types.context import Context
from graphs.agent import build_graph
from testkit.inputs import user_input
from testkit.scripted_lm import ScriptedLM, default_script


class Expr(BaseModel):
    expression: str = Field(description="arithmetic")


def calculator(expression: str) -> str:
    return "397.8"


def passage(expression: str) -> str:
    return '[{"source": "doc.md", "text": "Hardware can be returned within 30 days."}]'


def graph(fn: Any = calculator) -> Any:
    tools = [StructuredTool.from_function(func=f, name=name, description=name, args_schema=Expr,
                                          metadata={"version": "1", "ttl": 60})
             for name, f in (("calculator", fn), ("search", passage))]  # fmt: skip
    return build_graph(tools, cache=InMemoryCache())


Q = 'calculator{"expression": "0.17 * 2340"} what is 17% of 2340?'


def scripted(synth: str, refined: str | None = None) -> ScriptedLM:
    def script(role: str, fields: dict[str, str]) -> dict[str, Any]:
        if role == "synthesizer":
            return {"answer": synth}
        if role == "refiner":
            return {"answer": refined if refined is not None else fields["draft"]}
        return default_script(role, fields)

    return ScriptedLM(script)


def run(monkeypatch: Any, lm: ScriptedLM, question: str = Q, fn: Any = calculator, **ctx: Any) -> dict[str, Any]:
    monkeypatch.setattr("nodes.roles.lm_at", lambda endpoint, settings=None, max_tokens=None: lm)
    out: dict[str, Any] = graph(fn).invoke(user_input(question), context=Context(**ctx))
    return out


def test_a_draft_the_checks_accept_costs_no_critic_call(monkeypatch: Any) -> None:
    lm = scripted("17% of 2,340 is 397.8.")
    out = run(monkeypatch, lm)
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["verdict"] == "accept" and out["critique_by"] == "checks"
    assert out["answer"] == "17% of 2,340 is 397.8."


def test_a_failed_check_is_the_refiners_critique_and_no_critic_is_asked(monkeypatch: Any) -> None:
    lm = scripted("17% of 2,340 is 379.8.", refined="17% of 2,340 is 397.8.")
    out = run(monkeypatch, lm)
    assert lm.roles() == ["selector", "synthesizer", "refiner"]
    refiner_fields = lm.calls[2][1]
    assert "397.8" in refiner_fields["critique"]
    assert out["answer"] == "17% of 2,340 is 397.8."
    assert out["refine_kept"] is True and out["verdict"] == "accept"


def test_a_refined_draft_that_fixes_nothing_is_dropped_and_the_loop_ends(monkeypatch: Any) -> None:
    lm = scripted("17% of 2,340 is 379.8.", refined="I apologize for the incomplete draft.")
    out = run(monkeypatch, lm, max_refinements=3)
    assert lm.roles() == ["selector", "synthesizer", "refiner"]
    assert out["refine_kept"] is False
    assert out["answer"] == "17% of 2,340 is 379.8."


def test_a_refined_draft_that_loses_a_passed_check_is_dropped(monkeypatch: Any) -> None:
    # "12 boxes" is in no tool result: the checks ask for a refinement; the refiner drops the figure.
    draft = "Returns: within 30 days; 17% of 2340 is 397.8, in 12 boxes."
    lm = scripted(draft, refined="Returns are possible.")
    out = run(monkeypatch, lm, question=Q + ' search{"expression": "returns"}')
    assert lm.roles() == ["selector", "synthesizer", "refiner"]
    assert "12" in lm.calls[2][1]["critique"]
    assert out["refine_kept"] is False and out["answer"] == draft


def test_a_refined_draft_that_drops_a_figure_from_a_passage_is_dropped(monkeypatch: Any) -> None:
    draft = "Hardware can be returned within 30 days, or 45 with a receipt."
    lm = scripted(draft, refined="Hardware can be returned.")
    out = run(monkeypatch, lm, fn=passage)
    # 45 is in no passage: the selector is asked first whether a step is missing (it makes no call).
    assert lm.roles() == ["selector", "synthesizer", "selector", "refiner"]
    assert out["refine_kept"] is False and out["answer"] == draft


def test_a_made_up_figure_in_a_passage_answer_is_refined_without_a_critic(monkeypatch: Any) -> None:
    lm = scripted("Hardware can be returned within 45 days.", refined="Hardware can be returned within 30 days.")
    out = run(monkeypatch, lm, fn=passage)
    assert lm.roles() == ["selector", "synthesizer", "selector", "refiner"]
    assert out["refine_kept"] is True and out["answer"] == "Hardware can be returned within 30 days."


def test_a_passage_answer_whose_figures_are_in_the_results_costs_no_critic_call(monkeypatch: Any) -> None:
    lm = scripted("Hardware can be returned within 30 days.")
    out = run(monkeypatch, lm, fn=passage)
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["verdict"] == "accept" and out["critique_by"] == "checks"


def test_a_passage_answer_with_no_figure_goes_to_the_critic_model(monkeypatch: Any) -> None:
    lm = scripted("Unused hardware can be returned for a refund.")
    out = run(monkeypatch, lm, fn=passage)
    assert lm.roles() == ["selector", "synthesizer", "critic"]
    assert out["critique_by"] == "critic"


def test_a_critic_refinement_that_changes_nothing_is_dropped(monkeypatch: Any) -> None:
    lm = scripted("Unused hardware can be returned.", refined="Unused hardware can be returned.")
    out = run(monkeypatch, lm, question=Q + " #refine", fn=passage)
    assert lm.roles() == ["selector", "synthesizer", "critic", "refiner"]
    assert out["refine_kept"] is False and out["answer"] == "Unused hardware can be returned."


def test_a_question_asked_again_in_the_thread_sees_the_conversation_it_was_first_asked_in(monkeypatch: Any) -> None:
    lm = scripted("17% of 2,340 is 397.8.")
    first = run(monkeypatch, lm)
    again = [HumanMessage(Q), AIMessage(first["answer"]), HumanMessage("thanks"), AIMessage("You're welcome."),
             HumanMessage(Q)]  # fmt: skip
    monkeypatch.setattr("nodes.roles.lm_at", lambda endpoint, settings=None, max_tokens=None: lm)
    graph().invoke({"messages": again}, context=Context())
    selector_calls = [fields for role, fields in lm.calls if role == "selector"]
    assert selector_calls[0] == selector_calls[1]  # identical prompt: the LM cache can answer it
    other = [HumanMessage("thanks"), AIMessage("You're welcome."), HumanMessage(Q + " please")]
    graph().invoke({"messages": other}, context=Context())
    assert "thanks" in [fields for role, fields in lm.calls if role == "selector"][2]["conversation"]


def late(monkeypatch: Any, seconds: float) -> None:
    """The critique loop's clock reads `seconds` after the turn began (the turn's start is real)."""
    import time
    from types import SimpleNamespace

    monkeypatch.setattr("nodes.critique.time", SimpleNamespace(time=lambda: time.time() + seconds))


def test_late_in_the_turn_the_critic_is_not_asked_and_the_checked_draft_stands(monkeypatch: Any) -> None:
    late(monkeypatch, 11)
    lm = scripted("Unused hardware can be returned for a refund.")
    out = run(monkeypatch, lm, fn=passage)
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["verdict"] == "accept" and out["critique_by"] == "checks" and "loop_seconds" in out["critique"]
    assert out["answer"] == "Unused hardware can be returned for a refund."


def test_late_in_the_turn_a_failed_check_is_not_refined(monkeypatch: Any) -> None:
    late(monkeypatch, 11)
    lm = scripted("17% of 2,340 is 379.8.", refined="17% of 2,340 is 397.8.")
    out = run(monkeypatch, lm)
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["verdict"] == "refine" and out["refinements"] == 0
    assert out["answer"] == "17% of 2,340 is 379.8."


def test_a_critic_still_running_at_the_limit_is_not_waited_for(monkeypatch: Any) -> None:
    import asyncio
    from types import SimpleNamespace

    from nodes import roles

    # The turn began at 1000.0 and the critic starts at 1009.9: 0.1 s before loop_seconds (10).
    monkeypatch.setattr("nodes.intake.time", SimpleNamespace(time=lambda: 1000.0))
    monkeypatch.setattr("nodes.critique.time", SimpleNamespace(time=lambda: 1009.9))
    lm = scripted("Unused hardware can be returned for a refund.")
    bind = roles.bind
    cancelled: list[bool] = []

    async def slow_critic(role: Any, context: Any) -> Any:
        binding = await bind(role, context)
        if role != "critic":
            return binding

        class Slow:
            async def run(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    cancelled.append(True)
                    raise

        return Slow()

    monkeypatch.setattr("nodes.critique.bind", slow_critic)
    out = run(monkeypatch, lm, fn=passage)
    assert cancelled == [True]
    assert out["verdict"] == "accept" and out["critique_by"] == "checks" and "did not answer" in out["critique"]
    assert out["answer"] == "Unused hardware can be returned for a refund."


@pytest.mark.parametrize(("seconds_in", "limit"), [(590, 0), (11, 30)], ids=["no-limit", "longer-limit"])
def test_with_no_limit_or_a_longer_one_the_refiner_still_runs(monkeypatch: Any, seconds_in: int, limit: int) -> None:
    late(monkeypatch, seconds_in)
    lm = scripted("17% of 2,340 is 379.8.", refined="17% of 2,340 is 397.8.")
    out = run(monkeypatch, lm, loop_seconds=limit)
    assert lm.roles() == ["selector", "synthesizer", "refiner"]
    assert out["refine_kept"] is True and out["answer"] == "17% of 2,340 is 397.8."


def test_a_start_time_that_is_not_a_number_never_stops_the_loop() -> None:
    # `started` is state a thread's owner can update: a wrong type must not crash the routers.
    from nodes.critique import out_of_time

    def state(started: Any) -> Any:
        return {"messages": [], "started": started}

    for started in ("yesterday", None, [1.0]):
        assert out_of_time(state(started), Context()) is False
    assert out_of_time(state(0.0), Context()) is True
    assert out_of_time(state(0.0), Context(loop_seconds=0)) is False
