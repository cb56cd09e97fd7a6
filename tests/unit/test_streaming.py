"""Answer tokens: emitted by synthesize/refine while the answer is written, rendered live by `ask`, and
the `messages` stream mode chat clients read (tool calls, tool messages, answer chunks)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any, cast

from langchain_core.messages import HumanMessage

from agent_types.context import Context
from agent_types.state import ToolCall, ToolResult
from graphs.agent import build_graph
from nodes.prompting import earlier_turns, format_conversation
from nodes.streaming import tool_messages
from serving.cli import Renderer
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM
from tests.unit.test_cache_tool import cache, tool


def events(graph: Any, question: str, **ctx: Any) -> list[tuple[str, Any]]:
    return list(graph.stream(user_input(question), context=Context(**ctx),
                             stream_mode=["updates", "custom"]))  # fmt: skip


def labels(chunks: list[tuple[str, Any]]) -> list[str]:
    out = []
    for mode, data in chunks:
        if mode == "custom":
            out.append(f"{data['event']}:{data.get('node', '')}" if data["event"] == "answer_token" else data["event"])
        else:
            out.extend(f"update:{node}" for node in data if node != "__metadata__")
    return out


def dedupe(seq: list[str]) -> list[str]:
    return [x for i, x in enumerate(seq) if i == 0 or seq[i - 1] != x]


def test_answer_tokens_come_between_tools_and_the_synthesize_update(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    chunks = events(graph, 'echo{"text": "hi"} #refine', max_refinements=1)
    assert dedupe(labels(chunks)) == [
        "update:intake", "tools_selected", "update:select", "tool_started", "tool_finished", "update:run_echo",
        "update:check_calls",
        "answer_token:synthesize", "update:synthesize", "critique", "update:critique",
        "answer_token:refine", "refine", "update:refine", "critique", "update:critique", "update:finalize",
    ]  # fmt: skip


def test_tokens_add_up_to_the_draft(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    chunks = events(graph, "hello", critique=False)
    text = "".join(d["text"] for m, d in chunks if m == "custom" and d["event"] == "answer_token")
    draft = next(d["synthesize"]["draft"] for m, d in chunks if m == "updates" and "synthesize" in d)
    assert text.strip() == draft


def test_invoke_still_works_without_a_stream(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    out = graph.invoke(user_input("hello"), context=Context())
    assert out["answer"].startswith("Scripted answer")


async def test_async_stream_carries_tokens(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    # With a list of modes the stream yields (mode, data) pairs; the v1 API types its items as dict | Any.
    parts = cast(
        "AsyncIterator[tuple[str, dict[str, Any]]]",
        graph.astream(user_input("hello"), context=Context(critique=False), stream_mode=["custom"]),
    )
    seen = [d async for m, d in parts]
    assert any(d.get("event") == "answer_token" for d in seen)


def test_renderer_writes_tokens_live_on_one_line() -> None:
    out = io.StringIO()
    r = Renderer(out)
    r.handle("custom", {"event": "answer_token", "node": "synthesize", "text": "Hel"})
    assert out.getvalue() == "▸ drafting: Hel"  # written before the node finishes
    r.handle("custom", {"event": "answer_token", "node": "synthesize", "text": "lo\nthere"})
    r.handle("updates", {"synthesize": {"draft": "Hello there"}})
    r.handle("custom", {"event": "answer_token", "node": "refine", "text": "Better"})
    r.handle("custom", {"event": "refine", "kept": True, "reason": "refined draft kept"})
    r.handle("updates", {"refine": {"draft": "Better"}})
    r.handle("custom", {"event": "critique", "verdict": "accept", "critique": None, "by": "checks"})
    r.handle("updates", {"finalize": {"answer": "Better"}})
    assert out.getvalue().splitlines() == [
        "▸ drafting: Hello there", "▸ draft written", "▸ refining: Better", "▸ refined draft kept",
        "▸ critique (checks): accept — no comment",
    ]  # fmt: skip
    assert r.answer == "Better"


# --- the `messages` stream mode: what Studio's chat view and useStream clients read -----------------


def messages_stream(graph: Any, question: str, **ctx: Any) -> list[tuple[Any, dict[str, Any]]]:
    return list(graph.stream(user_input(question), context=Context(**ctx), stream_mode="messages"))


def test_messages_stream_carries_tool_calls_tool_messages_and_answer_chunks(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: f"echo:{text}"), tool("shout", lambda text: text.upper())],
                        cache=cache())  # fmt: skip
    parts = messages_stream(graph, 'echo{"text": "hi"} shout{"text": "yo"}', critique=False)
    kinds = [(type(m).__name__, meta["langgraph_node"]) for m, meta in parts]
    # The tool calls while the tools run, their results, then the answer as it is written.
    assert kinds[0] == ("AIMessage", "select")
    assert kinds[1:3] == [("ToolMessage", "synthesize")] * 2
    assert {k for k in kinds[3:]} == {("AIMessageChunk", "synthesize")}
    calls = {c["id"]: c for c in parts[0][0].tool_calls}
    assert sorted((c["name"], c["args"]["text"]) for c in calls.values()) == [("echo", "hi"), ("shout", "yo")]
    tool_msgs = [m for m, _ in parts[1:3]]
    assert {m.tool_call_id for m in tool_msgs} == set(calls)  # every call answered, under its own id
    assert {(m.name, m.content) for m in tool_msgs} == {("echo", "echo:hi"), ("shout", "YO")}
    chunks = [m for m, _ in parts[3:]]
    assert len({c.id for c in chunks}) == 1  # one message, streamed in pieces
    out = graph.invoke(user_input('echo{"text": "hi"}'), context=Context(critique=False))
    assert [m.type for m in out["messages"]] == ["human", "ai", "tool", "ai"]
    assert out["messages"][-1].content == out["answer"]


def test_the_final_answer_message_replaces_the_streamed_chunks(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    parts = cast("list[tuple[str, Any]]", list(graph.stream(user_input('echo{"text": "hi"} #refine'),
                                                            context=Context(max_refinements=1),
                                                            stream_mode=["messages", "values"])))  # fmt: skip
    streamed: dict[str, str] = {}
    for mode, data in parts:
        if mode == "messages" and data[0].type == "AIMessageChunk":
            streamed[data[0].id] = streamed.get(data[0].id, "") + str(data[0].content)
    final = [d for mode, d in parts if mode == "values"][-1]
    answer = final["messages"][-1]
    assert len(streamed) == 2  # the draft, then the refined draft
    assert answer.id in streamed and streamed[answer.id].strip() == answer.content == final["answer"]
    # Not sent again as a whole message: a chat client keeps the streamed one, under the same id.
    assert not any(mode == "messages" and d[0].id == answer.id and d[0].type == "ai" for mode, d in parts)


def test_a_cached_tool_result_answers_the_new_calls_id(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([tool("echo", lambda text: record(calls, text))], cache=cache())
    messages_stream(graph, 'echo{"text": "x"}', critique=False)
    parts = messages_stream(graph, 'echo{"text": "x"}', critique=False)
    assert calls == ["x"]  # the second run was a cache hit
    call_id = parts[0][0].tool_calls[0]["id"]
    tool_msg = parts[1][0]
    assert tool_msg.type == "tool" and tool_msg.tool_call_id == call_id and tool_msg.content == "x"


def test_no_tool_call_means_no_tool_messages(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    parts = messages_stream(graph, "hello", critique=False)
    assert {type(m).__name__ for m, _ in parts} == {"AIMessageChunk"}


def test_tool_and_tool_call_messages_stay_out_of_the_next_turns_conversation(scripted_lm: ScriptedLM) -> None:
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    out = graph.invoke(user_input('echo{"text": "hi"}'), context=Context(critique=False))
    history = [*out["messages"], HumanMessage("and again?")]
    conversation = format_conversation(earlier_turns(history))
    assert conversation == f'user: echo{{"text": "hi"}}\nassistant: {out["answer"]}'


def test_tool_messages_mark_errors_and_missing_results() -> None:
    calls = [ToolCall(call_id="a", name="echo", args={"text": "1"}), ToolCall(call_id="b", name="echo", args={})]
    results = [ToolResult(call_id="a", name="echo", args={"text": "1"}, output=None, error="boom", seconds=0.0)]
    a, b = tool_messages(calls, results)
    assert (a.tool_call_id, a.content, a.status) == ("a", "boom", "error")
    assert (b.tool_call_id, b.content, b.status) == ("b", "no result", "error")
