"""Bounded load on loopback: many runs through `langgraph dev`, with errors, latency and memory.

    .venv/bin/python -m benchmarks.load [--runs 200] [--concurrency 16] [--jobs 16]

The model is the scripted OpenAI-compatible server (testkit/scripted_server.py), so every
LM call crosses HTTP but answers at once; DSPy's cache is off so every call goes out; rate limits
are off (a policy, not a cost). `--concurrency` clients loop until `--runs` runs are done: each
creates a thread and `runs.wait`s one question (calculator questions with distinct arguments and
plain greetings; critique on: 3 LM calls). Afterwards every thread's final state is read back.

Memory is the RSS of the server's whole process tree (from /proc), sampled every 0.25 s; the
first and last quarter are the samples taken while the first and last 25% of runs completed.
The in-memory server keeps every thread, so some growth is data, not a leak: the bound used by
tests/integration/test_load.py is last-quarter mean <= first-quarter mean x 1.25 + 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from benchmarks._common import NO_RATE_LIMITS, md_table, summary_ms, write_results
from runtime.bootstrap import configure

MB = 1024 * 1024
RSS_FACTOR, RSS_SLACK_MB = 1.25, 50.0


def question_for(i: int) -> str:
    """Three in four runs call the calculator (distinct arguments: no cache hits), one in four none."""
    return "Hello, who are you?" if i % 4 == 3 else f'calculator{{"expression": "{i} * 3 + 1"}}'


def expected_answer(i: int) -> str:
    return "Scripted answer" if i % 4 == 3 else str(i * 3 + 1)


# --- memory ---------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants (VmRSS from /proc/<pid>/status)."""
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


@dataclass
class RssSampler:
    """Samples the tree's RSS with the number of runs finished at that moment."""

    pid: int
    progress: Callable[[], int]
    interval_s: float = 0.25
    samples: list[tuple[int, int]] = field(default_factory=list)  # (runs finished, bytes)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((self.progress(), tree_rss_bytes(self.pid)))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.samples.append((self.progress(), tree_rss_bytes(self.pid)))

    def quarters(self, runs: int) -> tuple[float, float]:
        """Mean RSS in MB while the first 25% and the last 25% of the runs finished."""
        first = [b for done, b in self.samples if done <= runs // 4]
        last = [b for done, b in self.samples if done >= runs - runs // 4]
        return statistics.fmean(first) / MB, statistics.fmean(last) / MB


# --- the load -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    runs: int
    concurrency: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    threads: dict[int, str]  # run index -> thread id
    rss_first_mb: float = 0.0
    rss_last_mb: float = 0.0
    rss_peak_mb: float = 0.0
    unreadable: list[str] = field(default_factory=list)

    @property
    def rss_bound_mb(self) -> float:
        return self.rss_first_mb * RSS_FACTOR + RSS_SLACK_MB

    def summary(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "concurrency": self.concurrency,
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "states_unreadable": len(self.unreadable),
            "unreadable_samples": self.unreadable[:5],
            "seconds": round(self.seconds, 2),
            "runs_per_second": round(self.runs / self.seconds, 2),
            "latency": summary_ms(self.latencies),
            "rss_mb": {"first_quarter": round(self.rss_first_mb, 1), "last_quarter": round(self.rss_last_mb, 1),
                       "peak": round(self.rss_peak_mb, 1), "bound": round(self.rss_bound_mb, 1),
                       "bound_rule": f"last <= first x {RSS_FACTOR} + {RSS_SLACK_MB:g} MB"},
        }  # fmt: skip


async def drive(url: str, pid: int, runs: int, concurrency: int, context: dict[str, Any] | None = None) -> LoadResult:
    """`concurrency` clients share `runs` runs; then every thread's state is read back."""
    from langgraph_sdk import get_client

    client = get_client(url=url, timeout=120)
    counter = iter(range(runs))
    done = 0
    latencies: list[float] = []
    errors: list[str] = []
    threads: dict[int, str] = {}

    async def one(i: int) -> None:
        nonlocal done
        started = time.perf_counter()
        try:
            thread = await client.threads.create(metadata={"load_run": i})
            threads[i] = thread["thread_id"]
            question: dict[str, Any] = {"messages": [{"role": "user", "content": question_for(i)}]}
            out = await client.runs.wait(thread["thread_id"], "agent", input=question, context=context or {})
            if isinstance(out, dict) and "__error__" in out:
                errors.append(f"run {i}: {out['__error__']}")
        except Exception as exc:
            errors.append(f"run {i}: {type(exc).__name__}: {exc}")
        finally:
            latencies.append(time.perf_counter() - started)
            done += 1

    async def worker() -> None:
        for i in counter:
            await one(i)

    with RssSampler(pid, lambda: done) as sampler:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started

    result = LoadResult(runs, concurrency, seconds, latencies, errors, threads)
    result.rss_first_mb, result.rss_last_mb = sampler.quarters(runs)
    result.rss_peak_mb = max(b for _, b in sampler.samples) / MB

    async def check(i: int, tid: str) -> None:
        try:
            values = cast(dict[str, Any], (await client.threads.get_state(tid))["values"])  # a StateGraph: a dict
            if expected_answer(i) not in values.get("answer", ""):
                result.unreadable.append(f"run {i}: answer {values.get('answer')!r:.200}")
        except Exception as exc:
            result.unreadable.append(f"run {i}: {type(exc).__name__}: {exc}")

    for start in range(0, runs, concurrency):
        await asyncio.gather(*(check(i, threads[i]) for i in range(start, min(runs, start + concurrency))
                               if i in threads))  # fmt: skip
    return result


def server_env(model_url: str) -> dict[str, str]:
    return {"LLM_BASE_URL": model_url, "LLM_MODEL": "scripted", "DSPY_CACHE": "false", **NO_RATE_LIMITS}


def main(argv: list[str] | None = None) -> int:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=16, help="langgraph dev --n-jobs-per-worker")
    args = parser.parse_args(argv)

    from testkit.scripted_server import scripted_server
    from testkit.server import langgraph_dev

    os.environ.update(NO_RATE_LIMITS)
    with (
        scripted_server() as model,
        langgraph_dev(env=server_env(model), extra_args=("--n-jobs-per-worker", str(args.jobs))) as url,
    ):
        result = asyncio.run(drive(url, url.pid, args.runs, args.concurrency))
    s = result.summary()
    lat, rss = s["latency"], s["rss_mb"]
    print(f"runs {s['runs']}  concurrency {s['concurrency']}  errors {s['errors']}  "
          f"unreadable states {s['states_unreadable']}  {s['runs_per_second']} runs/s")
    print(f"latency p50 {lat['p50_ms']:.0f} ms  p95 {lat['p95_ms']:.0f} ms  p99 {lat['p99_ms']:.0f} ms")
    print(f"server RSS first quarter {rss['first_quarter']} MB  last quarter {rss['last_quarter']} MB  "
          f"peak {rss['peak']} MB  (bound {rss['bound']} MB)")  # fmt: skip
    markdown = (
        f"{args.runs} runs by {args.concurrency} concurrent langgraph_sdk clients against `langgraph dev "
        f"--n-jobs-per-worker {args.jobs}` with the scripted model server; each run: new thread, `runs.wait`.\n\n"
        + md_table(
            ["runs", "concurrency", "errors", "states unreadable", "runs/s", "p50 ms", "p95 ms", "p99 ms"],
            [[s["runs"], s["concurrency"], s["errors"], s["states_unreadable"], s["runs_per_second"],
              lat["p50_ms"], lat["p95_ms"], lat["p99_ms"]]],
        )
        + "\n\nServer process tree RSS (MB), sampled every 0.25 s:\n\n"
        + md_table(["first quarter", "last quarter", "peak", f"bound (first x {RSS_FACTOR} + {RSS_SLACK_MB:g})"],
                   [[rss["first_quarter"], rss["last_quarter"], rss["peak"], rss["bound"]]])
    )  # fmt: skip
    json_path, md_path = write_results("load", {"parameters": vars(args), "result": s}, markdown)
    print(f"wrote {json_path} and {md_path}")
    ok = not result.errors and not result.unreadable and result.rss_last_mb <= result.rss_bound_mb
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
