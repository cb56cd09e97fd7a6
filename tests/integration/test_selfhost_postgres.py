"""Threads persisted in PostgreSQL survive a restart (serving/selfhost.py).

A thread is run, the graph and its connection pool are dropped, and a rebuilt graph (in this
process, then in a fresh process through the CLI) reads the state back and continues the
conversation. Each test works in its own schema of the `test` database, dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any, cast

import psycopg
import pytest

from runtime.settings import get_settings
from serving.selfhost import build_persistent_graph, close_persistent_graph
from testkit.inputs import user_input
from testkit.scripted_server import ScriptedURL, scripted_server
from testkit.server import ROOT

BASE_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def dsn() -> Iterator[str]:
    schema = f"agent_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{BASE_DSN}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(BASE_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedURL]:
    with scripted_server() as url:
        monkeypatch.setenv("LLM_BASE_URL", url)
        monkeypatch.setenv("LLM_MODEL", "scripted")
        monkeypatch.setenv("DSPY_CACHE", "false")
        get_settings.cache_clear()
        yield url


def ask(graph: Any, thread: str, question: str) -> dict[str, Any]:
    cfg: Any = {"configurable": {"thread_id": thread}}
    out: dict[str, Any] = graph.invoke(user_input(question), cfg)
    return out


def test_thread_survives_dropping_and_rebuilding_the_graph(dsn: str, model: ScriptedURL) -> None:
    graph = build_persistent_graph(dsn)
    first = ask(graph, "t1", 'calculator{"expression": "6*7"}')
    assert "42" in first["answer"]
    close_persistent_graph(graph)
    del graph

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 't1'").fetchone()
        assert cast("tuple[int]", row)[0] > 0  # a count(*) query always returns its one row

    graph = build_persistent_graph(dsn)
    try:
        state = graph.get_state({"configurable": {"thread_id": "t1"}}).values
        assert state["answer"] == first["answer"]
        assert [m.type for m in state["messages"]] == ["human", "ai", "tool", "ai"]  # the call, its result, the answer
        second = ask(graph, "t1", "and what was my previous question?")
        assert [m.type for m in second["messages"]] == ["human", "ai", "tool", "ai", "human", "ai"]
        # The model saw the first turn: the conversation came back from PostgreSQL.
        synthesizer = [f for role, f in model.app.state.seen if role == "synthesizer"][-1]
        conversation = synthesizer["conversation"]
        assert "user: calculator" in conversation and "assistant: Scripted answer" in conversation
        assert graph.get_state({"configurable": {"thread_id": "other"}}).values == {}
    finally:
        close_persistent_graph(graph)


def test_a_new_process_continues_the_thread(dsn: str, model: ScriptedURL) -> None:
    graph = build_persistent_graph(dsn)
    ask(graph, "t2", 'convert_units{"value": 5, "from_unit": "kg", "to_unit": "lb"}')
    close_persistent_graph(graph)

    env = {**os.environ, "LLM_BASE_URL": model, "LLM_MODEL": "scripted", "DSPY_CACHE": "false"}
    cli = [sys.executable, "-m", "serving.selfhost", "--dsn", dsn, "--thread", "t2", "--no-critique"]
    done = subprocess.run([*cli, "what about 10 kg?"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("Scripted answer")

    graph = build_persistent_graph(dsn)
    try:
        messages = graph.get_state({"configurable": {"thread_id": "t2"}}).values["messages"]
        assert [m.content for m in messages if m.type == "human"] == [
            'convert_units{"value": 5, "from_unit": "kg", "to_unit": "lb"}',
            "what about 10 kg?",
        ]
    finally:
        close_persistent_graph(graph)

    missing = subprocess.run([*cli[:-3], "--thread", "nope"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert missing.returncode == 1 and "has no state" in missing.stderr
