"""The tool executors' cache (in-process backend): TTLs, keys, counts, what is never stored."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from langchain_core.tools import StructuredTool
from langgraph.cache.memory import InMemoryCache

from agent_types.context import Context
from graphs.agent import build_graph
from nodes.execute import cache_key, tool_ttl
from nodes.select import granted
from runtime.cache import BoundedMemoryCache, JsonSerializer, MeteredCache, build_cache
from runtime.metrics import sample
from runtime.settings import Settings
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM
from tests.unit.test_graph_routing import TextArgs


def tool(name: str, fn: Any, ttl: int = 60, version: str = "1") -> StructuredTool:
    return StructuredTool.from_function(
        func=fn, name=name, description=f"{name} tool", args_schema=TextArgs, metadata={"version": version, "ttl": ttl}
    )


def ask(graph: Any, question: str) -> dict[str, Any]:
    out: dict[str, Any] = graph.invoke(user_input(question),
                                       context=Context(critique=False))  # fmt: skip
    return out


def cache() -> MeteredCache:
    return MeteredCache(InMemoryCache(serde=JsonSerializer()))


def lookups(tool_name: str) -> tuple[float, float]:
    return (sample("agent_tool_cache_requests_total", tool=tool_name, result="hit"),
            sample("agent_tool_cache_requests_total", tool=tool_name, result="miss"))  # fmt: skip


def test_build_cache_without_redis_is_in_process_bounded_and_metered() -> None:
    built = build_cache(Settings(redis_url=None, tool_cache_max_entries=3))
    assert isinstance(built, MeteredCache)
    assert isinstance(built.inner, BoundedMemoryCache) and built.inner.max_entries == 3


def test_hits_and_misses_are_counted_per_tool(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([tool("counted_a", lambda text: record(calls, text))], cache=cache())
    before = lookups("counted_a")
    ask(graph, 'counted_a{"text": "x"}')
    ask(graph, 'counted_a{"text": "x"}')
    ask(graph, 'counted_a{"text": "y"}')
    hits, misses = lookups("counted_a")
    assert calls == ["x", "y"]
    assert (hits - before[0], misses - before[1]) == (1, 2)


def test_entry_expires_after_its_ttl(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    graph = build_graph([tool("short", lambda text: record(calls, text), ttl=1)], cache=cache())
    ask(graph, 'short{"text": "x"}')
    ask(graph, 'short{"text": "x"}')
    assert calls == ["x"]
    time.sleep(1.2)
    ask(graph, 'short{"text": "x"}')
    assert calls == ["x", "x"]


def test_ttl_zero_has_no_lookup(scripted_lm: ScriptedLM) -> None:
    never = tool("never", lambda text: text, ttl=0)
    assert tool_ttl(never) == 0
    graph = build_graph([never], cache=cache())
    ask(graph, 'never{"text": "x"}')
    ask(graph, 'never{"text": "x"}')
    assert lookups("never") == (0, 0)


def test_ttl_override_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_TTLS", '{"cfg": 0}')
    assert tool_ttl(tool("cfg", lambda text: text, ttl=60)) == 0


def test_new_tool_version_never_reads_the_old_entry(scripted_lm: ScriptedLM) -> None:
    shared = cache()
    calls: list[str] = []
    v1 = build_graph([tool("versioned", lambda text: record(calls, "v1", "old"), version="1")], cache=shared)
    v2 = build_graph([tool("versioned", lambda text: record(calls, "v2", "new"), version="2")], cache=shared)
    assert ask(v1, 'versioned{"text": "x"}')["tool_results"][0]["output"] == "old"
    assert ask(v2, 'versioned{"text": "x"}')["tool_results"][0]["output"] == "new"
    assert ask(v1, 'versioned{"text": "x"}')["tool_results"][0]["output"] == "old"  # v1's entry is still its own
    assert calls == ["v1", "v2"]


def test_today_calls_are_keyed_by_date(monkeypatch: pytest.MonkeyPatch) -> None:
    dated = tool("dated", lambda text: text)
    monkeypatch.setattr("tools.dates.today", lambda: dt.date(2030, 1, 1))
    today_1 = cache_key(dated, granted("u", "dated", {"date": "today"}))
    fixed_1 = cache_key(dated, granted("u", "dated", {"date": "2030-01-01"}))
    monkeypatch.setattr("tools.dates.today", lambda: dt.date(2030, 1, 2))
    today_2 = cache_key(dated, granted("u", "dated", {"date": "Today"}))
    fixed_2 = cache_key(dated, granted("u", "dated", {"date": "2030-01-01"}))
    assert "2030-01-01" in today_1 and "2030-01-02" in today_2
    assert fixed_1 == fixed_2  # a call that does not say "today" keeps one entry across days


def test_today_call_is_not_served_on_the_next_day(scripted_lm: ScriptedLM, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel, Field

    class DateArgs(BaseModel):
        date: str = Field(description="a date")

    calls: list[str] = []
    dated = StructuredTool.from_function(
        func=lambda date: record(calls, date),
        name="dated",
        description="d",
        args_schema=DateArgs,
        metadata={"version": "1", "ttl": 3600},
    )
    graph = build_graph([dated], cache=cache())
    monkeypatch.setattr("tools.dates.today", lambda: dt.date(2030, 1, 1))
    ask(graph, 'dated{"date": "today"}')
    ask(graph, 'dated{"date": "today"}')
    monkeypatch.setattr("tools.dates.today", lambda: dt.date(2030, 1, 2))
    ask(graph, 'dated{"date": "today"}')
    assert calls == ["today", "today"]


def test_error_results_are_never_cached(scripted_lm: ScriptedLM) -> None:
    attempts: list[str] = []

    def flaky(text: str) -> str:
        attempts.append(text)
        if len(attempts) == 1:
            raise RuntimeError("backend hiccup")
        return "fine"

    graph = build_graph([tool("flaky", flaky)], cache=cache())
    assert ask(graph, 'flaky{"text": "x"}')["tool_results"][0]["error"]
    assert ask(graph, 'flaky{"text": "x"}')["tool_results"][0]["output"] == "fine"
    assert ask(graph, 'flaky{"text": "x"}')["tool_results"][0]["output"] == "fine"
    assert attempts == ["x", "x"]


def test_clear_cache_for_one_node(scripted_lm: ScriptedLM) -> None:
    calls: list[str] = []
    tools = [tool("a1", lambda text: record(calls, "a", text)), tool("b1", lambda text: record(calls, "b", text))]
    graph = build_graph(tools, cache=cache())
    ask(graph, 'a1{"text": "x"} b1{"text": "x"}')
    graph.clear_cache(nodes=["run_a1"])
    ask(graph, 'a1{"text": "x"} b1{"text": "x"}')
    assert sorted(calls) == ["a", "a", "b"]


def test_json_serializer_refuses_other_encodings() -> None:
    serde = JsonSerializer()
    assert serde.loads_typed(serde.dumps_typed([("results", [{"a": 1}])])) == [["results", [{"a": 1}]]]
    with pytest.raises(ValueError):
        serde.loads_typed(("pickle", b"\x80\x04K\x01."))
