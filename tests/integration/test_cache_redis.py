"""The tool cache on a real Redis: keys, TTLs, versions, invalidation, and an outage mid-run.

Uses DB 15 of the Redis on 127.0.0.1:6379 (flushed by these tests only), and for the outage
a throwaway `redis-server` on a free port that is killed and restarted.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from agent_types.context import Context
from graphs.agent import build_graph
from runtime.cache import CACHE_PREFIX, GuardedRedisCache, MeteredCache, build_cache
from runtime.metrics import sample
from runtime.settings import Settings, get_settings
from serving.cli import cache_clear_main
from testkit.inputs import record, user_input
from testkit.scripted_lm import ScriptedLM
from testkit.server import free_port
from tests.unit.test_cache_tool import tool

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def ask(graph: Any, question: str) -> dict[str, Any]:
    out: dict[str, Any] = graph.invoke(user_input(question),
                                       context=Context(critique=False))  # fmt: skip
    return out


def keys(client: redis.Redis, pattern: str = "*") -> list[str]:
    # decode_responses is off: redis-py's union return types cover both settings.
    return sorted(k.decode() for k in cast("list[bytes]", client.keys(CACHE_PREFIX + pattern)))


def test_redis_backend_is_used_when_redis_url_is_set() -> None:
    built = build_cache(Settings(redis_url=REDIS_URL))
    assert isinstance(built, MeteredCache) and isinstance(built.inner, GuardedRedisCache)


def test_entry_is_namespaced_by_tool_and_served_from_redis(scripted_lm: ScriptedLM, db: redis.Redis) -> None:
    calls: list[str] = []
    graph = build_graph([tool("echo", lambda text: record(calls, text), ttl=60)],
                        cache=build_cache(Settings(redis_url=REDIS_URL)))  # fmt: skip
    ask(graph, 'echo{"text": "same"}')
    [key] = keys(db)
    assert key.startswith(CACHE_PREFIX + "__pregel_ns_writes:") and ":run_echo:" in key
    assert 0 < db.ttl(key) <= 60
    assert cast(bytes, db.get(key)).startswith(b"json:")  # JSON, never pickle
    # A second graph (another worker) with its own cache object reads the same entry.
    other = build_graph([tool("echo", lambda text: record(calls, text), ttl=60)],
                        cache=build_cache(Settings(redis_url=REDIS_URL)))  # fmt: skip
    assert ask(other, 'echo{"text": "same"}')["tool_results"][0]["output"] == "same"
    assert calls == ["same"]


def test_ttl_expiry_in_redis(scripted_lm: ScriptedLM, db: redis.Redis) -> None:
    calls: list[str] = []
    graph = build_graph([tool("brief", lambda text: record(calls, text), ttl=1)],
                        cache=build_cache(Settings(redis_url=REDIS_URL)))  # fmt: skip
    ask(graph, 'brief{"text": "x"}')
    ask(graph, 'brief{"text": "x"}')
    assert calls == ["x"]
    time.sleep(1.3)
    assert keys(db) == []
    ask(graph, 'brief{"text": "x"}')
    assert calls == ["x", "x"]


def test_changed_tool_version_gets_a_new_key(scripted_lm: ScriptedLM, db: redis.Redis) -> None:
    cache = build_cache(Settings(redis_url=REDIS_URL))
    v1 = build_graph([tool("versioned", lambda text: "old", version="1")], cache=cache)
    v2 = build_graph([tool("versioned", lambda text: "new", version="2")], cache=cache)
    ask(v1, 'versioned{"text": "x"}')
    key_v1 = keys(db)
    assert ask(v2, 'versioned{"text": "x"}')["tool_results"][0]["output"] == "new"
    both = keys(db)
    assert len(both) == 2 and set(key_v1) < set(both)


def test_cache_clear_one_tool_then_all(
    scripted_lm: ScriptedLM, db: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = build_graph([tool("keep", lambda text: text), tool("drop", lambda text: text)],
                        cache=build_cache(Settings(redis_url=REDIS_URL)))  # fmt: skip
    ask(graph, 'keep{"text": "x"} drop{"text": "x"}')
    ask(graph, 'drop{"text": "y"}')
    db.set("someone:else", "untouched")
    assert len(keys(db, "*:run_drop:*")) == 2 and len(keys(db, "*:run_keep:*")) == 1
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    assert cache_clear_main(["--tool", "drop"]) == 0
    assert "deleted 2" in capsys.readouterr().out
    assert keys(db, "*:run_drop:*") == [] and len(keys(db, "*:run_keep:*")) == 1
    assert cache_clear_main([]) == 0
    assert keys(db) == []
    assert db.get("someone:else") == b"untouched"


def test_cache_clear_command_is_installed(db: redis.Redis) -> None:
    exe = shutil.which("cache-clear", path=str(Path(sys.executable).parent))
    assert exe
    out = subprocess.run([exe, "--tool", "calculator"], env={"REDIS_URL": REDIS_URL, "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "deleted 0 cached result(s) of calculator" in out.stdout


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed"
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def throwaway() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    yield server
    server.kill()


def test_outage_mid_run_continues_uncached_with_one_warning_and_recovers(
    scripted_lm: ScriptedLM, throwaway: ThrowawayRedis, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    cache = build_cache(Settings(redis_url=throwaway.url, tool_cache_retry_s=0.2))
    graph = build_graph([tool("sturdy", lambda text: record(calls, text))], cache=cache)
    client = redis.Redis.from_url(throwaway.url)
    ask(graph, 'sturdy{"text": "x"}')
    ask(graph, 'sturdy{"text": "x"}')
    assert calls == ["x"]

    throwaway.kill()
    errors_before = sample("agent_tool_cache_errors_total", op="get")
    with caplog.at_level(logging.WARNING, logger="runtime.cache"):
        for _ in range(3):
            out = ask(graph, 'sturdy{"text": "x"}')
            assert out["tool_results"][0]["output"] == "x" and out["answer"]
            time.sleep(0.25)  # past the retry delay: each run tries Redis again
    assert calls == ["x", "x", "x", "x"]  # uncached while Redis is down
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert sample("agent_tool_cache_errors_total", op="get") > errors_before

    throwaway.start()  # the same port: Redis is back, empty
    caplog.clear()
    time.sleep(0.25)
    with caplog.at_level(logging.WARNING, logger="runtime.cache"):
        ask(graph, 'sturdy{"text": "x"}')
        ask(graph, 'sturdy{"text": "x"}')
    assert calls == ["x"] * 5  # stored again after the restart, then served from Redis
    assert len(client.keys(CACHE_PREFIX + "*")) == 1
    assert any("back" in r.getMessage() for r in caplog.records)


async def test_outage_on_the_async_path(scripted_lm: ScriptedLM, throwaway: ThrowawayRedis) -> None:
    calls: list[str] = []
    cache = build_cache(Settings(redis_url=throwaway.url, tool_cache_retry_s=0.2))
    graph = build_graph([tool("asturdy", lambda text: record(calls, text))], cache=cache)
    payload = user_input('asturdy{"text": "x"}')
    await graph.ainvoke(payload, context=Context(critique=False))
    throwaway.kill()
    out = await graph.ainvoke(payload, context=Context(critique=False))
    assert out["tool_results"][0]["output"] == "x"
    assert calls == ["x", "x"]
