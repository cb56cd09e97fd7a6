"""Answer tokens: emitted by synthesize/refine while the answer is written, rendered live by `ask`."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any, cast

from agent_types.context import Context
from graphs.agent import build_graph
from serving.cli import Renderer
from testkit.inputs import user_input
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
