"""Metrics at GET /metrics, node timing, LM accounting and cost, and DSPy calls in LangSmith traces."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.runtime import Runtime
from langsmith import Client, tracing_context
from starlette.testclient import TestClient

from agent_types.context import Context
from graphs.agent import build_graph
from runtime.metrics import metrics_text, sample, timed
from runtime.usage import UsageMeter
from serving.http_app import app
from testkit.inputs import user_input
from testkit.scripted_lm import ScriptedLM
from tests.unit.test_cache_tool import cache, tool


def run(graph: Any, question: str) -> dict[str, Any]:
    out: dict[str, Any] = graph.invoke(user_input(question), context=Context())
    return out


def test_metrics_endpoint_serves_every_family(scripted_lm: ScriptedLM) -> None:
    from runtime.circuit import breaker_for

    breaker_for("calculator")  # the circuit gauge is published per tool once a breaker exists
    graph = build_graph([tool("metered", lambda text: text)], cache=cache())
    run(graph, 'metered{"text": "x"}')
    run(graph, 'metered{"text": "x"}')
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for family in ("agent_node_latency_seconds", "agent_tool_cache_requests_total", "agent_lm_calls_total",
                   "agent_lm_tokens_total", "agent_lm_cost_usd_total", "agent_tool_circuit_open"):  # fmt: skip
        assert f"# TYPE {family.removesuffix('_total')}" in body, family
    assert 'agent_node_latency_seconds_bucket{le="0.005",node="select"}' in body
    # The executor node runs on a hit too (it checks the grant, then reads the cache); the tool does not.
    assert 'agent_node_latency_seconds_count{node="run_metered"} 2.0' in body
    assert 'agent_tool_cache_requests_total{result="hit",tool="metered"} 1.0' in body
    assert 'agent_tool_circuit_open{tool="calculator"} 0.0' in body


def test_node_latency_is_observed_per_execution(scripted_lm: ScriptedLM) -> None:
    before = sample("agent_node_latency_seconds_count", node="synthesize")
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    run(graph, "hello")
    run(graph, "hello again")
    assert sample("agent_node_latency_seconds_count", node="synthesize") == before + 2
    assert sample("agent_node_latency_seconds_sum", node="synthesize") > 0


def test_lm_calls_are_counted_per_node(scripted_lm: ScriptedLM) -> None:
    model = "dummy"  # DummyLM's model name
    before = sample("agent_lm_calls_total", node="critique", model=model)
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    out = run(graph, 'echo{"text": "hi"}')  # a free-text result: checks cannot judge it, the critic model does
    assert sample("agent_lm_calls_total", node="critique", model=model) == before + 1
    assert [u["node"] for u in out["usage"]] == ["select", "synthesize", "critique"]
    assert all(u["lm_calls"] == 1 and u["lm_cache_hits"] == 0 for u in out["usage"])


def test_timed_keeps_the_runtime_parameter_and_counts_errors() -> None:
    seen: list[Any] = []

    def node(state: dict[str, Any], runtime: Runtime[Context]) -> dict[str, Any]:
        seen.append(runtime)
        if state.get("fail"):
            raise ValueError("boom")
        return {}

    import inspect

    wrapped = timed("probe_node", node)
    assert list(inspect.signature(wrapped).parameters) == ["state", "runtime"]
    wrapped({}, "rt")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        wrapped({"fail": True}, "rt")  # type: ignore[arg-type]
    assert seen == ["rt", "rt"]
    assert sample("agent_node_latency_seconds_count", node="probe_node") == 2
    assert sample("agent_node_errors_total", node="probe_node") == 1


async def test_timed_async_function() -> None:
    async def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    assert await timed("probe_async", node)({}) == {"ok": True}
    assert sample("agent_node_latency_seconds_count", node="probe_async") == 1


class FakePrediction:
    def __init__(self, usage: dict[str, dict[str, int]]) -> None:
        self.usage = usage

    def get_lm_usage(self) -> dict[str, dict[str, int]]:
        return self.usage


def test_cost_follows_the_price_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PRICES", '{"priced-model": {"input": 2.0, "output": 10.0}}')
    meter = UsageMeter("probe_cost")
    summary = meter.summary(FakePrediction({  # type: ignore[arg-type]
        "openai/priced-model": {"prompt_tokens": 1000, "completion_tokens": 100},
        "openai/local-model": {"prompt_tokens": 5000, "completion_tokens": 500},
    }))  # fmt: skip
    assert summary["prompt_tokens"] == 6000 and summary["completion_tokens"] == 600
    assert summary["cost_usd"] == pytest.approx(0.003)  # 1000*2/1e6 + 100*10/1e6; the local model is free
    assert sample("agent_lm_cost_usd_total", node="probe_cost", model="priced-model") == pytest.approx(0.003)
    assert sample("agent_lm_tokens_total", node="probe_cost", model="local-model", kind="prompt") == 5000


def test_agent_series_reach_the_default_registry_in_local_mode_and_agent_route(
    scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import prometheus_client

    import serving.http_app
    from runtime.settings import get_settings

    monkeypatch.setenv("AUTH_DISABLED", "true")
    get_settings.cache_clear()
    importlib.reload(serving.http_app)  # it adds the series as it loads, in local mode only
    get_settings.cache_clear()
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    run(graph, "hello")
    default = prometheus_client.generate_latest().decode()  # what `langgraph dev` serves at /metrics
    assert 'agent_node_latency_seconds_count{node="synthesize"}' in default
    local = TestClient(serving.http_app.app, base_url="http://127.0.0.1:2124")  # local mode: loopback Host only
    assert "agent_node_latency_seconds_count" in local.get("/agent/metrics").text


def test_metrics_text_is_prometheus_format() -> None:
    body, content_type = metrics_text()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert b"# HELP agent_node_latency_seconds" in body


class RecordingClient(Client):
    def __init__(self) -> None:
        super().__init__(api_url="http://127.0.0.1:9", api_key="test", auto_batch_tracing=False)
        self.recorded: list[tuple[str, str, str]] = []

    def create_run(self, name: str, inputs: Any, run_type: str, **kwargs: Any) -> None:  # type: ignore[override]
        self.recorded.append((name, str(kwargs.get("id")), str(kwargs.get("parent_run_id"))))

    def update_run(self, run_id: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


def test_dspy_calls_are_traced_as_children_of_their_nodes(scripted_lm: ScriptedLM) -> None:
    client = RecordingClient()
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    with tracing_context(enabled=True, client=client, project_name="test"):
        graph.invoke(user_input("hello"), context=Context(critique=False))
    names = {run_id: name for name, run_id, _ in client.recorded}
    parents = {name: names.get(parent) for name, _, parent in client.recorded}
    assert parents["dspy.selector"] == "select"
    assert parents["dspy.synthesizer"] == "synthesize"


async def test_traced_program_is_plain_when_tracing_is_off(scripted_lm: ScriptedLM) -> None:
    from nodes.roles import bind
    from runtime.usage import UsageMeter

    synthesizer = await bind("synthesizer", None)
    pred = await synthesizer.run(UsageMeter("test"), question="q", tool_results="", conversation="")
    assert str(pred.answer).startswith("Scripted answer")
