"""With LangSmith tracing on, one run is one trace: the graph's nodes, each DSPy program under its
node, and each LM call under its program (a loopback server stands in for LangSmith)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import langsmith
import pytest
from langchain_core.tracers.langchain import wait_for_all_tracers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_types.context import Context
from graphs.agent import build_graph
from testkit.inputs import user_input
from testkit.scripted_lm import ScriptedLM
from testkit.server import serve_app
from tests.unit.test_cache_tool import cache, tool


@pytest.fixture
def langsmith_runs() -> Iterator[dict[str, dict[str, Any]]]:
    """Runs posted to a loopback LangSmith API, by id (posts and their patches merged)."""
    runs: dict[str, dict[str, Any]] = {}

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"version": "0.1.0", "batch_ingest_config": {"use_multipart_endpoint": False}})

    async def record(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        runs.setdefault(str(body["id"]), {}).update({k: v for k, v in body.items() if v is not None})
        return JSONResponse({})

    app = Starlette(routes=[Route("/info", info), Route("/runs", record, methods=["POST"]),
                            Route("/runs/{run_id}", record, methods=["PATCH"])])  # fmt: skip
    with serve_app(app) as port:
        client = langsmith.Client(api_url=f"http://127.0.0.1:{port}", api_key="test", auto_batch_tracing=False)
        langsmith.configure(client=client, enabled=True, project_name="agent-tests")
        try:
            yield runs
        finally:
            wait_for_all_tracers()
            langsmith.configure(client=None, enabled=None, project_name=None)


def test_nodes_programs_and_lm_calls_share_one_trace(scripted_lm: ScriptedLM,
                                                     langsmith_runs: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    graph.invoke(user_input('echo{"text": "hi"}'), context=Context(critique=False))
    wait_for_all_tracers()
    runs = list(langsmith_runs.values())
    assert len({r["trace_id"] for r in runs}) == 1

    def only(name: str, parent: dict[str, Any] | None = None) -> dict[str, Any]:
        found = [r for r in runs if r["name"] == name and (parent is None or r.get("parent_run_id") == parent["id"])]
        assert len(found) == 1, (name, [(r["name"], r.get("parent_run_id")) for r in runs])
        return found[0]

    for node, role in (("select", "selector"), ("synthesize", "synthesizer")):
        program = only(f"dspy.{role}", only(node))
        calls = [r for r in runs if r.get("parent_run_id") == program["id"] and r["run_type"] == "llm"]
        lm = [r for r in calls if r["name"] == scripted_lm.model]
        assert len(lm) == 1 and lm[0]["inputs"]["messages"][0]["role"] == "system"  # the prompt the adapter built
        assert lm[0]["outputs"]["generations"][0]["text"] and lm[0]["end_time"]
    # The streamed answer is a chat run too: what LangChain's tools show as the model's reply.
    answer = only("synthesize.answer", only("dspy.synthesizer"))
    assert answer["run_type"] == "llm" and "Scripted answer" in json.dumps(answer["outputs"])
