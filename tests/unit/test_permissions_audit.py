"""Per-user tool permissions come from the verified user in the run config, and every tool call is audited."""

from __future__ import annotations

import json
import logging
from typing import Any
from unittest.mock import patch

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.cache.memory import InMemoryCache

from agent_types.context import Context
from graphs.agent import build_graph
from nodes.execute import make_executor
from runtime.audit import args_sha256
from runtime.identity import claim, permitted_tools
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM
from tests.unit.test_graph_routing import make_tool


def run(graph: Any, question: str, user: Any = None, **ctx: Any) -> dict[str, Any]:
    configurable: dict[str, Any] = {}
    if user is not None:
        configurable = {"langgraph_auth_user": user, "langgraph_auth_user_id": claim(user, "identity")}
    out: dict[str, Any] = graph.invoke(user_input(question), {"configurable": configurable}, context=Context(**ctx))
    return out


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "agent.audit"]


def test_claims_are_read_from_any_user_wrapper() -> None:
    class Obj:
        identity = "o"
        tools = ("a",)

    assert permitted_tools({"configurable": {}}) is None
    assert permitted_tools({"configurable": {"langgraph_auth_user": {"identity": "x"}}}) is None
    assert permitted_tools({"configurable": {"langgraph_auth_user": {"identity": "x", "tools": []}}}) == frozenset()
    assert permitted_tools({"configurable": {"langgraph_auth_user": Obj()}}) == frozenset({"a"})


def test_user_claim_narrows_the_offered_tools_whatever_the_context_says(scripted_lm: ScriptedLM) -> None:
    ran: list[str] = []
    graph = build_graph(
        [make_tool("public", lambda text: record(ran, "public", text)),
         make_tool("secret", lambda text: record(ran, "secret", text))],
        cache=InMemoryCache(),
    )  # fmt: skip
    user = {"identity": "alice", "tools": ["public"]}
    # The client asks for both tools through its context: the token's claim still wins.
    run(graph, 'public{"text": "a"} secret{"text": "b"}', user, allowed_tools=["public", "secret"])
    offered = scripted_lm.calls[0][1]["tools"]
    assert '"public"' in offered and '"secret"' not in offered
    assert ran == ["public"]


def test_executor_refuses_a_forbidden_tool_even_if_asked_directly(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []
    executor = make_executor(make_tool("secret", lambda text: record(ran, text)))
    bob = {"identity": "bob", "tools": []}
    config: RunnableConfig = {"configurable": {"langgraph_auth_user": bob, "langgraph_auth_user_id": "bob"}}
    caplog.set_level(logging.INFO, logger="agent.audit")
    with patch("nodes.execute.get_stream_writer", return_value=lambda _: None):
        out = executor.invoke({"call": {"call_id": "c1", "name": "secret", "args": {"text": "x"}}}, config)
    assert ran == []
    assert out["tool_results"][0]["error"] == "secret is not permitted for this user"
    assert [(a["user"], a["tool"], a["outcome"]) for a in audit_lines(caplog)] == [("bob", "secret", "denied")]


def test_every_call_is_audited_with_user_hash_outcome_and_cache_hits(
    scripted_lm: ScriptedLM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agent.audit")

    def boom(text: str) -> str:
        raise RuntimeError("no")

    graph = build_graph([make_tool("echo", lambda text: text), make_tool("boom", boom, ttl=0)], cache=InMemoryCache())
    user = {"identity": "carol"}
    run(graph, 'echo{"text": "same"} boom{"text": "x"}', user)
    run(graph, 'echo{"text": "same"}', user)
    lines = audit_lines(caplog)
    summary = sorted((a["tool"], a["outcome"], a["cache_hit"]) for a in lines)
    # A call that runs the tool: `started` before, its outcome after; a cache hit: one line.
    assert summary == [("boom", "error", False), ("boom", "started", False), ("echo", "ok", False),
                       ("echo", "ok", True), ("echo", "started", False)]  # fmt: skip
    assert {a["user"] for a in lines} == {"carol"}
    echo = next(a for a in lines if a["tool"] == "echo")
    assert echo["args_sha256"] == args_sha256({"text": "same"}) and "same" not in json.dumps(lines)
    assert all(a["time"].endswith("+00:00") for a in lines)


def test_audit_file_from_settings(
    scripted_lm: ScriptedLM, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.settings import get_settings

    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("AUDIT_LOG_PATH", str(path))
    get_settings.cache_clear()
    graph = build_graph([make_tool("echo", lambda text: text, ttl=0)], cache=InMemoryCache())
    run(graph, 'echo{"text": "hi"}')
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(a["user"], a["tool"], a["outcome"]) for a in lines] == [("anonymous", "echo", "started"),
                                                                     ("anonymous", "echo", "ok")]  # fmt: skip
