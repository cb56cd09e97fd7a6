"""Through the real server (`langgraph dev`, auth on, the scripted model server): a token minted by
`agent-token` is accepted; a langgraph_sdk client in the `messages` stream modes receives the tool
calls, the tool messages and the answer in chunks, as chat UIs read them; `ask --token` and
AGENT_TOKEN work, a missing token and a lost model server are one line each.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, cast

import pytest
from langgraph_sdk import get_client

from testkit.scripted_server import ScriptedURL, scripted_server
from testkit.server import ROOT, langgraph_dev

SECRET = "stream-test-secret-" + "z" * 32
ISSUER = "stream-tests"
QUESTION = 'calculator{"expression": "6*7"}'


class Model:
    """The scripted model server, which the last test stops."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.url: ScriptedURL = self.stack.enter_context(scripted_server())

    def stop(self) -> None:
        self.stack.close()


@pytest.fixture(scope="module")
def model() -> Iterator[Model]:
    m = Model()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def server(model: Model) -> Iterator[str]:
    env = {"LLM_BASE_URL": model.url, "LLM_MODEL": "scripted", "DSPY_CACHE": "false", "AUTH_JWT_SECRET": SECRET,
           "AUTH_JWT_ISSUER": ISSUER, "REDIS_URL": ""}  # fmt: skip
    with langgraph_dev(env=env) as url:
        yield url


def command_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("AGENT_TOKEN", "AUTH_JWT_SECRET", "AUTH_JWT_ISSUER")}
    return {**base, "PYTHONPATH": str(ROOT), **extra}


def agent_token(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "serving.tokens", *args],
                          env=command_env(AUTH_JWT_SECRET=SECRET, AUTH_JWT_ISSUER=ISSUER),
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout.strip()


def ask(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "serving.cli", QUESTION, "--no-critique", *args],
                          env=command_env(LANGGRAPH_URL=url, **env), capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def token() -> str:
    return agent_token("--user", "erin", "--tools", "calculator")


async def stream(url: str, token: str, mode: str) -> tuple[list[Any], str]:
    client = get_client(url=url, headers={"Authorization": f"Bearer {token}"})
    thread = await client.threads.create()
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": QUESTION}]}
    parts = [part async for part in client.runs.stream(
        thread["thread_id"], "agent", input=payload,
        context={"critique": False}, stream_mode=mode,  # type: ignore[arg-type]
    )]  # fmt: skip
    return parts, thread["thread_id"]


async def test_messages_tuple_mode_carries_tool_calls_tool_messages_and_answer_chunks(server: str, token: str) -> None:
    parts, thread_id = await stream(server, token, "messages-tuple")
    messages = [(p.data[0], p.data[1]) for p in parts if p.event == "messages"]
    calls = [m for m, meta in messages if m.get("tool_calls") and meta["langgraph_node"] == "select"]
    assert len(calls) == 1 and calls[0]["tool_calls"][0]["name"] == "calculator"
    call_id = calls[0]["tool_calls"][0]["id"]
    tools = [m for m, _ in messages if m["type"] == "tool"]
    assert [(t["tool_call_id"], t["name"], t["content"]) for t in tools] == [(call_id, "calculator", "42")]
    chunks = [m for m, meta in messages if m["type"] == "AIMessageChunk" and meta["langgraph_node"] == "synthesize"]
    assert chunks and "42" in "".join(c["content"] for c in chunks)
    # In arrival order: the call, its result, then the answer.
    order = [m["type"] for m, _ in messages]
    assert order.index("tool") > order.index("ai") and order.index("AIMessageChunk") > order.index("tool")
    # The thread's state holds what a chat UI redraws from, the answer under the id it was streamed with.
    client = get_client(url=server, headers={"Authorization": f"Bearer {token}"})
    state = cast("dict[str, Any]", await client.threads.get_state(thread_id))
    final = state["values"]["messages"]
    assert [m["type"] for m in final] == ["human", "ai", "tool", "ai"]
    assert final[-1]["id"] == chunks[0]["id"] and final[-1]["content"] == state["values"]["answer"]


async def test_messages_mode_sends_partial_answers(server: str, token: str) -> None:
    parts, _ = await stream(server, token, "messages")
    partial = [p.data[0] for p in parts if p.event == "messages/partial"]  # the answer so far, each time
    assert len(partial) > 1 and len({m["id"] for m in partial}) == 1
    assert partial[0]["content"] != partial[-1]["content"] and "42" in partial[-1]["content"]
    complete = [m for p in parts if p.event == "messages/complete" for m in p.data]
    assert {m["type"] for m in complete} == {"ai", "tool"}  # the tool-call message and the tool message


def test_ask_with_a_minted_token(server: str, token: str) -> None:
    done = ask(server, "--token", token)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"▸ asking the server at {server}" in done.stderr and "42" in done.stdout


def test_ask_with_agent_token_from_the_environment(server: str, token: str) -> None:
    done = ask(server, AGENT_TOKEN=token)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "42" in done.stdout


def test_ask_without_a_token_says_how_to_get_one(server: str) -> None:
    done = ask(server)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ask: the server at {server} refused the request (401")
    assert "pass --token or set AGENT_TOKEN" in last and "agent-token" in last


def test_ask_when_the_servers_model_is_gone(server: str, token: str, model: Model) -> None:
    model.stop()  # last in this module: the server's model server goes away
    done = ask(server, "--token", token)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ask: the run failed on the server:") and "model server does not answer" in last
