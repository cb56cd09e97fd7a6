"""Serving choices for the embedded model, on the same questions in one run.

    .venv/bin/python -m benchmarks.serving [--limit 12] [--loop on off] [--split dev] [--configs 0 1]

Each configuration gets fresh server processes on free ports (empty prompt caches: a first run),
then the whole graph answers the first N questions of an answers split in-process, LM
cache off, critique loop on and/or off. Configurations:

- `llama-server, 1 process, 4 slots` — the default (serving/local_model.py);
- the same with flash attention as llama.cpp's `auto` sets it on the CPU (on);
- `llama-server, 2 processes x 1 slot` — the old arrangement (selector alone) on the new engine;
- `llama-cpp-python, 2 processes` — what the project served with before (needs the
  `compare-serving` extra: `.venv/bin/pip install -e '.[compare-serving]'`; skipped, and said so,
  without it);
- the default with llama.cpp's speculative decoding from the prompt's own n-grams (no draft
  model): the selector's replies copy tool names and JSON from its prompt.

Reported per configuration: accuracy, p50/p95/max seconds per question, LM calls per question,
and p50 as a ratio to the default configuration's in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import md_table, pct, ratio, write_results
from offline import data
from offline.evaluate_answers import demo_api, run_variant
from runtime.bootstrap import configure
from runtime.settings import FlashAttn, get_settings
from serving.llama_server import build as build_llama_server
from serving.local_model import MODELS, fetch, server_command, server_ready
from testkit.server import free_port


@dataclass(frozen=True)
class Config:
    name: str
    engine: str  # "llama-server" | "llama-cpp-python"
    processes: int  # 1: every role on one server; 2: the selector alone on the first
    slots: int
    unified: bool = False
    flash_attn: FlashAttn | None = None  # None: as configured (LOCAL_MODEL_FLASH_ATTN)
    extra: tuple[str, ...] = ()  # more llama-server arguments


CONFIGS = [
    Config("llama-server, 1 process, 4 slots, per-slot KV (default)", "llama-server", 1, 4),
    Config("llama-server, 1 process, 4 slots, flash attention on (llama.cpp's auto)", "llama-server", 1, 4,
           flash_attn="auto"),
    Config("llama-server, 1 process, 4 slots, unified KV", "llama-server", 1, 4, unified=True),
    Config("llama-server, 2 processes x 1 slot", "llama-server", 2, 1),
    Config("llama-cpp-python, 2 processes", "llama-cpp-python", 2, 1),
    Config("llama-server, 1 process, 4 slots, speculative decoding from the prompt (ngram-simple, n 3, m 8)",
           "llama-server", 1, 4, extra=("--spec-type", "ngram-simple", "--spec-ngram-simple-size-n", "3",
                                        "--spec-ngram-simple-size-m", "8")),
]


def start(config: Config, port: int, log: Path) -> subprocess.Popen[bytes]:
    settings = get_settings()
    model = fetch(MODELS[settings.local_model], settings.model_dir)
    if config.engine == "llama-server":
        flash_attn = config.flash_attn or settings.local_model_flash_attn
        tuned = settings.model_copy(update={"local_model_port": port, "local_model_slots": config.slots,
                                            "local_model_kv_unified": config.unified,
                                            "local_model_flash_attn": flash_attn,
                                            "local_model_ctx": settings.local_model_ctx // 4 * config.slots})
        cmd = [*server_command(tuned, build_llama_server(settings), model), *config.extra]
    else:
        # The old command line (see git history of serving/local_model.py).
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
               settings.local_model, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192",
               "--n_threads", str(os.cpu_count() or 2), "--n_batch", "512",
               "--interrupt_requests", "false"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while not server_ready(f"http://127.0.0.1:{port}/v1"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{config.name}: server on {port} did not start; see {log}")
        time.sleep(0.5)
    return proc


@contextlib.contextmanager
def served(config: Config, logs: Path) -> Iterator[dict[str, str]]:
    """Start the configuration's servers; yield the environment that points the roles at them."""
    ports = [free_port() for _ in range(config.processes)]
    procs = [start(config, port, logs / f"serving-{port}.log") for port in ports]
    urls = [f"http://127.0.0.1:{p}/v1" for p in ports]
    env = {"LLM_BASE_URL": urls[-1], "LLM_MODEL": get_settings().local_model}
    if config.processes == 2:
        env["SELECTOR_BASE_URL"] = urls[0]
    try:
        yield env
    finally:
        for proc in procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def summarize(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [o["seconds"] for o in outcomes]
    return {
        "n": len(outcomes),
        "accuracy": round(sum(o["correct"] for o in outcomes) / len(outcomes), 3),
        "p50_s": round(statistics.median(seconds), 2),
        "p95_s": round(pct(seconds, 95), 2),
        "max_s": round(max(seconds), 2),
        "lm_calls": round(sum(o["lm_calls"] for o in outcomes) / len(outcomes), 2),
    }


def main(argv: list[str] | None = None) -> int:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(prog="benchmarks.serving", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12, help="first N questions of the split")
    parser.add_argument("--loop", nargs="+", choices=["on", "off"], default=["off", "on"])
    parser.add_argument("--split", choices=["dev", "test"], default="test", help="the answers split to ask from")
    parser.add_argument("--configs", nargs="+", type=int, default=list(range(len(CONFIGS))),
                        help="only these configurations (0 = the default, the baseline of the ratios)")
    args = parser.parse_args(argv)
    if 0 not in args.configs:
        parser.error("--configs must include 0, the default configuration the ratios are taken against")
    from langgraph.cache.memory import InMemoryCache

    rows = data.answer_rows(args.split)[: args.limit]
    logs = get_settings().model_dir
    results: list[dict[str, Any]] = []
    with demo_api() as api_url:
        for config in [CONFIGS[i] for i in args.configs]:
            if config.engine == "llama-cpp-python" and importlib.util.find_spec("llama_cpp") is None:
                print(f"[serving] {config.name}: skipped (install the compare-serving extra)", file=sys.stderr)
                results.append({"config": config.name, "skipped": "llama-cpp-python not installed"})
                continue
            for loop in args.loop:
                print(f"[serving] {config.name}, critique loop {loop}", file=sys.stderr, flush=True)
                with served(config, logs) as env:
                    os.environ.update({**env, "HTTP_TOOL_BASE_URL": api_url, "DSPY_CACHE": "false"})
                    get_settings.cache_clear()
                    from graphs.agent import build_graph

                    graph = build_graph(cache=InMemoryCache())
                    outcomes = run_variant(graph, rows, loop == "on", None)
                    results.append({"config": config.name, "loop": loop, **summarize(outcomes),
                                    "outcomes": outcomes})  # fmt: skip
                    for key in ("SELECTOR_BASE_URL",):
                        os.environ.pop(key, None)
    base = {r["loop"]: r["p50_s"] for r in results if r["config"] == CONFIGS[0].name and "loop" in r}
    table = [
        [r["config"], r.get("loop", "-"), r.get("accuracy", "-"), r.get("p50_s", "-"), r.get("p95_s", "-"),
         r.get("max_s", "-"), r.get("lm_calls", "-"),
         ratio(r["p50_s"], base[r["loop"]]) if "loop" in r and r["loop"] in base else r.get("skipped", "-")]
        for r in results
    ]  # fmt: skip
    markdown = "\n".join([
        f"First {len(rows)} questions of the answers {args.split} split, in-process graph, LM cache off, fresh server "
        "processes (empty prompt caches) for every configuration and loop setting.", "",
        md_table(["configuration", "critique loop", "accuracy", "p50 s", "p95 s", "max s", "LM calls / question",
                  "p50 / default's p50"], table),
    ]) + "\n"  # fmt: skip
    write_results("serving", {"results": results}, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
