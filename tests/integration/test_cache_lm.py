"""DSPy's LM response cache, through a real dspy.LM and the scripted model's HTTP server.

The scripted server counts the requests it answers, so "no LM call" means no HTTP request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dspy
import pytest

from agent_types.context import Context
from graphs.agent import build_graph
from runtime import models
from runtime.lm_cache import MeteredLMCache, configure_lm_cache
from runtime.metrics import sample
from runtime.settings import get_settings
from testkit import scripted_server as scripted
from tests.unit.test_cache_tool import cache, tool


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with scripted.scripted_server() as url:
        yield url


@pytest.fixture
def lm_env(model_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The graph's LMs pointed at the scripted server, with a fresh LM cache in tmp_path."""
    cache_dir = tmp_path / "dspy-cache"
    monkeypatch.setenv("LLM_BASE_URL", model_url)
    monkeypatch.setenv("LLM_MODEL", "scripted")
    monkeypatch.setenv("DSPY_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(models, "_lms", {})
    get_settings.cache_clear()
    configure_lm_cache(force=True)
    yield cache_dir
    monkeypatch.undo()
    get_settings.cache_clear()
    configure_lm_cache(force=True)  # back to the configured cache for the other tests


def ask(graph: Any, question: str) -> dict[str, Any]:
    out: dict[str, Any] = graph.invoke({"messages": [{"role": "user", "content": question}]}, context=Context())
    return out


def requests() -> int:
    return sum(scripted.REQUESTS.values())


def test_cache_is_configured_where_settings_say(lm_env: Path) -> None:
    assert isinstance(dspy.cache, MeteredLMCache)
    assert dspy.cache.enable_disk_cache and dspy.cache.enable_memory_cache
    assert Path(dspy.cache.disk_cache.directory) == lm_env


def test_repeated_identical_step_costs_no_lm_call(lm_env: Path) -> None:
    graph = build_graph([tool("echo", lambda text: text, ttl=0)], cache=cache())
    start = requests()
    first = ask(graph, 'echo{"text": "cached?"}')
    assert requests() - start == 3  # selector, synthesizer, critic
    assert all(u["lm_calls"] == 1 and u["lm_cache_hits"] == 0 for u in first["usage"])

    hits_before = sample("agent_lm_cache_hits_total", node="synthesize", model="scripted")
    second = ask(graph, 'echo{"text": "cached?"}')
    assert requests() - start == 3  # not one more request
    assert all(u["lm_calls"] == 0 and u["lm_cache_hits"] == 1 for u in second["usage"])
    assert second["answer"] == first["answer"]
    assert sample("agent_lm_cache_hits_total", node="synthesize", model="scripted") == hits_before + 1


def test_disk_cache_survives_the_memory_cache(lm_env: Path) -> None:
    graph = build_graph([tool("echo", lambda text: text, ttl=0)], cache=cache())
    ask(graph, "hello disk")
    dspy.cache.reset_memory_cache()  # as in a new process
    start = requests()
    ask(graph, "hello disk")
    assert requests() == start
    assert any(lm_env.iterdir())


def test_different_step_is_a_real_call(lm_env: Path) -> None:
    graph = build_graph([tool("echo", lambda text: text, ttl=0)], cache=cache())
    ask(graph, 'echo{"text": "one"}')  # a free-text result: the critic model is asked too
    start = requests()
    ask(graph, 'echo{"text": "two"}')
    assert requests() - start == 3


def test_cache_off_sends_every_call(lm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSPY_CACHE", "false")
    monkeypatch.setattr(models, "_lms", {})
    get_settings.cache_clear()
    configure_lm_cache(force=True)
    assert not dspy.cache.enable_disk_cache and not dspy.cache.enable_memory_cache
    graph = build_graph([tool("echo", lambda text: text, ttl=0)], cache=cache())
    start = requests()
    ask(graph, 'echo{"text": "uncached"}')
    ask(graph, 'echo{"text": "uncached"}')
    assert requests() - start == 6
