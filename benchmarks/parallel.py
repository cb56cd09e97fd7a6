"""Parallel tool execution: k independent 200 ms tools in one question, k = 1..8.

    .venv/bin/python -m benchmarks.parallel [--max-k 8] [--reps 3] [--cap 4]

For each k the scripted selector calls all k tools at once (one `Send` each); the graph's
tool stage (select's result -> synthesize's start, from the debug events' timestamps) is
compared with running the same k tools one after another in plain Python (the sum).
speedup = sequential / graph stage; speedup/k = 1.0 is perfect overlap.

Two kinds of tool, each on its natural path:
- async tools (`asyncio.sleep`) through `graph.astream`: LangGraph runs them as tasks on the loop;
- sync tools (`time.sleep`) through `graph.stream`: LangGraph runs each executor node in its
  thread pool (`ContextThreadPoolExecutor(max_workers=max_concurrency)`; Python's default
  size when unset is min(32, CPUs + 4)).
Each with the run config's `max_concurrency` unset (default), capped (`--cap`), and raised
(`--raise-to`, to show what lifts the default thread-pool bound for sync tools).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from benchmarks._common import (
    StageClock,
    call_text,
    disable_rate_limits,
    install_scripted_lm,
    md_table,
    ratio,
    sleep_tool,
    user,
    write_results,
)
from runtime.bootstrap import configure

TOOL_SECONDS = 0.2


def tool_names(k: int) -> list[str]:
    return [f"tool_{i}" for i in range(1, k + 1)]


def question(k: int, rep: int) -> str:
    return " ".join(call_text(n, f"r{rep}") for n in tool_names(k))


def config_for(limit: int | None) -> dict[str, Any]:
    return {"max_concurrency": limit} if limit else {}


def graph_stage_sync(graph: Any, k: int, rep: int, limit: int | None) -> float:
    from agent_types.context import Context

    clock = StageClock()
    ctx = Context(critique=False, max_calls_per_round=k)
    for ev in graph.stream(user(question(k, rep)), config_for(limit), context=ctx, stream_mode="debug"):
        clock.see(ev)
    assert len(clock.ran) == k, clock.ran
    return clock.tool_stage


async def graph_stage_async(graph: Any, k: int, rep: int, limit: int | None) -> float:
    from agent_types.context import Context

    clock = StageClock()
    ctx = Context(critique=False, max_calls_per_round=k)
    async for ev in graph.astream(user(question(k, rep)), config_for(limit), context=ctx, stream_mode="debug"):
        clock.see(ev)
    assert len(clock.ran) == k, clock.ran
    return clock.tool_stage


def sequential_sync(tools: list[Any], k: int) -> float:
    t = time.perf_counter()
    for tool in tools[:k]:
        tool.invoke({"text": "seq"})
    return time.perf_counter() - t


async def sequential_async(tools: list[Any], k: int) -> float:
    t = time.perf_counter()
    for tool in tools[:k]:
        await tool.ainvoke({"text": "seq"})
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-k", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per point; the median is reported")
    parser.add_argument("--cap", type=int, default=4, help="max_concurrency for the capped runs")
    parser.add_argument("--raise-to", type=int, default=16, help="max_concurrency for the raised runs")
    args = parser.parse_args(argv)

    disable_rate_limits()
    install_scripted_lm()
    from langgraph.cache.memory import InMemoryCache

    from graphs.agent import build_graph

    # ttl=0: no cache policy, so every call really runs.
    kinds = {kind: [sleep_tool(n, TOOL_SECONDS, kind=kind, ttl=0) for n in tool_names(args.max_k)]
             for kind in ("async", "sync")}  # fmt: skip
    graphs = {kind: build_graph(tools, cache=InMemoryCache()) for kind, tools in kinds.items()}
    limits = {"default": None, f"cap {args.cap}": args.cap, f"raised {args.raise_to}": args.raise_to}
    default_pool = min(32, (os.cpu_count() or 1) + 4)

    # Warm up first-call costs (imports, DSPy adapters) on both paths.
    graph_stage_sync(graphs["sync"], 1, -1, None)
    asyncio.run(graph_stage_async(graphs["async"], 1, -1, None))

    started = time.perf_counter()
    seq: dict[tuple[str, int], list[float]] = {}
    stage: dict[tuple[str, str, int], list[float]] = {}
    for rep in range(args.reps):
        for k in range(1, args.max_k + 1):
            seq.setdefault(("sync", k), []).append(sequential_sync(kinds["sync"], k))
            seq.setdefault(("async", k), []).append(asyncio.run(sequential_async(kinds["async"], k)))
            for label, limit in limits.items():
                stage.setdefault(("sync", label, k), []).append(graph_stage_sync(graphs["sync"], k, rep, limit))
                stage.setdefault(("async", label, k), []).append(
                    asyncio.run(graph_stage_async(graphs["async"], k, rep, limit))
                )
    wall = time.perf_counter() - started

    rows: list[dict[str, Any]] = []
    for kind in ("async", "sync"):
        for label, limit in limits.items():
            for k in range(1, args.max_k + 1):
                s = statistics.median(seq[(kind, k)])
                g = statistics.median(stage[(kind, label, k)])
                bound = min(k, limit) if limit else (k if kind == "async" else min(k, default_pool))
                waves = -(-k // bound)  # the tools run in ceil(k / bound) waves at best
                rows.append({
                    "tools": kind, "max_concurrency": label, "k": k,
                    "sequential_ms": round(s * 1000, 1), "graph_stage_ms": round(g * 1000, 1),
                    "speedup": ratio(s, g, 2), "speedup_per_k": ratio(s / g, k, 3),
                    "concurrency_bound": bound, "expected_speedup": round(k / waves, 2),
                })  # fmt: skip

    def row_for(kind: str, label: str, k: int) -> dict[str, Any]:
        return next(r for r in rows if r["tools"] == kind and r["max_concurrency"] == label and r["k"] == k)

    k = args.max_k
    headline = {
        f"{kind} / {label} / k={k}": {"speedup": row_for(kind, label, k)["speedup"],
                                      "speedup_per_k": row_for(kind, label, k)["speedup_per_k"]}
        for kind in ("async", "sync") for label in limits
    }  # fmt: skip
    result: dict[str, Any] = {
        "tool_seconds": TOOL_SECONDS,
        "reps": args.reps,
        "statistic": "median over reps of each time; speedup = sequential / graph tool stage",
        "python_default_thread_pool_workers": default_pool,
        "limits": {label: limit for label, limit in limits.items()},
        "headline": headline,
        "rows": rows,
        "wall_s": round(wall, 2),
    }
    tables = []
    for kind in ("async", "sync"):
        for label in limits:
            tables.append(f"**{kind} tools, max_concurrency {label}**\n\n" + md_table(
                ["k", "sequential ms", "graph stage ms", "speedup", "speedup/k", "expected"],
                [[r["k"], r["sequential_ms"], r["graph_stage_ms"], r["speedup"], r["speedup_per_k"],
                  r["expected_speedup"]] for r in rows if r["tools"] == kind and r["max_concurrency"] == label],
            ))  # fmt: skip
    headline_table = md_table(
        [f"tools / max_concurrency / k={k}", "speedup", "speedup/k"],
        [[name, v["speedup"], v["speedup_per_k"]] for name, v in headline.items()],
    )
    md = f"""
k independent tools of {TOOL_SECONDS * 1000:.0f} ms each, all selected in one question (one `Send` per call),
k = 1..{args.max_k}, median of {args.reps} repetitions. Baseline: the same tools called one after another
in plain Python, measured in the same run. Tool stage = select's result -> synthesize's start
(LangGraph's debug-event timestamps). "expected" = the speedup perfect overlap would give under
the concurrency bound b, i.e. k / ceil(k / b) (b = k; the cap; for sync tools without a cap,
Python's default thread-pool size min(32, CPUs + 4) = {default_pool} on this machine, since LangGraph runs
sync nodes in a
`ThreadPoolExecutor(max_workers=max_concurrency)`).

{headline_table}

{chr(10).join(t + chr(10) for t in tables)}
"""
    write_results("parallel", result, md)
    for name, v in headline.items():
        print(f"parallel: {name}: speedup {v['speedup']:.2f}x, speedup/k {v['speedup_per_k']:.3f}")
    print(f"parallel: wall {wall:.1f}s")


if __name__ == "__main__":
    main()
