"""Shared helpers for the benchmarks: statistics, fake tools, the scripted LM, result files.

Every benchmark measures its subject and its baseline in the same process run and
reports ratios; absolute times are printed for context only, never compared with
numbers from another run or machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from runtime.names import tool_of_node

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/13"


# --- statistics -----------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/mean of durations given in seconds, in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"),
    }


def ratio(a: float, b: float, digits: int = 4) -> float:
    return round(a / b, digits) if b else float("nan")


# --- environment ------------------------------------------------------------------


def versions(*packages: str) -> dict[str, str]:
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def git_state() -> dict[str, Any]:
    """The commit measured, and how many files outside benchmarks/ differed from it (others edit concurrently)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line for line in git("status", "--porcelain").splitlines() if " benchmarks/" not in line]
    return {"commit": git("rev-parse", "HEAD"), "files_changed_outside_benchmarks": len(dirty)}


# Rate limits are a policy, not a cost: with the defaults (600 calls/min per tool with bursts of
# 60; 10 LM requests/s per endpoint with bursts of 10) a benchmark that hammers one tool or one
# endpoint would measure the limiter's waits instead of the graph.
NO_RATE_LIMITS = {"TOOL_CALLS_PER_MINUTE_DEFAULT": "0", "LM_REQUESTS_PER_SECOND": "0"}


def disable_rate_limits() -> dict[str, str]:
    os.environ.update(NO_RATE_LIMITS)
    from runtime.settings import get_settings

    get_settings.cache_clear()
    try:
        from runtime.limits import reset_limiters

        reset_limiters()
    except ImportError:  # older trees without runtime/limits.py
        pass
    return dict(NO_RATE_LIMITS)


def environment() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "git": git_state(),
        "settings_overrides": {k: os.environ[k] for k in NO_RATE_LIMITS if k in os.environ},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "packages": versions(
            "langgraph",
            "langchain",
            "langchain-core",
            "dspy",
            "redis",
            "langgraph-api",
            "langgraph-runtime-inmem",
            "langgraph-cli",
            "langgraph-sdk",
        ),
    }


def command() -> str:
    """The command line that produced this run (module form, from the repository root)."""
    module = sys.modules["__main__"].__spec__.name if sys.modules["__main__"].__spec__ else sys.argv[0]
    return shlex.join([".venv/bin/python", "-m", module, *sys.argv[1:]])


def write_results(name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """benchmarks/results/<name>.json and .md; both carry the exact command and the environment."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    full = {"benchmark": name, "command": command(), "finished_at": now, "environment": environment(), **data}
    json_path = RESULTS / f"{name}.json"
    md_path = RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(full, indent=2, default=str) + "\n")
    env = full["environment"]
    header = (
        f"# Benchmark: {name}\n\n"
        f"Command (from the repository root):\n\n```\n{full['command']}\n```\n\n"
        f"Finished {now} · Python {env['python']} · {env['cpus']} CPUs · load average at start "
        f"{env['loadavg_at_start']} · commit {env['git']['commit'][:10]} "
        f"({env['git']['files_changed_outside_benchmarks']} files changed outside benchmarks/) · "
        f"settings overrides {env['settings_overrides'] or 'none'}\n\n"
    )
    md_path.write_text(header + markdown.strip() + "\n")
    return json_path, md_path


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 1 else f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the graph under test ------------------------------------------------------------


def install_scripted_lm(lm: Any = None) -> Any:
    """Every node's LM becomes the scripted LM (as tests/conftest.py does with monkeypatch)."""
    import nodes.roles
    from testkit.scripted_lm import ScriptedLM

    lm = lm or ScriptedLM()
    nodes.roles.lm_at = lambda endpoint, settings=None, max_tokens=None: lm  # type: ignore[assignment,misc]
    return lm


def sleep_tool(name: str, seconds: float, *, kind: str = "sync", ttl: int = 0, calls: list[str] | None = None) -> Any:
    """A tool taking `seconds` of wall time: `time.sleep` (sync) or `asyncio.sleep` (async)."""
    from langchain_core.tools import StructuredTool
    from pydantic import BaseModel, Field

    class TextArgs(BaseModel):
        text: str = Field(description="any text")

    def run(text: str) -> str:
        if calls is not None:
            calls.append(name)
        if seconds:
            time.sleep(seconds)
        return f"{name}:{text}"

    async def arun(text: str) -> str:
        if calls is not None:
            calls.append(name)
        if seconds:
            await asyncio.sleep(seconds)
        return f"{name}:{text}"

    common: dict[str, Any] = {"name": name, "description": f"{name} tool", "args_schema": TextArgs,
              "metadata": {"version": "1", "ttl": ttl}}  # fmt: skip
    if kind == "async":
        return StructuredTool.from_function(coroutine=arun, **common)
    return StructuredTool.from_function(func=run, **common)


def user(question: str) -> Any:
    return {"messages": [{"role": "user", "content": question}]}


def call_text(tool: str, text: str) -> str:
    return tool + json.dumps({"text": text})


class StageClock:
    """Times of one run's `debug` stream events, taken from the events' own timestamps.

    LangGraph stamps each debug event when it emits it; the events reach the consumer in
    batches (e.g. the next step's cache lookup runs before `select`'s result is delivered),
    so arrival times would hide part of the stage. The tool stage is from the `select`
    task's result to the `synthesize` task's start: scheduling the executors, the cache
    lookup, the tools themselves and the cache writes.
    """

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.select_done: float | None = None
        self.synth_start: float | None = None
        self.ran: list[str] = []

    def see(self, ev: dict[str, Any]) -> None:
        name = ev["payload"].get("name")
        stamp = dt.datetime.fromisoformat(ev["timestamp"]).timestamp()
        if ev["type"] == "task" and name == "synthesize" and self.synth_start is None:
            self.synth_start = stamp
        elif ev["type"] == "task_result":
            if name == "select" and self.select_done is None:
                self.select_done = stamp
            if tool_of_node(name) is not None:
                self.ran.append(name)

    @property
    def tool_stage(self) -> float:
        assert self.select_done is not None and self.synth_start is not None, "run did not reach synthesize"
        return self.synth_start - self.select_done

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0
