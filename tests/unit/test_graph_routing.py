"""Every routing branch of the agent graph, driven by a scripted LM."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool
from langgraph.cache.memory import InMemoryCache
from pydantic import BaseModel, Field

from agent_types.context import Context
from graphs.agent import build_graph
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM, default_script


class TextArgs(BaseModel):
    text: str = Field(description="any text")


def make_tool(name: str, fn: Any, ttl: int = 60) -> StructuredTool:
    return StructuredTool.from_function(
        func=fn, name=name, description=f"{name} tool", args_schema=TextArgs, metadata={"version": "1", "ttl": ttl}
    )


# Every test runs the graph both ways: `invoke` (sync callers: self-hosting, evaluation) and
# `ainvoke` (the server), which awaits the async LM nodes directly.
_MODE = threading.local()


@pytest.fixture(autouse=True, params=["invoke", "ainvoke"])
def invoke_mode(request: pytest.FixtureRequest) -> Any:
    _MODE.value = request.param
    yield request.param
    _MODE.value = "invoke"


def ask(graph: Any, question: str, **ctx: Any) -> dict[str, Any]:
    if getattr(_MODE, "value", "invoke") == "ainvoke":
        result: dict[str, Any] = asyncio.run(graph.ainvoke(user_input(question), context=Context(**ctx)))
    else:
        result = graph.invoke(user_input(question), context=Context(**ctx))
    return result


def test_no_tool_goes_straight_to_synthesize(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([make_tool("echo", lambda text: record(calls, text))], cache=InMemoryCache())
    out = ask(graph, "Hello there!")
    assert calls == []
    # No tool results: nothing to check the reply against, so it is left alone (no critic call).
    assert scripted_lm.roles() == ["selector", "synthesizer"]
    assert out["verdict"] == "accept" and out["critique_by"] == "checks"
    assert out["answer"].startswith("Scripted answer")
    assert out["messages"][-1].content == out["answer"]


def test_two_tools_run_in_parallel(scripted_lm: ScriptedLM) -> None:
    # Each tool waits for the other at a barrier: the run only completes if both run at once.
    barrier = threading.Barrier(2, timeout=10)

    def meet(text: str) -> str:
        barrier.wait()
        return text.upper()

    graph = build_graph([make_tool("alpha", meet), make_tool("beta", meet)], cache=InMemoryCache())
    out = ask(graph, 'use alpha{"text": "a"} and beta{"text": "b"}')
    outputs = sorted((r["name"], r["output"], r["error"]) for r in out["tool_results"])
    assert outputs == [("alpha", "A", None), ("beta", "B", None)]


def test_invalid_arguments_are_rejected_not_executed(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([make_tool("echo", lambda text: record(calls, text))], cache=InMemoryCache())
    out = ask(graph, 'echo{"text": 5, "extra": 1}')
    assert calls == []
    assert out["rejected_calls"] and out["rejected_calls"][0]["name"] == "echo"
    # The refused call went back to the selector once (it made no other call): every try failed, so
    # no draft is written from errors alone, and the answer says in words what could not be done.
    assert scripted_lm.roles() == ["selector", "selector"]
    assert "not run" in scripted_lm.calls[1][1]["tool_results"]
    assert out["answer"].startswith("I could not run echo: invalid arguments") and "ERROR" not in out["answer"]


def test_tool_error_is_recorded_and_answered(scripted_lm: ScriptedLM) -> None:
    def boom(text: str) -> str:
        raise RuntimeError("disk on fire")

    graph = build_graph([make_tool("boom", boom)], cache=InMemoryCache())
    out = ask(graph, 'boom{"text": "x"}')
    assert out["tool_results"][0]["error"] == "RuntimeError: disk on fire"
    assert "disk on fire" in out["answer"]


def test_accept_ends_after_one_critique(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    ask(graph, 'echo{"text": "hi"}')
    assert scripted_lm.roles() == ["selector", "synthesizer", "critic"]


def test_refine_loop_is_bounded(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, 'echo{"text": "hi"} please #refine', max_refinements=2)
    assert scripted_lm.roles() == ["selector", "synthesizer", "critic", "refiner", "critic", "refiner", "critic"]
    assert out["refinements"] == 2
    assert out["answer"].startswith("Refined: Refined:")


def test_need_more_info_goes_back_to_select_and_is_bounded(scripted_lm: ScriptedLM) -> None:
    def script(role: str, fields: dict[str, str]) -> dict[str, Any]:
        if role == "selector":  # a new call every round
            text = f"hi{fields.get('tool_results', '').count('->')}"
            return {"reasoning": "", "tool_calls": {"tool_calls": [{"name": "echo", "args": {"text": text}}]}}
        return default_script(role, fields)

    scripted_lm.script = script
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, "echo #more please", max_tool_rounds=3, max_refinements=0)
    assert scripted_lm.roles() == ["selector", "synthesizer", "critic"] * 3
    assert out["rounds"] == 3


def test_need_more_info_with_no_further_call_goes_to_the_refiner_not_a_new_draft(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, 'echo{"text": "hi"} #more please', max_tool_rounds=3, max_refinements=1)
    # The scripted selector makes no call once results are gathered: the draft is refined, not
    # redrafted; the critic asks for more again, the selector still has nothing, and the bound ends it.
    assert scripted_lm.roles() == ["selector", "synthesizer", "critic", "selector", "refiner", "critic", "selector"]
    assert out["rounds"] == 3 and out["refinements"] == 1


def test_need_more_info_with_no_further_call_and_no_refinement_left_finalizes(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, 'echo{"text": "hi"} #more please', max_tool_rounds=3, max_refinements=0)
    assert scripted_lm.roles() == ["selector", "synthesizer", "critic", "selector"]
    assert out["answer"].startswith("Scripted answer.")


def test_critique_off_skips_the_critic(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    ask(graph, "#refine", critique=False)
    assert scripted_lm.roles() == ["selector", "synthesizer"]


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x01\x02"])
def test_empty_question_gets_a_clear_error_without_lm_calls(scripted_lm: ScriptedLM, question: str) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, question)
    assert "empty" in out["error"]
    assert scripted_lm.calls == []


def test_huge_question_is_refused(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    out = ask(graph, "x" * 1_000_000)
    assert "limit" in out["error"]
    assert scripted_lm.calls == []


def test_disallowed_tool_is_never_offered_or_run(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([make_tool("secret", lambda text: record(calls, text))], cache=InMemoryCache())
    ask(graph, 'secret{"text": "x"}', allowed_tools=[])
    assert calls == []
    assert all("secret" not in fields.get("tools", "") for _, fields in scripted_lm.calls)
    assert scripted_lm.roles()[0] == "synthesizer"  # with no tool to offer, the selector asks no model


def test_identical_call_is_served_from_the_node_cache(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([make_tool("echo", lambda text: record(calls, text))], cache=InMemoryCache())
    ask(graph, 'echo{"text": "same"}')
    ask(graph, 'echo{"text": "same"}')
    assert calls == ["same"]


def test_ttl_zero_is_never_cached(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([make_tool("echo", lambda text: record(calls, text), ttl=0)], cache=InMemoryCache())
    ask(graph, 'echo{"text": "same"}')
    ask(graph, 'echo{"text": "same"}')
    assert calls == ["same", "same"]


def test_conversation_carries_over_between_turns(scripted_lm: ScriptedLM) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from nodes.execute import make_executor  # noqa: F401  (graph import side effects)

    graph = build_graph([make_tool("echo", lambda text: text)], cache=InMemoryCache())
    graph = graph.builder.compile(checkpointer=InMemorySaver(), cache=InMemoryCache())
    cfg: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    graph.invoke(user_input("first question"), cfg, context=Context())
    graph.invoke(user_input("second question"), cfg, context=Context())
    selector_fields = [f for role, f in scripted_lm.calls if role == "selector"]
    assert "user: first question" in selector_fields[1]["conversation"]
    assert "assistant: Scripted answer" in selector_fields[1]["conversation"]


def test_the_graph_can_be_drawn_with_every_node() -> None:
    # Studio and GET /assistants/{id}/graph draw the graph: cache keys must cope with placeholder inputs.
    nodes = set(build_graph(cache=InMemoryCache()).get_graph().nodes)
    expected = {"intake", "select", "synthesize", "critique", "refine", "finalize", "run_calculator", "run_http_api"}
    assert expected <= nodes
