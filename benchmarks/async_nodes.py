"""Async LM nodes vs the synchronous ones they replaced: the served graph at 32 concurrent clients.

    .venv/bin/python -m benchmarks.async_nodes [--baseline 5e7b602] [--clients 32] [--runs 96] [--lm-ms 200]

Both graphs are measured in the same run, one after the other, each in a fresh `langgraph dev`
(testkit.server.langgraph_dev) with `--n-jobs-per-worker` = clients, so runs overlap (with the
default single worker runs execute one at a time and whether a node holds a thread cannot show),
against one scripted model server (testkit/scripted_server.py) that answers every completion
after --lm-ms, like a model that takes time. The baseline is a git worktree of --baseline (the last
commit with synchronous LM nodes) in a temporary folder, served from its own langgraph.json with
its packages first on PYTHONPATH; "async" is this checkout. DSPy's cache is off and rate limits
are off, as in benchmarks/server.py. Each client loops: create a thread, `runs.wait` one question
(select -> calculator -> synthesize -> critique -> finalize: 3 LM calls, 1 tool call).
Reported: runs/s and latency p50/p95 per graph, and async/baseline ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._common import NO_RATE_LIMITS, ROOT, md_table, ratio, write_results
from benchmarks.server import load, workers
from runtime.bootstrap import configure
from testkit.scripted_server import build_app
from testkit.server import langgraph_dev, serve_app

DEFAULT_BASELINE = "5e7b602"  # main before the async nodes (issue 11)


@contextlib.contextmanager
def baseline_checkout(ref: str) -> Iterator[Path]:
    """A detached git worktree of `ref` in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="async-nodes-baseline-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), ref], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)


def measure(tree: Path, env: dict[str, str], clients: int, runs: int, start: int) -> dict[str, Any]:
    env = {**env, "PYTHONPATH": str(tree)}  # this tree's packages before the installed ones
    t = time.perf_counter()
    with langgraph_dev(env=env, config=str(tree / "langgraph.json"),
                       extra_args=("--n-jobs-per-worker", str(clients))) as url:  # fmt: skip
        startup = time.perf_counter() - t
        asyncio.run(load(url, 2, 4, start))  # warm up: imports, programs, first threads
        result = asyncio.run(load(url, clients, runs, start + 1000))
        result["workers_reported"] = workers(url)
        result["startup_s"] = round(startup, 1)
    return result


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref with the synchronous nodes")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--runs", type=int, default=96, help="measured runs per graph")
    parser.add_argument("--lm-ms", type=float, default=200.0, help="latency of every model answer")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", args.baseline], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    results: dict[str, Any] = {}
    with serve_app(build_app(delay_s=args.lm_ms / 1000)) as port, baseline_checkout(commit) as baseline:
        env = {"LLM_BASE_URL": f"http://127.0.0.1:{port}/v1", "LLM_MODEL": "scripted", "DSPY_CACHE": "false",
               **NO_RATE_LIMITS}  # fmt: skip
        for i, (name, tree) in enumerate((("sync (baseline)", baseline), ("async", ROOT))):
            r = results[name] = measure(tree, env, args.clients, args.runs, (i + 1) * 10_000)
            print(f"async_nodes: {name}: {r['runs_per_s']:.2f} runs/s, p50 {r['latency']['p50_ms']:.0f} ms, "
                  f"p95 {r['latency']['p95_ms']:.0f} ms, errors {r['errors']} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)  # fmt: skip
    wall = time.perf_counter() - started
    base, new = results["sync (baseline)"], results["async"]
    ratios = {
        "runs_per_s_async_vs_sync": ratio(new["runs_per_s"], base["runs_per_s"], 3),
        "p50_async_vs_sync": ratio(new["latency"]["p50_ms"], base["latency"]["p50_ms"], 3),
        "p95_async_vs_sync": ratio(new["latency"]["p95_ms"], base["latency"]["p95_ms"], 3),
    }
    print(f"async_nodes: async/sync runs/s {ratios['runs_per_s_async_vs_sync']}, p50 {ratios['p50_async_vs_sync']} "
          f"(wall {wall:.0f}s)")  # fmt: skip
    result = {
        "baseline_ref": args.baseline, "baseline_commit": commit, "clients": args.clients, "runs": args.runs,
        "lm_latency_ms": args.lm_ms, "n_jobs_per_worker": args.clients,
        "server_env": {"LLM_MODEL": "scripted", "DSPY_CACHE": "false", **NO_RATE_LIMITS},
        "graphs": results, "ratios": ratios, "wall_s": round(wall, 1),
    }  # fmt: skip
    rows = [[name, r["runs"], r["runs_per_s"], r["latency"]["p50_ms"], r["latency"]["p95_ms"], r["errors"]]
            for name, r in results.items()]  # fmt: skip
    md = f"""
The served graph (`langgraph dev --n-jobs-per-worker {args.clients}`) at {args.clients} concurrent clients,
{args.runs} measured runs each, every model answer {args.lm_ms:g} ms late (scripted model server),
DSPY_CACHE=false, rate limits off. Baseline: commit {commit[:10]} (synchronous LM nodes), served from a
git worktree; async: this checkout. Same run, one after the other.

{md_table(["graph", "runs", "runs/s", "p50 ms", "p95 ms", "errors"], rows)}

async / sync: runs/s **{ratios["runs_per_s_async_vs_sync"]}x**, p50 **{ratios["p50_async_vs_sync"]}x**,
p95 {ratios["p95_async_vs_sync"]}x.
"""
    write_results("async_nodes", result, md)


if __name__ == "__main__":
    main()
