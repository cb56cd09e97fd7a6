"""Budgets and limits: conversation trimming, result truncation, LM and tool rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent_types.context import Context
from graphs.agent import build_graph
from nodes.prompting import TRUNCATED, format_conversation, format_results, trim_conversation, truncate
from runtime import limits
from runtime.limits import LMRateLimit, RateLimiter, lm_limiter, tool_limiter
from runtime.metrics import sample
from runtime.settings import Settings
from runtime.tokens import count_tokens
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM
from tests.unit.test_cache_tool import cache, tool


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    limits.reset_limiters()
    yield
    limits.reset_limiters()


def turns(n: int) -> list[Any]:
    messages: list[Any] = []
    for i in range(n):
        messages += [HumanMessage(f"question {i} " + "word " * 20), AIMessage(f"answer {i} " + "word " * 20)]
    return messages


# --- conversation budget -------------------------------------------------------------


def test_conversation_within_budget_is_kept_whole() -> None:
    text = format_conversation(turns(2), max_tokens=10_000)
    assert text.count("user: question") == 2 and text.count("assistant: answer") == 2


def test_conversation_is_trimmed_to_budget_oldest_first() -> None:
    messages = turns(10)
    text = format_conversation(messages, max_tokens=120)
    assert count_tokens(text) <= 120
    assert "question 9" in text and "answer 9" in text
    assert "question 0" not in text
    assert text.startswith("user: ")  # never starts with a dangling assistant turn


def test_trim_drops_system_and_empty_messages() -> None:
    kept = trim_conversation([SystemMessage("sys"), HumanMessage(""), HumanMessage("hi"), AIMessage("hello")], 1000)
    assert [m.content for m in kept] == ["hi", "hello"]


def test_zero_budget_gives_no_conversation() -> None:
    assert format_conversation(turns(3), max_tokens=0) == ""


def test_default_budget_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSATION_TOKEN_BUDGET", "60")
    assert count_tokens(format_conversation(turns(10))) <= 60


def test_budget_per_model() -> None:
    s = Settings(conversation_token_budget=100, conversation_budgets={"big-model": 5000})
    assert s.conversation_budget("big-model") == 5000
    assert s.conversation_budget("other") == 100


def test_selector_gets_the_trimmed_conversation(scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSATION_TOKEN_BUDGET", "80")
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    graph.invoke({"messages": [*turns(10), HumanMessage("latest question")]}, context=Context(critique=False))
    conversation = scripted_lm.calls[0][1]["conversation"]
    assert "question 9" in conversation and "question 0" not in conversation
    assert count_tokens(conversation) <= 80


# --- tool result truncation -------------------------------------------------------------


def test_long_tool_result_is_cut_to_tokens_with_marker() -> None:
    long = "alpha beta gamma " * 500
    cut = truncate(long, max_tokens=50)
    assert cut.endswith(TRUNCATED)
    assert count_tokens(cut) <= 52  # the cut may merge a token at the join
    assert truncate("short", max_tokens=50) == "short"


def test_format_results_uses_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_RESULT_MAX_TOKENS", "20")
    text = format_results([{"call_id": "1", "name": "t", "args": {}, "output": "word " * 400, "error": None,
                            "seconds": 0.0}])  # fmt: skip
    assert text.endswith(TRUNCATED) and count_tokens(text) < 40


# --- rate limiters -------------------------------------------------------------------------


def test_limiter_starts_full_then_refuses_until_refilled() -> None:
    limiter = RateLimiter(requests_per_second=0.5, max_bucket_size=2)
    assert limiter.acquire_within(0) and limiter.acquire_within(0)  # the burst is there at once
    assert not limiter.acquire_within(0.05)  # the next token is 2 s away


def test_limiter_waits_for_a_token_within_the_timeout() -> None:
    limiter = RateLimiter(requests_per_second=20, max_bucket_size=1)
    assert limiter.acquire_within(0)
    assert limiter.acquire_within(1.0)  # 50 ms later a token is back


async def test_async_acquire_respects_the_timeout() -> None:
    limiter = RateLimiter(requests_per_second=0.1, max_bucket_size=1)
    assert await limiter.aacquire_within(0)
    assert not await limiter.aacquire_within(0.05)


def test_limiters_are_shared_per_endpoint_and_per_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lm_limiter("http://a/v1", "m") is lm_limiter("http://a/v1", "m")
    assert lm_limiter("http://a/v1", "m") is not lm_limiter("http://b/v1", "m")
    assert tool_limiter("calculator", "u") is tool_limiter("calculator", "u")
    assert tool_limiter("calculator", "u") is not tool_limiter("convert_units", "u")
    assert tool_limiter("calculator", "u") is not tool_limiter("calculator", "v")  # one user cannot spend another's
    monkeypatch.setenv("LM_REQUESTS_PER_SECOND", "0")
    monkeypatch.setenv("TOOL_CALLS_PER_MINUTE", '{"calculator": 0}')
    from runtime.settings import get_settings

    get_settings.cache_clear()
    assert lm_limiter("http://a/v1", "m") is None
    assert tool_limiter("calculator", "u") is None


def test_tool_over_its_limit_waits_then_records_an_error(
    scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOL_CALLS_PER_MINUTE", '{"limited": 1}')
    monkeypatch.setenv("TOOL_TIMEOUT_S", "0.2")
    calls: list[str] = []
    graph = build_graph([tool("limited", lambda text: record(calls, text), ttl=0)], cache=cache())
    before = sample("agent_tool_rate_limited_total", tool="limited")
    first = graph.invoke(user_input('limited{"text": "a"}'), context=Context(critique=False))
    second = graph.invoke(user_input('limited{"text": "b"}'), context=Context(critique=False))
    assert first["tool_results"][0]["error"] is None
    assert "rate limited" in second["tool_results"][0]["error"]
    assert calls == ["a"]
    assert sample("agent_tool_rate_limited_total", tool="limited") == before + 1


async def test_async_executor_is_rate_limited_too(scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_CALLS_PER_MINUTE", '{"alimited": 1}')
    monkeypatch.setenv("TOOL_TIMEOUT_S", "0.2")
    graph = build_graph([tool("alimited", lambda text: text, ttl=0)], cache=cache())
    ctx = Context(critique=False)
    await graph.ainvoke(user_input('alimited{"text": "a"}'), context=ctx)
    out = await graph.ainvoke(user_input('alimited{"text": "b"}'), context=ctx)
    assert "rate limited" in out["tool_results"][0]["error"]


def test_every_lm_call_takes_a_token_from_its_endpoint(
    scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.models import endpoint

    taken: list[tuple[str, str | None, str]] = []

    class Spy:
        def __init__(self, key: tuple[str | None, str]) -> None:
            self.key = key

        def acquire_within(self, timeout: float | None) -> bool:  # would block the event loop
            taken.append(("blocking", *self.key))
            return True

        async def aacquire_within(self, timeout: float | None) -> bool:
            taken.append(("awaited", *self.key))
            return True

    monkeypatch.setattr(limits, "lm_limiter", lambda base_url, model, settings=None: Spy((base_url, model)))
    ep = endpoint("selector")  # every role's endpoint, with no per-role settings
    scripted_lm.callbacks = [LMRateLimit(ep.base_url, ep.model)]
    graph = build_graph([tool("echo", lambda text: text)], cache=cache())
    graph.invoke(user_input('echo{"text": "hi"}'), context=Context())  # free-text result: the critic is asked
    # One token per LM call, each awaited by its (async) node before the call, none taken blocking.
    assert len(taken) == len(scripted_lm.calls) == 3
    assert set(taken) == {("awaited", ep.base_url, ep.model)}


def test_lm_callback_blocks_when_the_endpoint_is_exhausted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_REQUESTS_PER_SECOND", "0.1")
    monkeypatch.setenv("LM_BURST", "1")
    callback = LMRateLimit("http://slow/v1", "m")
    callback.on_lm_start("1", None, {})  # the burst
    limiter = lm_limiter("http://slow/v1", "m")
    assert limiter is not None and not limiter.acquire_within(0)  # the next caller would wait


def test_dspy_lm_carries_the_rate_limit_callback() -> None:
    from runtime.models import dspy_lm

    lm = dspy_lm("selector", Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="x"))
    assert any(isinstance(c, LMRateLimit) for c in lm.callbacks)
