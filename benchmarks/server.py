"""The served graph under load: `langgraph dev` driven by langgraph_sdk clients.

    .venv/bin/python -m benchmarks.server [--runs 64] [--runs-single 16] [--levels 1,8,32]

The model is the scripted OpenAI-compatible server (testkit/scripted_server.py), so
every LM call crosses HTTP like a real one but answers at once; DSPy's cache is off
(DSPY_CACHE=false) so every call really goes out. Each client loops: create a thread,
`runs.wait` one question (select -> calculator -> synthesize -> critique -> finalize:
3 LM calls, 1 tool call). Reported per concurrency level: runs per second, latency
p50/p95 and errors.

Three server configurations, each a fresh `langgraph dev` (testkit.server.langgraph_dev):
- dev-default: as the tests start it. `langgraph dev` pins N_JOBS_PER_WORKER to its
  --n-jobs-per-worker flag, default 1 ("Starting 1 background workers"); the environment
  variable is overwritten, so only the flag changes it;
- n-jobs-10: `--n-jobs-per-worker 10`;
- diagnostic-poll: `--n-jobs-per-worker 10` plus benchmarks/_patched_dev.py, which shortens the
  in-memory queue's hard-coded 0.5 s poll and takes its cut-off after the wait. It is not a
  setting: it proves where the single-client floor comes from.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from benchmarks._common import NO_RATE_LIMITS, ROOT, md_table, ratio, summary_ms, write_results
from runtime.bootstrap import configure
from runtime.settings import ROLES
from testkit.scripted_server import build_app
from testkit.server import langgraph_dev, serve_app

CONFIGS: dict[str, dict[str, Any]] = {
    "dev-default": {"args": [], "patched_poll": False},
    "n-jobs-10": {"args": ["--n-jobs-per-worker", "10"], "patched_poll": False},
    "diagnostic-poll": {"args": ["--n-jobs-per-worker", "10"], "patched_poll": True},
}
PATCHED_POLL_S = 0.01
SLOW_SUFFIX = "-slow"


def delay_slow_models(inner: Any, slow_s: float) -> Any:
    """ASGI wrapper: a chat completion for a model named "*-slow" is answered `slow_s` later.
    The request body is read, inspected and replayed to the wrapped app unchanged."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            await inner(scope, receive, send)
            return
        messages, more = [], True
        while more:
            message = await receive()
            messages.append(message)
            more = message.get("more_body", False)
        body = b"".join(m.get("body", b"") for m in messages)
        try:
            slow = str(json.loads(body or b"{}").get("model", "")).endswith(SLOW_SUFFIX)
        except ValueError:
            slow = False
        if slow:
            await asyncio.sleep(slow_s)
        pending = iter(messages)

        async def replay() -> Any:
            return next(pending, None) or await receive()

        await inner(scope, replay, send)

    return app


@contextlib.contextmanager
def model_server(slow_ms: float) -> Iterator[str]:
    """The scripted model server (testkit/scripted_server.py), instant, except for model
    names ending in "-slow": so one served graph runs with an instant or a slow model, per run."""
    with serve_app(delay_slow_models(build_app(), slow_ms / 1000)) as port:
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def dev_server(env: dict[str, str], extra_args: list[str], patched_poll: bool) -> Iterator[str]:
    """testkit.server.langgraph_dev with extra CLI arguments and, for the diagnostic configuration,
    the patched launcher run by its file path: the server starts in a fresh temporary folder, where
    `python -m benchmarks._patched_dev` would not find the `benchmarks` package."""
    launcher = [sys.executable, str(ROOT / "benchmarks" / "_patched_dev.py")] if patched_poll else None
    with langgraph_dev(env=env, extra_args=extra_args, launcher=launcher) as url:
        yield url


async def one_run(client: Any, i: int, context: dict[str, Any] | None) -> tuple[float, str | None]:
    question = f'What is calculator{{"expression": "{i} + 1"}}?'
    t = time.perf_counter()
    try:
        thread = await client.threads.create()
        values = await client.runs.wait(
            thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": question}]}, context=context
        )
        elapsed = time.perf_counter() - t
        if not isinstance(values, dict) or "__error__" in values:
            return elapsed, f"error result: {str(values)[:200]}"
        if str(i + 1) not in values.get("answer", ""):
            return elapsed, f"wrong answer: {values.get('answer', '')[:200]!r}"
        return elapsed, None
    except Exception as exc:
        return time.perf_counter() - t, f"{type(exc).__name__}: {exc}"[:300]


async def load(url: str, clients: int, runs: int, start: int, context: dict[str, Any] | None = None) -> dict[str, Any]:
    from langgraph_sdk import get_client

    counter = itertools.count(start)
    remaining = runs
    latencies: list[float] = []
    errors: list[str] = []

    async def client_loop() -> None:
        nonlocal remaining
        client = get_client(url=url)  # one client (own connection pool) per simulated user
        while remaining > 0:
            remaining -= 1
            elapsed, error = await one_run(client, next(counter), context)
            latencies.append(elapsed)
            if error:
                errors.append(error)

    t = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    wall = time.perf_counter() - t
    lat = summary_ms(latencies)
    return {
        "clients": clients,
        "runs": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "wall_s": round(wall, 3),
        "runs_per_s": round(len(latencies) / wall, 3),
        "latency": lat,
    }


def workers(url: str) -> dict[str, Any]:
    try:
        data = httpx.get(f"{url}/metrics", params={"format": "json"}, timeout=5).json()
        return dict(data.get("workers", {}))
    except (httpx.HTTPError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=64, help="runs per level with more than one client")
    parser.add_argument("--runs-single", type=int, default=16, help="runs at 1 client (each takes the floor)")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--slow-ms", type=float, default=200.0, help="LM latency of the slow-model level")
    parser.add_argument("--slow-clients", type=int, default=8)
    parser.add_argument("--slow-runs", type=int, default=24)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    configs = [c for c in args.configs.split(",") if c]

    started = time.perf_counter()
    results: dict[str, Any] = {}
    slow_model = "scripted" + SLOW_SUFFIX
    slow_context = {f"{role}_model": slow_model for role in ROLES}
    slow_level = f"{args.slow_clients} slow"
    with model_server(args.slow_ms) as llm_url:
        # The slow clients pick the "-slow" model per run: an operator must allow a model a client chooses.
        env = {"LLM_BASE_URL": llm_url, "LLM_MODEL": "scripted", "DSPY_CACHE": "false", **NO_RATE_LIMITS,
               "BENCH_QUEUE_POLL_S": str(PATCHED_POLL_S),
               "ALLOWED_MODELS": json.dumps({"*": [slow_model]})}  # fmt: skip
        for name in configs:
            cfg = CONFIGS[name]
            t = time.perf_counter()
            with dev_server(env, cfg["args"], cfg["patched_poll"]) as url:
                startup = time.perf_counter() - t
                print(f"server: {name}: up in {startup:.1f}s ({time.perf_counter() - started:.0f}s)", flush=True)
                t = time.perf_counter()
                asyncio.run(load(url, 1, 2, 10_000))  # warm up: imports, programs, first thread
                warmup = time.perf_counter() - t
                per_level = {}
                for i, clients in enumerate(levels):
                    runs = args.runs_single if clients == 1 else args.runs
                    per_level[str(clients)] = asyncio.run(load(url, clients, runs, (i + 1) * 1000))
                    lv = per_level[str(clients)]
                    print(f"server: {name}: {clients} clients: {lv['runs_per_s']:.2f} runs/s, "
                          f"p50 {lv['latency']['p50_ms']:.0f} ms, p95 {lv['latency']['p95_ms']:.0f} ms, "
                          f"errors {lv['errors']} ({time.perf_counter() - started:.0f}s)", flush=True)  # fmt: skip
                if args.slow_runs:
                    per_level[slow_level] = asyncio.run(
                        load(url, args.slow_clients, args.slow_runs, 90_000, slow_context)
                    )
                    lv = per_level[slow_level]
                    print(f"server: {name}: {slow_level} clients: {lv['runs_per_s']:.2f} runs/s, "
                          f"p50 {lv['latency']['p50_ms']:.0f} ms, p95 {lv['latency']['p95_ms']:.0f} ms, "
                          f"errors {lv['errors']} ({time.perf_counter() - started:.0f}s)", flush=True)  # fmt: skip
                results[name] = {"cli_args": cfg["args"], "patched_poll": cfg["patched_poll"],
                                 "workers_reported": workers(url), "startup_s": round(startup, 1),
                                 "warmup_2_runs_s": round(warmup, 1),
                                 "levels": per_level}  # fmt: skip
    wall = time.perf_counter() - started

    base = results.get("dev-default")
    ratios: dict[str, Any] = {}
    if base:
        for name, r in results.items():
            if name == "dev-default":
                continue
            ratios[name] = {
                lv: {
                    "runs_per_s_vs_default": ratio(r["levels"][lv]["runs_per_s"], base["levels"][lv]["runs_per_s"], 3),
                    "p50_vs_default": ratio(r["levels"][lv]["latency"]["p50_ms"],
                                            base["levels"][lv]["latency"]["p50_ms"], 3),
                }
                for lv in r["levels"]
            }
    result: dict[str, Any] = {
        "levels": levels,
        "runs_per_level": {"1": args.runs_single, "other": args.runs},
        "question": 'What is calculator{"expression": "<i> + 1"}? (3 LM calls, 1 tool call per run)',
        "server_env": {"LLM_MODEL": "scripted", "DSPY_CACHE": "false", **NO_RATE_LIMITS},
        "slow_model_level": {"clients": args.slow_clients, "runs": args.slow_runs, "lm_latency_ms": args.slow_ms,
                             "context": slow_context},
        "patched_poll_s": PATCHED_POLL_S,
        "configs": results,
        "ratios_vs_dev_default": ratios,
        "wall_s": round(wall, 1),
    }

    rows = []
    for name, r in results.items():
        for lv, v in r["levels"].items():
            rows.append([name, lv, v["runs"], v["runs_per_s"], v["latency"]["p50_ms"], v["latency"]["p95_ms"],
                         v["errors"]])  # fmt: skip
    ratio_rows = [[name, lv, v["runs_per_s_vs_default"], v["p50_vs_default"]]
                  for name, per in ratios.items() for lv, v in per.items()]  # fmt: skip
    cfg_rows = [[name, " ".join(r["cli_args"]) or "(none)", "yes" if r["patched_poll"] else "no",
                 r["workers_reported"].get("max", "?"), r["startup_s"]] for name, r in results.items()]  # fmt: skip
    table = md_table(["config", "clients", "runs", "runs/s", "p50 ms", "p95 ms", "errors"], rows)
    ratio_table = md_table(["config", "clients", "runs/s vs dev-default", "p50 vs dev-default"], ratio_rows)
    cfg_table = md_table(["config", "extra `langgraph dev` args", "patched queue poll", "workers max", "startup s"],
                         cfg_rows)  # fmt: skip
    md = f"""
`langgraph dev` (via `testkit.server.langgraph_dev`) serving the agent graph, with
LLM_BASE_URL = the scripted OpenAI-compatible server (instant answers over HTTP), LLM_MODEL=scripted,
DSPY_CACHE=false, rate limits off ({", ".join(f"{k}={v}" for k, v in NO_RATE_LIMITS.items())}).
Each client: `threads.create()` then `runs.wait()`; question `{result["question"]}`.
{args.runs_single} runs at 1 client, {args.runs} at each other level. Level "{slow_level}": {args.slow_clients} clients,
{args.slow_runs} runs, every LM call delayed {args.slow_ms:g} ms by the model server (per-run context picks the model
`{slow_model}`), i.e. runs that wait on a model like real ones do.

{cfg_table}

{table}

Ratios against dev-default, same run:

{ratio_table}

See benchmarks/README.md ("Where the ~1 s per-run floor of `langgraph dev` comes from") for the analysis.
"""
    write_results("server", result, md)
    print(f"server: wall {wall:.1f}s")


if __name__ == "__main__":
    main()
