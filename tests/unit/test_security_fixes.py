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
from runtime.grants import Caller
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
    limiter = limits.tool_limiter("limited", "carol")
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
    audit.audit_tool_call("t", {"x": 1}, outcome="ok", caller=Caller(user="eve\u2028\u0085\nmallory"))
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


# --- the third audit: grants, the breaker's trial, the audit line, secrets, rate limits ---------------


def _quiet() -> Any:
    return patch("nodes.execute.get_stream_writer", return_value=lambda _: None)


def test_a_grant_is_bound_to_its_user_thread_run_and_expiry() -> None:
    from runtime.grants import Caller, grant, refusal

    alice = Caller(user="alice", thread_id="t1", run_id="r1")
    call = grant(alice, "c1", "calculator", {"expression": "1+1"})
    assert refusal(call, "calculator", alice) is None
    for other in (Caller(user="bob", thread_id="t1", run_id="r1"), Caller(user="alice", thread_id="t2", run_id="r1"),
                  Caller(user="alice", thread_id="t1", run_id="r2")):  # fmt: skip
        assert "not offered" in (refusal(call, "calculator", other) or "")
    assert "not permitted" in (refusal(call, "calculator", Caller("alice", frozenset({"dates"}), "t1", "r1")) or "")
    assert "not offered" in (refusal({**call, "run_id": "r2"}, "calculator", Caller("alice", None, "t1", "r2")) or "")
    assert "not offered" in (refusal({**call, "expires": call["expires"] + 3600}, "calculator", alice) or "")
    later = call["expires"] + 1
    assert "expired" in (refusal(call, "calculator", alice, now=later) or "")
    assert get_settings().tool_grant_ttl_s <= 300  # a short expiry


def test_a_cache_hit_checks_the_callers_current_permissions_and_is_audited(caplog: pytest.LogCaptureFixture) -> None:
    from langgraph.cache.memory import InMemoryCache

    from nodes.execute import execute
    from runtime.cache import metered
    from runtime.grants import Caller, grant

    ran: list[str] = []
    def lookup(text: str) -> str:
        ran.append(text)
        return f"result of {text}"

    tool = make_tool("lookup", lookup)
    cache = metered(InMemoryCache())
    wide = Caller(user="dana", thread_id="t", run_id="r")
    call = grant(wide, "c1", "lookup", {"text": "x"})
    caplog.set_level(logging.INFO, logger="agent.audit")
    with _quiet():
        first = asyncio.run(execute(tool, cache, {"call": call}, wide))
        hit = asyncio.run(execute(tool, cache, {"call": call}, wide))
        narrowed = asyncio.run(execute(tool, cache, {"call": call}, Caller("dana", frozenset(), "t", "r")))
    assert ran == ["x"]
    assert first["tool_results"][0]["output"] == hit["tool_results"][0]["output"] == "result of x"
    assert hit["tool_results"][0]["cache_hit"] is True
    assert narrowed["tool_results"][0]["output"] is None and "not permitted" in narrowed["tool_results"][0]["error"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "agent.audit"]
    assert [(a["outcome"], a["cache_hit"], a["user"], a["thread_id"], a["run_id"]) for a in lines] == [
        ("started", False, "dana", "t", "r"), ("ok", False, "dana", "t", "r"), ("ok", True, "dana", "t", "r"),
        ("denied", False, "dana", "t", "r")]  # fmt: skip


def test_a_half_open_trial_that_fails_validation_does_not_close_the_breaker() -> None:
    def strict(text: str) -> str:
        raise ValueError("not a valid expression")  # bad input: the backend was never reached

    executor = make_executor(make_tool("strict", strict, ttl=0))
    breaker = _half_open("strict")
    with _quiet():
        out = executor.invoke({"call": granted("carol", "strict", {"text": "x"})}, CONFIG)
        assert "not a valid expression" in out["tool_results"][0]["error"]
        assert breaker.state == "half_open"  # not closed: no verdict on the backend
        missing = executor.invoke({"call": granted("carol", "strict", {})}, CONFIG)  # fails the args schema
        assert missing["tool_results"][0]["error"] and breaker.state == "half_open"
    assert breaker.allow()  # the next call is the trial


def test_the_audit_line_is_written_before_the_tool_runs_and_a_cancelled_call_is_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from langchain_core.tools import StructuredTool

    from tests.unit.test_graph_routing import TextArgs

    caplog.set_level(logging.INFO, logger="agent.audit")
    seen_while_running: list[list[str]] = []
    started = asyncio.Event()

    def outcomes() -> list[str]:
        return [json.loads(r.getMessage())["outcome"] for r in caplog.records if r.name == "agent.audit"]

    async def slow(text: str) -> str:
        seen_while_running.append(outcomes())
        started.set()
        await asyncio.sleep(60)
        return text

    tool = StructuredTool.from_function(coroutine=slow, name="slow", description="slow", args_schema=TextArgs,
                                        metadata={"version": "1", "ttl": 0})  # fmt: skip

    async def scenario() -> None:
        with _quiet():
            task = asyncio.create_task(make_executor(tool).ainvoke({"call": granted("carol", "slow", {"text": "x"})},
                                                                   CONFIG))  # fmt: skip
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert seen_while_running == [["started"]]  # on record before the tool ran
    assert outcomes() == ["started", "cancelled"]


def test_a_call_whose_audit_line_cannot_be_written_does_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    def audited(text: str) -> str:
        ran.append(text)
        return text

    executor = make_executor(make_tool("audited", audited, ttl=0))
    monkeypatch.setenv("AUDIT_LOG_PATH", str(tmp_path / "missing-dir" / "audit.jsonl"))
    get_settings.cache_clear()
    with _quiet(), pytest.raises(OSError):
        executor.invoke({"call": granted("carol", "audited", {"text": "x"})}, CONFIG)
    assert ran == []


def test_rate_limits_are_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_CALLS_PER_MINUTE", '{"scarce": 0.001}')
    monkeypatch.setenv("TOOL_TIMEOUT_S", "0.05")
    get_settings.cache_clear()
    executor = make_executor(make_tool("scarce", lambda text: text, ttl=0))
    erin: RunnableConfig = {"configurable": {"langgraph_auth_user_id": "erin",
                                             "langgraph_auth_user": {"identity": "erin"}}}  # fmt: skip
    with _quiet():
        assert executor.invoke({"call": granted("carol", "scarce", {"text": "1"})}, CONFIG)["tool_results"][0]["output"]
        spent = executor.invoke({"call": granted("carol", "scarce", {"text": "2"})}, CONFIG)["tool_results"][0]
        assert "rate limited" in (spent["error"] or "")
        other = executor.invoke({"call": granted("erin", "scarce", {"text": "3"})}, erin)["tool_results"][0]
    assert other["output"] == "3"  # Carol's spending did not use up Erin's allowance


def test_keys_are_secrets_and_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    from pydantic import SecretStr, ValidationError

    s = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_api_key=SecretStr("sk-live-abc"),
                 openai_api_key=SecretStr("sk-live-def"))  # fmt: skip
    assert "sk-live" not in repr(s) and "sk-live" not in str(s.model_dump())
    ep = endpoint("selector", s)
    assert ep.api_key == "sk-live-abc" and "sk-live" not in repr(ep)
    for field in ("LLM_BASE_URL", "SELECTOR_BASE_URL"):
        with pytest.raises(ValidationError) as caught:
            Settings.model_validate({field.lower(): "https://user:pw-xyz@llm.example/v1"})
        assert "pw-xyz" not in str(caught.value) and "must not carry credentials" in str(caught.value)


def test_optimize_never_reads_a_gepa_state_file(capsys: pytest.CaptureFixture[str]) -> None:
    """GEPA's resume file is its own pickle: optimize offers no resume, so GEPA never reads one back."""
    import argparse

    import dspy

    from offline.compile import main, make_optimizer

    lm = dspy.LM("openai/scripted", api_base="http://127.0.0.1:9/v1", api_key="x")
    args = argparse.Namespace(budget=4, threads=1, seed=1, demos=2)
    gepa = make_optimizer("gepa", lambda *a, **k: 1.0, args, lm, lm)
    assert gepa.log_dir is None  # no run directory: GEPA saves and loads no state
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--log-dir" not in capsys.readouterr().out


def test_the_selector_tokenizes_the_conversation_off_the_event_loop(
    scripted_lm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_types.context import Context
    from graphs.agent import build_graph
    from nodes import select
    from runtime.cache import BoundedMemoryCache
    from testkit.inputs import user_input

    on_loop: list[bool] = []
    real = select.conversation_turns

    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(select, "conversation_turns", watched)
    graph = build_graph([make_tool("echo", lambda text: text)], cache=BoundedMemoryCache(10))
    asyncio.run(graph.ainvoke(user_input("hello"), context=Context(critique=False)))
    assert on_loop == [False]  # in a worker thread: the server's loop keeps serving
