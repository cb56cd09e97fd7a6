"""The performance machinery as `langgraph dev` serves it: Redis tool cache, answer tokens, /metrics.

A real `langgraph dev` (testkit/server.py) with REDIS_URL on DB 15 and the scripted
model's HTTP server as its LLM: proves the cache the graph configures is the one the server
uses, that tokens reach a client on stream_mode "custom", and what /metrics serves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import redis
from langgraph_sdk import get_client

from runtime.cache import CACHE_PREFIX
from testkit.inputs import wire_input
from testkit.scripted_server import scripted_server
from testkit.server import langgraph_dev

REDIS_URL = "redis://127.0.0.1:6379/15"
QUESTION = 'calculator{"expression": "6*7"}'


@pytest.fixture(scope="module")
def db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def server(db: redis.Redis) -> Iterator[str]:
    with scripted_server() as model_url, tempfile.TemporaryDirectory() as lm_cache:
        env = {"REDIS_URL": REDIS_URL, "LLM_BASE_URL": model_url, "LLM_MODEL": "scripted", "DSPY_CACHE_DIR": lm_cache}
        with langgraph_dev(env=env) as url:
            yield url


async def stream(url: str, question: str, **context: Any) -> list[tuple[str, Any]]:
    client = get_client(url=url)
    thread = await client.threads.create()
    return [
        (part.event, part.data)
        async for part in client.runs.stream(
            thread["thread_id"], "agent", input=wire_input(question),
            context=context, stream_mode=["updates", "custom"],
        )
    ]  # fmt: skip


def executor_updates(parts: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [data for event, data in parts if event == "updates" and "run_calculator" in data]


def metric(url: str, line_start: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_same_tool_call_on_two_threads_hits_the_redis_cache(server: str, db: redis.Redis) -> None:
    hits = 'agent_tool_cache_requests_total{result="hit",tool="calculator"}'
    hits_before = metric(server, hits)
    first = await stream(server, QUESTION, critique=False)
    [update] = executor_updates(first)
    assert update["run_calculator"]["tool_results"][0]["output"] == "42"
    assert update["run_calculator"]["tool_results"][0]["cache_hit"] is False
    cached_keys = [k.decode() for k in cast("list[bytes]", db.keys(CACHE_PREFIX + "*:run_calculator:*"))]
    assert len(cached_keys) == 1 and db.ttl(cached_keys[0]) > 0

    second = await stream(server, QUESTION, critique=False)  # a new thread
    [update] = executor_updates(second)
    assert update["run_calculator"]["tool_results"][0]["cache_hit"] is True
    assert update["run_calculator"]["tool_results"][0]["output"] == "42"
    assert not [d for e, d in second if e == "custom" and d.get("event") == "tool_started"]  # the tool did not run
    assert metric(server, hits) == hits_before + 1


async def test_answer_tokens_stream_before_the_answer(server: str) -> None:
    # A passage answer with no figure: no check can judge it, so the (scripted) critic asks for a
    # refinement.
    parts = await stream(server, 'search_knowledge{"query": "warranty"} #refine #vague', max_refinements=1)
    order: list[str] = []
    for event, data in parts:
        if event == "custom":
            label = data["event"] + (f":{data['node']}" if data["event"] == "answer_token" else "")
        elif event == "updates":
            label = "update:" + ",".join(k for k in data if k != "__metadata__")
        else:
            continue
        if not order or order[-1] != label:
            order.append(label)
    assert order.index("update:run_search_knowledge") < order.index("answer_token:synthesize")
    assert order.index("answer_token:synthesize") < order.index("update:synthesize")
    assert order.index("answer_token:refine") < order.index("update:refine") < order.index("update:finalize")
    tokens = [d for e, d in parts if e == "custom" and d.get("event") == "answer_token" and d["node"] == "synthesize"]
    assert len(tokens) > 1  # streamed in pieces from the model, not sent whole at the end


@pytest.mark.parametrize("path", ["/metrics", "/agent/metrics"])
def test_metrics_served_next_to_the_api(server: str, path: str) -> None:
    # /metrics is the server's own route (with its series too); /agent/metrics has the agent's only.
    response = httpx.get(f"{server}{path}")
    assert response.status_code == 200
    body = response.text
    assert 'agent_node_latency_seconds_bucket{le="0.005",node="synthesize"}' in body
    assert 'agent_lm_calls_total{model="scripted",node="select"}' in body
    assert 'agent_lm_tokens_total{kind="prompt",model="scripted",node="synthesize"}' in body
    assert 'agent_tool_cache_requests_total{result="miss",tool="calculator"}' in body
    assert "# TYPE agent_tool_circuit_open gauge" in body
    assert ("lg_api_" in body) == (path == "/metrics")
