"""LangGraph's per-run cost: the graph vs the same node functions called in plain Python.

    .venv/bin/python -m benchmarks.overhead [--runs 500] [--profile]

All three variants answer one question that calls one instant tool, with a zero-latency
scripted model, interleaved run by run (so machine load hits them alike):
- graph: `build_graph([tool]).invoke(...)` with `critique=False`
  (intake -> select -> run_echo -> synthesize -> finalize);
- plain: the same node functions (the same DSPy programs and scripted LM) called in sequence
  in plain Python, merging their updates into a dict with the state's reducers. The
  difference graph - plain is what LangGraph adds per run;
- react: LangChain's prebuilt agent (`langchain.agents.create_agent`) with a scripted chat
  model (one tool call, then an answer) and the same instant tool: its whole per-run time.

With --profile, a cProfile of the graph runs attributes the time to libraries.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import time
from collections import defaultdict
from typing import Any

from benchmarks._common import (
    disable_rate_limits,
    install_scripted_lm,
    md_table,
    pct,
    sleep_tool,
    summary_ms,
    user,
    write_results,
)
from runtime.bootstrap import configure

TARGET_OVERHEAD_MS = 3.0
QUESTION = 'Please use echo{"text": "hi"}'


def make_plain(tools: list[Any]) -> Any:
    """The graph's path as plain function calls: intake -> select -> executors -> synthesize -> finalize."""
    from langchain_core.runnables.config import var_child_runnable_config
    from langgraph._internal._constants import CONFIG_KEY_RUNTIME
    from langgraph.graph.message import add_messages
    from langgraph.runtime import Runtime

    from agent_types.context import Context
    from agent_types.state import extend_or_reset
    from nodes.execute import make_executor
    from nodes.finalize import finalize
    from nodes.intake import intake
    from nodes.select import make_select
    from nodes.sync_bridge import run_blocking
    from nodes.synthesize import synthesize
    from runtime.names import executor_node_name

    reducers = {"messages": add_messages, "tool_results": extend_or_reset, "rejected_calls": extend_or_reset,
                "usage": extend_or_reset}  # fmt: skip
    select = make_select(tools)
    # The executor node is a RunnableLambda; call the function it wraps.
    executors = {executor_node_name(t.name): make_executor(t).func for t in tools}  # type: ignore[attr-defined]

    def apply(state: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            state[key] = reducers[key](state.get(key) or [], value) if key in reducers else value

    def run(question: str) -> dict[str, Any]:
        rt = Runtime(context=Context(critique=False))
        # The nodes call get_stream_writer(), which reads the runnable config: give them a no-op writer.
        token = var_child_runnable_config.set({"configurable": {CONFIG_KEY_RUNTIME: rt}})
        try:
            state: dict[str, Any] = {}
            apply(state, {"messages": [{"role": "user", "content": question}]})
            apply(state, intake(state))  # type: ignore[arg-type]
            apply(state, run_blocking(select(state, rt)))  # type: ignore[arg-type]  # async, as graph.invoke runs it
            for call in state.get("pending_calls", []):
                apply(state, executors[executor_node_name(call["name"])]({"call": call}))
            apply(state, run_blocking(synthesize(state, rt)))  # type: ignore[arg-type]
            apply(state, finalize(state))  # type: ignore[arg-type]
            return state
        finally:
            var_child_runnable_config.reset(token)

    return run


def make_react(tool: Any) -> Any:
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    class ScriptedChat(FakeMessagesListChatModel):
        """One tool call, then an answer (the list cycles, so every run gets the same two)."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    model = ScriptedChat(responses=[
        AIMessage(content="", tool_calls=[{"name": tool.name, "args": {"text": "hi"}, "id": "call_1"}]),
        AIMessage(content="Scripted answer."),
    ])  # fmt: skip
    return create_agent(model, tools=[tool])


def profile_per_run(fn: Any, runs: int) -> tuple[dict[str, float], pstats.Stats]:
    """cProfile of `runs` calls of fn: self time per library, in ms per run (inflated by the profiler)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        fn()
    prof.disable()
    stats = pstats.Stats(prof)
    own: dict[str, float] = defaultdict(float)
    for (filename, _line, fn_name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        # Blocking on a lock (a future, a queue, a thread) is idle time, not work: kept apart.
        waiting = "acquire' of '_thread" in fn_name or (filename.endswith("threading.py") and fn_name == "wait")
        own["(waiting on locks: futures, queues, threads)" if waiting else library_of(filename)] += tt * 1000 / runs
    return dict(own), stats


def profile_difference(graph_fn: Any, plain_fn: Any, runs: int) -> dict[str, Any]:
    """Where the graph's extra time goes: per-library self time, graph minus plain (cProfile)."""
    graph_own, graph_stats = profile_per_run(graph_fn, runs)
    plain_own, _ = profile_per_run(plain_fn, runs)
    libs = set(graph_own) | set(plain_own)
    diff = {lib: round(graph_own.get(lib, 0.0) - plain_own.get(lib, 0.0), 4) for lib in libs}
    out = io.StringIO()
    graph_stats.stream = out  # type: ignore[attr-defined]
    graph_stats.sort_stats("tottime").print_stats(r"site-packages/langgraph/", 15)
    return {
        "runs": runs,
        "graph_ms_per_run_profiled": round(sum(graph_own.values()), 3),
        "plain_ms_per_run_profiled": round(sum(plain_own.values()), 3),
        "extra_self_ms_per_run_by_library": dict(sorted(diff.items(), key=lambda kv: -kv[1])),
        "graph_self_ms_per_run_by_library": {
            k: round(v, 4) for k, v in sorted(graph_own.items(), key=lambda kv: -kv[1])
        },
        "top_langgraph_functions_by_self_time": out.getvalue(),
    }


def library_of(filename: str) -> str:
    if "site-packages/" in filename:
        part = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        return part.removesuffix(".py")
    for mine in ("graphs", "nodes", "dspy_programs", "tools", "runtime", "tests", "benchmarks"):
        if f"/{mine}/" in filename:
            return f"(project) {mine}"
    if filename == "~" or filename.startswith("<") or "/lib/python3" in filename:
        return "(python stdlib/builtins)"
    return filename


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile attribution of the overhead")
    parser.add_argument("--profile-runs", type=int, default=200)
    args = parser.parse_args(argv)

    disable_rate_limits()
    lm = install_scripted_lm()
    from langgraph.cache.memory import InMemoryCache

    from agent_types.context import Context
    from graphs.agent import build_graph

    tool = sleep_tool("echo", 0.0, kind="sync", ttl=0)  # instant, never cached
    graph = build_graph([tool], cache=InMemoryCache())
    plain = make_plain([tool])
    react = make_react(tool)

    def run_graph() -> dict[str, Any]:
        out: dict[str, Any] = graph.invoke(user(QUESTION), context=Context(critique=False))
        return out

    def run_react() -> dict[str, Any]:
        out: dict[str, Any] = react.invoke(user(QUESTION))
        return out

    variants = {"graph": run_graph, "plain": lambda: plain(QUESTION), "react": run_react}
    # Same answers from graph and plain: the same work is done.
    g, p, r = run_graph(), plain(QUESTION), run_react()
    assert g["answer"] == p["answer"], (g, p)
    assert g["tool_results"][0]["output"] == p["tool_results"][0]["output"] == "echo:hi", (g, p)
    assert [m.type for m in r["messages"]] == ["human", "ai", "tool", "ai"], r["messages"]
    lm_calls_per_run = len(lm.calls) // 2  # graph + plain ran once each

    for _ in range(args.warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    # CPU time of the whole process (all threads) per run: what the run costs, whatever else the
    # machine is doing; wall time also counts waiting for a CPU when the machine is busy.
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    gc.collect()
    started = time.perf_counter()
    for i in range(args.runs):
        order = list(variants.items())
        order = order[i % 3 :] + order[: i % 3]  # rotate who goes first
        for name, fn in order:
            c0 = time.process_time()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c0)
    wall = time.perf_counter() - started

    paired = [(gt - pt) * 1000 for gt, pt in zip(times["graph"], times["plain"], strict=True)]
    s = {k: summary_ms(v) for k, v in times.items()}
    overhead = {
        "p50_ms": round(s["graph"]["p50_ms"] - s["plain"]["p50_ms"], 3),
        "paired_p50_ms": round(pct(paired, 50), 3),
        "paired_p99_ms": round(pct(paired, 99), 3),
        "mean_ms": round(s["graph"]["mean_ms"] - s["plain"]["mean_ms"], 3),
    }
    c = {k: summary_ms(v) for k, v in cpu.items()}
    cpu_overhead = {
        "p50_ms": round(c["graph"]["p50_ms"] - c["plain"]["p50_ms"], 3),
        "mean_ms": round(c["graph"]["mean_ms"] - c["plain"]["mean_ms"], 3),
    }
    result: dict[str, Any] = {
        "runs": args.runs,
        "question": QUESTION,
        "lm_calls_per_run": lm_calls_per_run,
        "per_run": s,
        "graph_overhead": overhead,
        "cpu_per_run": c,
        "graph_overhead_cpu": cpu_overhead,
        "graph_over_plain_p50": round(s["graph"]["p50_ms"] / s["plain"]["p50_ms"], 3),
        "graph_overhead_over_react_p50": round(overhead["p50_ms"] / s["react"]["p50_ms"], 3),
        "target_overhead_ms": TARGET_OVERHEAD_MS,
        "meets_target": overhead["p50_ms"] <= TARGET_OVERHEAD_MS and overhead["p50_ms"] <= s["react"]["p50_ms"],
        "wall_s": round(wall, 2),
    }
    if not args.no_profile:
        result["profile"] = profile_difference(run_graph, lambda: plain(QUESTION), args.profile_runs)

    table = md_table(
        ["variant", "wall p50 ms", "wall p95 ms", "wall p99 ms", "wall mean ms", "CPU p50 ms", "CPU mean ms"],
        [
            [n, v["p50_ms"], v["p95_ms"], v["p99_ms"], v["mean_ms"], c[n]["p50_ms"], c[n]["mean_ms"]]
            for n, v in s.items()
        ],
    )
    verdict = "met" if result["meets_target"] else "NOT met"
    md = f"""
One question calling one instant tool, zero-latency scripted model ({lm_calls_per_run} LM calls per run: select,
synthesize), {args.runs} runs of each variant interleaved (rotating order) after {args.warmup} warm-up runs.

**LangGraph overhead per run (graph - plain): p50 {overhead["p50_ms"]:.3f} ms** (difference of the medians);
paired per-run differences: p50 {overhead["paired_p50_ms"]:.3f} ms, p99 {overhead["paired_p99_ms"]:.3f} ms
(the p99 mostly measures the busy machine: see the CPU figures). CPU time (process, all threads):
overhead p50 {cpu_overhead["p50_ms"]:.3f} ms, mean {cpu_overhead["mean_ms"]:.3f} ms per run.
Target <= {TARGET_OVERHEAD_MS} ms and not above the prebuilt ReAct agent's whole run
(p50 {s["react"]["p50_ms"]:.3f} ms): {verdict}.
Graph / plain p50 = {result["graph_over_plain_p50"]};
overhead / ReAct run p50 = {result["graph_overhead_over_react_p50"]}.

{table}

- graph: `build_graph([echo]).invoke(..., context=Context(critique=False))`, no checkpointer, InMemoryCache
  (the tool has ttl 0, so no cache lookups).
- plain: `intake`, `select`, the executor's function, `synthesize`, `finalize` called in sequence with the same
  programs and LM; updates merged with the state's reducers. Both include DSPy's adapter formatting and parsing,
  which is the bulk of a run here and is not graph overhead.
- react: `langchain.agents.create_agent(FakeMessagesListChatModel subclass, tools=[echo])`: model -> tool -> model.
"""
    if not args.no_profile:
        prof = result["profile"]
        extra = [(lib, ms) for lib, ms in prof["extra_self_ms_per_run_by_library"].items() if abs(ms) >= 0.01]
        md += f"""
Where the extra time goes: cProfile of {prof["runs"]} runs of each, self time per library per run,
graph minus plain (the profiler inflates every figure: graph {prof["graph_ms_per_run_profiled"]} ms/run,
plain {prof["plain_ms_per_run_profiled"]} ms/run under it; read the split, not the totals):

{md_table(["library", "extra self ms/run"], extra[:12])}
"""
    write_results("overhead", result, md)
    print(f"overhead: graph - plain p50 {overhead['p50_ms']:.3f} ms, CPU p50 {cpu_overhead['p50_ms']:.3f} ms "
          f"(paired p50 {overhead['paired_p50_ms']:.3f}); graph p50 {s['graph']['p50_ms']:.3f} ms, "
          f"plain p50 {s['plain']['p50_ms']:.3f} ms, react p50 {s['react']['p50_ms']:.3f} ms; "
          f"target <= {TARGET_OVERHEAD_MS} ms and <= react: {'met' if result['meets_target'] else 'NOT met'}; "
          f"wall {wall:.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
