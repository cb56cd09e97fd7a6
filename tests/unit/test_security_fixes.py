"""The audit's smaller holes, each against the real component: circuit trials, allowed models,
endpoint rate limits, the audit file, the in-process cache bound, program paths, Redis URLs."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from langchain_core.runnables import RunnableConfig

from dspy_programs.store import load_program, program_path
from nodes.execute import make_executor
from nodes.select import granted
from runtime import audit, circuit, limits
from runtime.cache import BoundedMemoryCache, redact_url
from runtime.models import Endpoint, ModelNotAllowedError, endpoint
from runtime.settings import Settings, get_settings
from tests.unit.test_graph_routing import make_tool

CONFIG: RunnableConfig = {
    "configurable": {"langgraph_auth_user_id": "carol", "langgraph_auth_user": {"identity": "carol"}}
}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "1")
    monkeypatch.setenv("CIRCUIT_COOLDOWN_S", "0")
    get_settings.cache_clear()
    circuit.reset_breakers()
    limits.reset_limiters()
    yield
    circuit.reset_breakers()
    limits.reset_limiters()
    get_settings.cache_clear()


def _half_open(tool: str) -> circuit.CircuitBreaker:
    breaker = circuit.breaker_for(tool)
    breaker.record(failed=True)  # threshold 1: open; cooldown 0: the next allow() is the trial
    assert breaker.state == "open"
    return breaker


def test_a_rate_limited_trial_releases_the_half_open_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_CALLS_PER_MINUTE", '{"limited": 0.001}')
    monkeypatch.setenv("TOOL_TIMEOUT_S", "0.05")
    get_settings.cache_clear()
    executor = make_executor(make_tool("limited", lambda text: text))
    limiter = limits.tool_limiter("limited")
    assert limiter is not None and limiter.acquire_within(0)  # the bucket is now empty
    breaker = _half_open("limited")
    with patch("nodes.execute.get_stream_writer", return_value=lambda _: None):
        out = executor.invoke({"call": granted("carol", "limited", {"text": "x"})}, CONFIG)
    assert "rate limited" in out["tool_results"][0]["error"]
    assert breaker.state == "half_open" and breaker.allow()  # the trial is free again, not stuck


def test_a_cancelled_trial_releases_the_half_open_breaker() -> None:
    started = asyncio.Event()

    async def hang(text: str) -> str:
        started.set()
        await asyncio.sleep(60)
        return text

    from langchain_core.tools import StructuredTool

    from tests.unit.test_graph_routing import TextArgs

    tool = StructuredTool.from_function(coroutine=hang, name="hangs", description="hangs", args_schema=TextArgs,
                                        metadata={"version": "1", "ttl": 0})  # fmt: skip
    executor = make_executor(tool)
    breaker = _half_open("hangs")

    async def scenario() -> None:
        with patch("nodes.execute.get_stream_writer", return_value=lambda _: None):
            task = asyncio.create_task(executor.ainvoke({"call": granted("carol", "hangs", {"text": "x"})}, CONFIG))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert breaker.allow()


def test_only_configured_or_allowed_models_can_be_chosen() -> None:
    s = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="base", allowed_models={"synthesizer": ["big"],
                 "*": ["small"]})  # fmt: skip
    assert endpoint("selector", s, "base").model == "base"
    assert endpoint("selector", s, "small").model == "small"
    assert endpoint("synthesizer", s, "big").model == "big"
    for role, model in [("selector", "big"), ("critic", "gpt-4o"), ("selector", "x/..")]:
        with pytest.raises(ModelNotAllowedError, match=f"context.{role}_model"):
            endpoint(role, s, model)  # type: ignore[arg-type]


def test_lm_rate_limit_is_per_endpoint_whatever_the_model() -> None:
    assert limits.lm_limiter("http://a/v1", "m1") is limits.lm_limiter("http://a/v1", "m2")


def test_a_bad_audit_path_fails_at_open_and_lines_stay_one_per_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_LOG_PATH", str(tmp_path / "missing-dir" / "audit.jsonl"))
    get_settings.cache_clear()
    with pytest.raises(OSError):
        audit.open_audit_log()
    with pytest.raises(OSError):  # still failing, never silently off
        audit.audit_tool_call("t", {}, outcome="ok", config=CONFIG)
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("AUDIT_LOG_PATH", str(path))
    get_settings.cache_clear()
    audit.open_audit_log()
    audit.audit_tool_call("t", {"x": 1}, outcome="ok", user="eve\u2028\u0085\nmallory", config=CONFIG)
    path.rename(tmp_path / "audit.jsonl.1")  # logrotate moves the file: the next line reopens the path
    audit.audit_tool_call("t", {"x": 2}, outcome="ok", config=CONFIG)
    rotated = (tmp_path / "audit.jsonl.1").read_text(encoding="utf-8")
    assert rotated.splitlines() == [rotated.rstrip("\n")] and rotated.isascii()
    assert json.loads(rotated)["user"] == "eve\u2028\u0085\nmallory"
    assert json.loads(path.read_text())["user"] == "carol"
    monkeypatch.delenv("AUDIT_LOG_PATH")
    get_settings.cache_clear()
    audit.open_audit_log()
    logging.getLogger("agent.audit").handlers.clear()


def test_the_in_process_tool_cache_is_bounded() -> None:
    cache = BoundedMemoryCache(3)
    for i in range(10):
        cache.set({(("ns",), f"k{i}"): ({"v": i}, 86_400)})
    assert len(cache) == 3
    assert cache.get([(("ns",), "k0"), (("ns",), "k9")]) == {(("ns",), "k9"): {"v": 9}}


def test_a_model_name_cannot_lead_the_program_loader_out_of_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "compiled"
    root.mkdir()
    (tmp_path / "selector.json").write_text("{}")  # what `x/..` would have loaded
    assert Endpoint("x/..", None, "k").slug == ".."
    for slug in ("..", ".", "", "a/../..", "../compiled"):
        with pytest.raises(ValueError, match="inside"):
            program_path("selector", slug, root)
    with pytest.raises(ValueError):
        load_program("selector", "..", root)


def test_a_redis_password_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert redact_url("redis://:hunter2@db:6379/1") == "redis://:***@db:6379/1"
    assert redact_url("rediss://user:hunter2@db/0") == "rediss://user:***@db/0"
    assert redact_url("redis://db:6379/0") == "redis://db:6379/0"
    from runtime.cache import build_cache

    caplog.set_level(logging.INFO, logger="runtime.cache")
    build_cache(Settings(redis_url="redis://:hunter2@127.0.0.1:9/0"))
    assert "hunter2" not in caplog.text and "***" in caplog.text
