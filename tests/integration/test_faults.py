"""Faults injected through real components: failing and hanging tools, a tool that keeps
failing (circuit breaker), and a model server that is down, slow or restarted.

Each test would fail if its protection were removed: without the executor's error capture
the run would crash, without the per-tool timeout it would take the tool's full 20 s sleep,
without the breaker the dead backend would be called on every run, without the retry policy
the model server would see one attempt, not three.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dspy.utils.exceptions import LMError
from langchain_core.tools import StructuredTool
from langgraph.cache.memory import InMemoryCache
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_types.context import Context
from graphs.agent import build_graph
from nodes.retry import LM_RETRY
from runtime.metrics import REGISTRY
from runtime.models import dspy_lm
from runtime.settings import get_settings
from testkit.inputs import user_input
from testkit.scripted_lm import ScriptedLM
from testkit.scripted_server import scripted_server
from testkit.server import free_port, serve_app
from tests.unit.test_graph_routing import TextArgs, make_tool
from tools import TOOLS

HANG_S = 20.0


def hang(text: str) -> str:
    time.sleep(HANG_S)
    return text


def ask(graph: Any, question: str, **ctx: Any) -> dict[str, Any]:
    out: dict[str, Any] = graph.invoke(user_input(question), context=Context(**ctx))
    return out


def gauge(tool: str) -> float | None:
    return REGISTRY.get_sample_value("agent_tool_circuit_open", {"tool": tool})


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    return set_env


# --- a tool that raises ---------------------------------------------------------------------


def test_a_raising_tool_is_recorded_and_the_answer_says_what_failed(scripted_lm: ScriptedLM) -> None:
    def broken(text: str) -> str:
        raise ConnectionResetError("inventory database went away")

    graph = build_graph([make_tool("inventory", broken, ttl=0)], cache=InMemoryCache())
    out = ask(graph, 'inventory{"text": "NW-ARM-200"}', critique=False)
    assert out["tool_results"][0]["error"] == "ConnectionResetError: inventory database went away"
    assert out["tool_results"][0]["output"] is None
    assert "inventory" in out["answer"] and "went away" in out["answer"]
    assert out["messages"][-1].content == out["answer"]


# --- a tool that hangs ----------------------------------------------------------------------


def test_a_hanging_sync_tool_times_out(scripted_lm: ScriptedLM, env: Any) -> None:
    env(TOOL_TIMEOUT_S="0.5")
    graph = build_graph([make_tool("stuck", hang, ttl=0)], cache=InMemoryCache())
    started = time.monotonic()
    out = ask(graph, 'stuck{"text": "x"}', critique=False)
    assert time.monotonic() - started < 5
    assert out["tool_results"][0]["error"] == "stuck timed out after 0.5s"
    assert "timed out" in out["answer"]


async def test_a_hanging_async_tool_times_out(scripted_lm: ScriptedLM, env: Any) -> None:
    env(TOOL_TIMEOUT_S="0.5")

    async def stuck(text: str) -> str:
        await asyncio.sleep(HANG_S)
        return text

    tool = StructuredTool.from_function(
        coroutine=stuck, name="stuck_async", description="hangs", args_schema=TextArgs, metadata={"ttl": 0}
    )
    graph = build_graph([tool], cache=InMemoryCache())
    started = time.monotonic()
    out = await graph.ainvoke(user_input('stuck_async{"text": "x"}'), context=Context(critique=False))
    assert time.monotonic() - started < 5
    assert out["tool_results"][0]["error"] == "stuck_async timed out after 0.5s"


async def test_a_hanging_sync_tool_times_out_in_an_async_run(scripted_lm: ScriptedLM, env: Any) -> None:
    env(TOOL_TIMEOUT_S="0.5")
    graph = build_graph([make_tool("stuck", hang, ttl=0)], cache=InMemoryCache())
    started = time.monotonic()
    out = await graph.ainvoke(user_input('stuck{"text": "x"}'), context=Context(critique=False))
    assert time.monotonic() - started < 5
    assert out["tool_results"][0]["error"] == "stuck timed out after 0.5s"


# --- repeated failures: the circuit breaker -------------------------------------------------


def test_breaker_stops_calling_a_failing_tool_then_tries_again(scripted_lm: ScriptedLM, env: Any) -> None:
    env(CIRCUIT_FAILURE_THRESHOLD="2", CIRCUIT_COOLDOWN_S="0.5")
    calls: list[str] = []
    healthy = threading.Event()

    def flaky(text: str) -> str:
        calls.append(text)
        if not healthy.is_set():
            raise RuntimeError("backend down")
        return "fine"

    graph = build_graph([make_tool("flaky", flaky, ttl=0)], cache=InMemoryCache())
    q = 'flaky{"text": "x"}'
    for _ in range(2):
        assert ask(graph, q, critique=False)["tool_results"][0]["error"] == "RuntimeError: backend down"
    assert gauge("flaky") == 1
    out = ask(graph, q, critique=False)
    assert len(calls) == 2  # the third run never reached the tool
    assert "flaky is temporarily unavailable" in out["tool_results"][0]["error"]
    assert "temporarily unavailable" in out["answer"]

    time.sleep(0.6)  # cooldown: the next call is the half-open trial
    healthy.set()
    out = ask(graph, q, critique=False)
    assert len(calls) == 3 and out["tool_results"][0]["output"] == "fine"
    assert gauge("flaky") == 0


def test_bad_input_from_the_model_does_not_open_the_breaker(scripted_lm: ScriptedLM, env: Any) -> None:
    env(CIRCUIT_FAILURE_THRESHOLD="1")

    def picky(text: str) -> str:
        raise ValueError("text must be a SKU")

    graph = build_graph([make_tool("picky", picky, ttl=0)], cache=InMemoryCache())
    for _ in range(3):
        assert ask(graph, 'picky{"text": "x"}', critique=False)["tool_results"][0]["error"] == "text must be a SKU"
    assert gauge("picky") == 0


@pytest.fixture
def failing_api() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP backend that answers 503 to everything and counts the requests."""
    hits: list[str] = []

    async def down(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        return JSONResponse({"error": "maintenance"}, status_code=503)

    app = Starlette(routes=[Route("/{path:path}", down)])
    with serve_app(app, lifespan="off") as port:
        yield f"http://127.0.0.1:{port}/demo-api", hits


def test_breaker_protects_a_real_http_backend(
    scripted_lm: ScriptedLM, env: Any, failing_api: tuple[str, list[str]]
) -> None:
    base_url, hits = failing_api
    env(
        HTTP_TOOL_BASE_URL=base_url, TOOL_TTLS='{"http_api": 0}', CIRCUIT_FAILURE_THRESHOLD="3", CIRCUIT_COOLDOWN_S="60"
    )
    graph = build_graph(TOOLS, cache=InMemoryCache())
    errors = [ask(graph, 'http_api{"path": "/status/billing"}', critique=False)["tool_results"][0]["error"]
              for _ in range(6)]  # fmt: skip
    assert len(hits) == 3
    assert errors[:3] == ["the API answered /status/billing with HTTP 503"] * 3
    assert all("http_api is temporarily unavailable" in e for e in errors[3:])
    assert gauge("http_api") == 1


# --- the model server: down, slow, restarted ------------------------------------------------


def run_on_model(question: str = "Hello there") -> dict[str, Any]:
    graph = build_graph(cache=InMemoryCache())
    return ask(graph, question, critique=False)


def test_model_server_down_fails_fast_with_a_clear_error(env: Any) -> None:
    port = free_port()  # nothing listens here
    env(LLM_BASE_URL=f"http://127.0.0.1:{port}/v1", LLM_MODEL="scripted", DSPY_CACHE="false")
    started = time.monotonic()
    refused = "([Cc]onnection refused|Connect call failed)"  # the sync / the async client's wording
    with pytest.raises(LMError, match=rf"failed to connect to 127\.0\.0\.1:{port}.*{refused}"):
        run_on_model()
    elapsed = time.monotonic() - started
    # LangGraph's RetryPolicy backed off between its attempts (1 s, then 2 s), then gave up.
    assert LM_RETRY.initial_interval * (1 + LM_RETRY.backoff_factor) <= elapsed < 60


def test_slow_model_server_times_out_retries_then_errors(env: Any) -> None:
    with scripted_server(delay_s=5) as url:
        env(LLM_BASE_URL=url, LLM_MODEL="scripted", DSPY_CACHE="false", LM_TIMEOUT_S="0.5")
        tries_per_attempt = dspy_lm("selector").num_retries + 1
        started = time.monotonic()
        with pytest.raises(LMError, match="timed out"):
            run_on_model()
        elapsed = time.monotonic() - started
        # Every LangGraph attempt reached the server (each with DSPy's own retries) and none hung.
        assert url.app.state.requests == LM_RETRY.max_attempts * tries_per_attempt
        assert elapsed < 60


def test_the_next_run_works_after_the_model_server_restarts(env: Any) -> None:
    port = free_port()
    with scripted_server(port=port) as url:
        env(LLM_BASE_URL=url, LLM_MODEL="scripted", DSPY_CACHE="false")
        assert run_on_model()["answer"].startswith("Scripted answer")
    with pytest.raises(LMError):  # down in between: a clear error, no hang
        run_on_model()
    with scripted_server(port=port) as again:
        assert again == url
        assert run_on_model()["answer"].startswith("Scripted answer")
