"""Tool-result cache: the same questions twice through the graph, cold then warm, on real Redis.

    .venv/bin/python -m benchmarks.cache [--questions 50] [--seed 7]

The LM is the scripted LM (in-process, no network); the tools are fake tools that sleep
50-300 ms; each question calls 1 or 2 of them. The node cache is the project's own
(`runtime.cache.build_cache`) on Redis DB 13, flushed first. Reported:
- the tool stage's wall time (select's result -> synthesize's start, from `debug` stream
  events) warm vs cold, as a ratio (target <= 0.05);
- that the warm pass ran no tool at all (every call served from Redis);
- the Redis round trip of one GET of a cached key (500 samples), the floor of a hit.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import redis

from benchmarks._common import (
    REDIS_BENCH_URL,
    StageClock,
    call_text,
    disable_rate_limits,
    install_scripted_lm,
    md_table,
    pct,
    ratio,
    sleep_tool,
    summary_ms,
    user,
    write_results,
)
from runtime.bootstrap import configure

# Realistic spread of tool latencies (seconds): a local lookup to a slow HTTP API.
LATENCIES = {"lookup": 0.05, "geocode": 0.08, "rates": 0.12, "search": 0.15, "weather": 0.18,
             "stocks": 0.22, "translate": 0.26, "crawl": 0.30}  # fmt: skip
TARGET_WARM_OVER_COLD = 0.05


def questions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        chosen = rng.sample(sorted(LATENCIES), k=rng.choice([1, 2]))
        out.append("Please use " + " and ".join(call_text(t, f"q{i}-{t}") for t in chosen))
    return out


def run_pass(graph: Any, qs: list[str], calls: list[str]) -> dict[str, Any]:
    from agent_types.context import Context

    stages, totals, ran, requested = [], [], 0, 0
    for q in qs:
        before = len(calls)
        clock = StageClock()
        final: dict[str, Any] = {}
        for mode, ev in graph.stream(user(q), context=Context(critique=False), stream_mode=["debug", "values"]):
            if mode == "debug":
                clock.see(ev)
            else:
                final = ev
        totals.append(clock.total)
        stages.append(clock.tool_stage)
        ran += len(calls) - before
        requested += len(final.get("tool_results", []))
        assert all(r["error"] is None for r in final["tool_results"]), final["tool_results"]
    return {"stage_s": stages, "total_s": totals, "tools_run": ran, "tool_calls": requested}


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--redis-samples", type=int, default=500)
    args = parser.parse_args(argv)

    disable_rate_limits()
    install_scripted_lm()
    from graphs.agent import build_graph
    from runtime.cache import CACHE_PREFIX, build_cache
    from runtime.settings import Settings

    client = redis.Redis.from_url(REDIS_BENCH_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    client.flushdb()
    calls: list[str] = []
    tools = [sleep_tool(name, s, kind="sync", ttl=3600, calls=calls) for name, s in LATENCIES.items()]
    cache = build_cache(Settings(redis_url=REDIS_BENCH_URL))
    # Time the cache's lookups (one Redis read per tool call, made by its executor): a thin wrapper
    # around the Redis backend's read.
    lookups: list[float] = []
    backend = cache.inner
    lookup = backend.get

    def timed_get(keys: Any) -> Any:
        t = time.perf_counter()
        try:
            return lookup(keys)
        finally:
            lookups.append(time.perf_counter() - t)

    backend.get = timed_get  # type: ignore[method-assign]
    graph = build_graph(tools, cache=cache)
    qs = questions(args.questions, args.seed)

    # Warm up imports and DSPy/adapter first-call costs on a question that calls no tool.
    graph.invoke(user("hello, no tools here"))

    started = time.perf_counter()
    lookups.clear()
    cold = run_pass(graph, qs, calls)
    cold_lookups = lookups[:]
    lookups.clear()
    warm = run_pass(graph, qs, calls)
    warm_lookups = lookups[:]
    keys = [k for k in client.scan_iter(match=f"{CACHE_PREFIX}*", count=1000)]

    # Redis round trip: GET of a cached key, cycling through the keys the graph wrote.
    rtt = []
    for i in range(args.redis_samples):
        key = keys[i % len(keys)]
        t = time.perf_counter()
        value = client.get(key)
        rtt.append(time.perf_counter() - t)
        assert value is not None
    wall = time.perf_counter() - started

    cold_stage, warm_stage = summary_ms(cold["stage_s"]), summary_ms(warm["stage_s"])
    per_q = [w / c for w, c in zip(warm["stage_s"], cold["stage_s"], strict=True)]
    ratio_sum = ratio(sum(warm["stage_s"]), sum(cold["stage_s"]))
    result: dict[str, Any] = {
        "questions": len(qs),
        "tool_latencies_s": LATENCIES,
        "tool_kind": "sync (time.sleep), run by the executor's thread pool",
        "cache": f"runtime.cache.build_cache -> RedisCache at {REDIS_BENCH_URL} (flushed first)",
        "redis_keys_written": len(keys),
        "cold": {
            "tools_run": cold["tools_run"],
            "tool_calls": cold["tool_calls"],
            "tool_stage": cold_stage,
            "run_total": summary_ms(cold["total_s"]),
        },
        "warm": {
            "tools_run": warm["tools_run"],
            "tool_calls": warm["tool_calls"],
            "tool_stage": warm_stage,
            "run_total": summary_ms(warm["total_s"]),
        },
        "warm_hit_rate": ratio(warm["tool_calls"] - warm["tools_run"], warm["tool_calls"]),
        "ratio_warm_over_cold": {
            "tool_stage_sum": ratio_sum,
            "tool_stage_p50": ratio(warm_stage["p50_ms"], cold_stage["p50_ms"]),
            "per_question_p50": round(pct(per_q, 50), 4),
            "per_question_max": round(max(per_q), 4),
            "run_total_sum": ratio(sum(warm["total_s"]), sum(cold["total_s"])),
        },
        "target_warm_over_cold": TARGET_WARM_OVER_COLD,
        "meets_target": ratio_sum <= TARGET_WARM_OVER_COLD,
        "cache_lookups": {"cold": summary_ms(cold_lookups), "warm": summary_ms(warm_lookups)},
        "redis_get_round_trip": summary_ms(rtt),
        "warm_stage_p50_in_redis_round_trips": ratio(warm_stage["p50_ms"], summary_ms(rtt)["p50_ms"], 2),
        "wall_s": round(wall, 2),
    }

    r = result["ratio_warm_over_cold"]
    rt = result["redis_get_round_trip"]
    md = f"""
{len(qs)} questions, each calling 1-2 of {len(LATENCIES)} sync fake tools sleeping
{min(LATENCIES.values()) * 1000:.0f}-{
        max(LATENCIES.values()) * 1000:.0f} ms, run twice through `build_graph(tools, cache)`
with the scripted LM in-process; cache = `runtime.cache.build_cache` on Redis DB 13 (flushed first).
Tool stage = wall time from the `select` task's result to the `synthesize` task's start
(the timestamps LangGraph puts on its `stream_mode="debug"` events).

**Warm/cold tool-stage ratio: {r["tool_stage_sum"]:.4f}** (sum over questions; target <= {TARGET_WARM_OVER_COLD}:
{"met" if result["meets_target"] else "NOT met"}). Warm pass ran {warm["tools_run"]} of {warm["tool_calls"]} tool calls
(hit rate {result["warm_hit_rate"]:.2%}).

{
        md_table(
            ["pass", "tools run", "stage p50 ms", "stage p95 ms", "stage p99 ms", "run p50 ms"],
            [
                [
                    "cold",
                    cold["tools_run"],
                    cold_stage["p50_ms"],
                    cold_stage["p95_ms"],
                    cold_stage["p99_ms"],
                    result["cold"]["run_total"]["p50_ms"],
                ],
                [
                    "warm",
                    warm["tools_run"],
                    warm_stage["p50_ms"],
                    warm_stage["p95_ms"],
                    warm_stage["p99_ms"],
                    result["warm"]["run_total"]["p50_ms"],
                ],
            ],
        )
    }

{
        md_table(
            ["ratio warm/cold", "value"],
            [
                ["tool stage, sum over questions", r["tool_stage_sum"]],
                ["tool stage, p50 vs p50", r["tool_stage_p50"]],
                ["tool stage, per question: p50", r["per_question_p50"]],
                ["tool stage, per question: max", r["per_question_max"]],
                ["whole run, sum over questions", r["run_total_sum"]],
            ],
        )
    }

Redis GET round trip of a cached key ({rt["n"]} samples): p50 {rt["p50_ms"]:.3f} ms, p95 {rt["p95_ms"]:.3f} ms,
p99 {rt["p99_ms"]:.3f} ms. The warm tool stage p50 is {result["warm_stage_p50_in_redis_round_trips"]} Redis round trips:
it is one cache lookup (`RedisCache.get`: one MGET plus JSON decoding; warm p50
{result["cache_lookups"]["warm"]["p50_ms"]:.3f} ms over {result["cache_lookups"]["warm"]["n"]} lookups) and LangGraph's
scheduling of the cached tasks and applying their writes.
"""
    write_results("cache", result, md)
    print(f"cache: warm/cold tool stage = {r['tool_stage_sum']:.4f} (target <= {TARGET_WARM_OVER_COLD}); "
          f"p50 ratio {r['tool_stage_p50']:.4f}; warm ran {warm['tools_run']}/{warm['tool_calls']} tools; "
          f"cold stage p50 {cold_stage['p50_ms']:.1f} ms, warm {warm_stage['p50_ms']:.2f} ms; "
          f"redis GET p50 {rt['p50_ms']:.3f} ms; wall {wall:.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
