"""Per-node latency on the real local model (llama.cpp via llama-cpp-python), prefix cache cold vs warm.

    .venv/bin/python -m benchmarks.embedded_model [--questions 3] [--budget-s 120]

Run it LAST and alone: it loads the shared model server on 127.0.0.1:8080.

The graph runs in-process with the real DSPy LM (DSPY_CACHE=false, critique off: select and
synthesize call the model). llama-cpp-python's server keeps ONE sequence of evaluated
tokens (no `--cache`): a prompt reuses only its common prefix with the prompt evaluated just
before it. In graph order every node's prompt follows a different program's prompt
(select after the previous synthesize, synthesize after select), so a second pass over the
same questions is no warmer than the first. To measure both states of every node, each model
call the graph makes goes through a small in-process proxy that sends it to the model server
twice:
- cold: the call as the graph makes it (the previous prompt on the server was another
  program's, or another client's); its client time includes queueing behind other clients;
- warm: the same request, queued 0.1 s after the cold one so that the server (first come,
  first served) evaluates it right after it: its whole prompt is a prefix hit. Its client
  time is from the cold answer to the warm answer.
Both copies are sent without streaming (llama-cpp-python cuts a streamed completion short
when another request is waiting: interrupt_requests=True by default); the graph gets the
warm answer (identical at temperature 0), re-streamed as one chunk when it asked for a stream.
Latency is reported per node, p50/p95, client-side and server-side (llama.cpp's own "total
time" for the request, from the server log), with each request's prefix-hit fraction read
from the log's "prefix-match hit" lines as a sanity check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._common import md_table, pct, ratio, user, write_results
from runtime.bootstrap import configure

UPSTREAM = "http://127.0.0.1:8080/v1"
QUESTIONS = [
    "What is 17% of 2,340?",
    "How many km is 26.2 miles?",
    "What is 15% of 80, and how many pounds is 5 kilograms?",
    "What is 12 * 12?",
    "How many days are there between 2024-01-01 and 2024-03-01?",
    "Convert 100 degrees Fahrenheit to Celsius.",
    "What is the square root of 2 times 10?",
    "How many ounces is 2 kilograms?",
    "What is 3 to the power of 7?",
    "How many meters is 5 feet?",
    "What is 1,234 + 5,678?",
    "Hello!",
]
MAX_QUESTIONS = 12
WARM_QUEUE_DELAY_S = 0.1


def as_sse(data: dict[str, Any]) -> str:
    """A chat completion as an OpenAI stream: the whole message in one chunk, then the end."""
    choice = data["choices"][0]
    head = {k: data.get(k) for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    chunk = head | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": choice["message"]["content"]},
                                 "finish_reason": None}]}  # fmt: skip
    done = head | {"choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}],
                   "usage": data.get("usage")}  # fmt: skip
    return f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(done)}\n\ndata: [DONE]\n\n"

PREFIX_RE = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens")
PROMPT_EVAL_RE = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
EVAL_RE = re.compile(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs")
TOTAL_RE = re.compile(r"total time =\s*([\d.]+) ms /\s*(\d+) tokens")


def log_blocks(text: str) -> list[dict[str, Any]]:
    """One block per request the model server finished: its prefix hit, prompt and total times."""
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] = {"hit": 0}
    for line in text.splitlines():
        if m := PREFIX_RE.search(line):
            current["hit"] = int(m.group(1))
        elif (m := PROMPT_EVAL_RE.search(line)) and "prompt eval" in line:
            current["evaluated"] = int(m.group(2))
            current["prompt_eval_ms"] = float(m.group(1))
        elif m := EVAL_RE.search(line):
            current["generated"] = int(m.group(2))
        elif m := TOTAL_RE.search(line):
            current["total_ms"] = float(m.group(1))
            if "evaluated" in current:
                current["prompt_tokens"] = current["hit"] + current["evaluated"]
                blocks.append(current)
            current = {"hit": 0}  # the next request's block
    return blocks


class Recorder:
    """The proxy's record of every call: node, timings, and the server log around it."""

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.calls: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()

    def log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


@contextlib.contextmanager
def doubling_proxy(recorder: Recorder, upstream: str) -> Iterator[str]:
    """An OpenAI-compatible proxy that sends each chat completion upstream twice (cold, then warm)."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from testkit.scripted_lm import role_of
    from testkit.server import serve_app

    client = httpx.AsyncClient(timeout=httpx.Timeout(900.0, connect=10.0))

    async def chat(request: Request) -> Response:
        body = await request.json()
        messages = body.get("messages", [])
        role = role_of(next((str(m.get("content")) for m in messages if m.get("role") == "system"), ""))
        # Both sent without streaming: llama-cpp-python cuts a streamed completion short as soon as
        # another request waits for the model (its default interrupt_requests=True).
        plain = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        async with recorder.lock:  # one of our calls at a time
            offset = recorder.log_offset()
            t = time.perf_counter()
            cold_task = asyncio.create_task(client.post(f"{upstream}/chat/completions", json=plain))
            # The server serves waiting requests first come first served: queue the warm copy right
            # behind the cold one, before another client's next request can get in between.
            await asyncio.sleep(WARM_QUEUE_DELAY_S)
            warm_task = asyncio.create_task(client.post(f"{upstream}/chat/completions", json=plain))
            cold = await cold_task
            cold_done = time.perf_counter()
            warm = await warm_task
            warm_done = time.perf_counter()
            cold.raise_for_status()
            warm.raise_for_status()
            prompt_tokens = int(cold.json().get("usage", {}).get("prompt_tokens", 0))
            await asyncio.sleep(0.2)  # let the server flush its log lines
            ours = [b for b in log_blocks(recorder.log_since(offset)) if abs(b["prompt_tokens"] - prompt_tokens) <= 1]
            recorder.calls.append({
                "node": role, "prompt_tokens": prompt_tokens,
                "cold_s": cold_done - t,  # includes waiting behind other clients' requests
                "warm_s": warm_done - cold_done,  # the warm copy was already queued right behind
                "cold_log": ours[0] if len(ours) > 0 else None, "warm_log": ours[1] if len(ours) > 1 else None,
            })  # fmt: skip
        data = warm.json()
        if not body.get("stream"):
            return JSONResponse(data)
        return Response(as_sse(data), media_type="text/event-stream")

    async def models(request: Request) -> JSONResponse:
        r = await client.get(f"{upstream}/models")
        return JSONResponse(r.json(), status_code=r.status_code)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])
    with serve_app(app, join_s=10) as port:
        yield f"http://127.0.0.1:{port}/v1"


def stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": round(pct(values, 50), 3), "p95": round(pct(values, 95), 3)}


def main(argv: list[str] | None = None) -> None:
    configure()  # library defaults and the LM cache, as the graph factory would (runtime/bootstrap.py)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=3, help=f"at most {MAX_QUESTIONS}")
    parser.add_argument("--budget-s", type=float, default=120.0, help="no new question starts after this")
    parser.add_argument("--upstream", default=UPSTREAM, help="the model server's OpenAI base URL")
    parser.add_argument("--log", type=Path, default=None, help="its log (default: MODEL_DIR/server.log)")
    args = parser.parse_args(argv)
    upstream = args.upstream.rstrip("/")
    n = max(1, min(args.questions, MAX_QUESTIONS))

    import httpx

    from runtime.settings import get_settings
    from serving.local_model import MODELS

    # Only check that it listens: its /v1/models waits for the model lock, i.e. for other clients' requests.
    parsed = httpx.URL(upstream)
    try:
        socket.create_connection((parsed.host, parsed.port or 80), timeout=5).close()
    except OSError as exc:
        raise SystemExit(f"the local model server at {upstream} is not listening: {exc}") from exc
    base = get_settings()
    model_name = MODELS[base.local_model].name
    log_path = args.log or base.model_dir / "server.log"
    recorder = Recorder(log_path if log_path.exists() else None)

    started = time.perf_counter()
    answered: list[dict[str, Any]] = []
    with doubling_proxy(recorder, upstream) as proxy_url:
        # The graph's LM goes to the proxy under the local model's own name, so the programs
        # compiled for it load; DSPy's cache is off; a cold prompt can take minutes on 2 cores.
        os.environ.update({"LLM_BASE_URL": proxy_url, "LLM_MODEL": model_name, "DSPY_CACHE": "false",
                           "LM_TIMEOUT_S": "900", "LM_REQUESTS_PER_SECOND": "0"})  # fmt: skip
        get_settings.cache_clear()
        from agent_types.context import Context
        from graphs.agent import build_graph

        graph = build_graph()
        for i, question in enumerate(QUESTIONS[:n]):
            if i and time.perf_counter() - started > args.budget_s:
                print(f"embedded_model: budget reached after {i} questions", flush=True)
                break
            t = time.perf_counter()
            out = graph.invoke(user(question), context=Context(critique=False))
            answered.append({"question": question, "seconds": round(time.perf_counter() - t, 1),
                             "tools": sorted(r["name"] for r in out.get("tool_results", [])),
                             "answer": str(out.get("answer", ""))[:200]})  # fmt: skip
            print(f"embedded_model: {question!r}: {answered[-1]['seconds']}s, tools {answered[-1]['tools']} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)  # fmt: skip
    wall = time.perf_counter() - started

    per_node: dict[str, Any] = {}
    for node in sorted({c["node"] for c in recorder.calls}):
        calls = [c for c in recorder.calls if c["node"] == node]
        cold_srv = [c["cold_log"]["total_ms"] / 1000 for c in calls if c["cold_log"]]
        warm_srv = [c["warm_log"]["total_ms"] / 1000 for c in calls if c["warm_log"]]
        cold_hit = [c["cold_log"]["hit"] / c["cold_log"]["prompt_tokens"] for c in calls if c["cold_log"]]
        warm_hit = [c["warm_log"]["hit"] / c["warm_log"]["prompt_tokens"] for c in calls if c["warm_log"]]
        entry: dict[str, Any] = {
            "calls": len(calls),
            "prompt_tokens": stats([float(c["prompt_tokens"]) for c in calls]),
            "cold_client_s": stats([c["cold_s"] for c in calls]),
            "warm_client_s": stats([c["warm_s"] for c in calls]),
            "cold_server_s": stats(cold_srv),
            "warm_server_s": stats(warm_srv),
            "cold_prefix_hit_fraction": stats(cold_hit),
            "warm_prefix_hit_fraction": stats(warm_hit),
        }
        entry["warm_over_cold_client_p50"] = ratio(entry["warm_client_s"]["p50"], entry["cold_client_s"]["p50"], 3)
        entry["warm_over_cold_server_p50"] = (
            ratio(entry["warm_server_s"]["p50"], entry["cold_server_s"]["p50"], 3) if cold_srv and warm_srv else None
        )
        per_node[node] = entry

    result: dict[str, Any] = {
        "model": model_name,
        "upstream": upstream,
        "questions_asked": len(answered),
        "questions": answered,
        "design": "each LM call sent twice back to back through an in-process proxy: cold as the graph makes it, "
        "warm = the same request again; graph in-process, DSPY_CACHE=false, critique off",
        "server_log": str(log_path) if recorder.log_path else None,
        "per_node": per_node,
        "calls": recorder.calls,
        "wall_s": round(wall, 1),
    }
    rows = []
    for node, e in per_node.items():
        rows.append([node, e["calls"], e["prompt_tokens"]["p50"],
                     e["cold_client_s"]["p50"], e["cold_client_s"]["p95"], e["warm_client_s"]["p50"],
                     e["warm_client_s"]["p95"], e["warm_over_cold_client_p50"],
                     e["cold_server_s"]["p50"], e["warm_server_s"]["p50"], e["warm_over_cold_server_p50"],
                     e["cold_prefix_hit_fraction"]["p50"], e["warm_prefix_hit_fraction"]["p50"]])  # fmt: skip
    table = md_table(["node", "calls", "prompt tokens p50", "cold p50 s", "cold p95 s", "warm p50 s", "warm p95 s",
                      "warm/cold (client)", "cold server p50 s", "warm server p50 s", "warm/cold (server)",
                      "cold prefix hit", "warm prefix hit"], rows)  # fmt: skip
    qrows = [[q["question"], q["seconds"], ", ".join(q["tools"]) or "(none)"] for q in answered]
    md = f"""
Model {model_name} on the shared llama-cpp-python server ({upstream}); graph in-process with the real DSPy LM,
DSPY_CACHE=false, critique off (select and synthesize call the model). {len(answered)} question(s) asked
(budget {args.budget_s:g} s, at most {MAX_QUESTIONS}).

Each model call went to the server twice through an in-process proxy: **cold** = as the graph makes it (the
server's previous prompt was another program's, or another client's; client time includes waiting behind other
clients of the shared server), **warm** = the same request queued right behind it (whole prompt a prefix hit;
client time from the cold answer to the warm one); the graph used the warm answer. Server times are llama.cpp's
"total time" for the request, from its log.
"prefix hit" = fraction of the prompt the server reused ("prefix-match hit" log lines), a sanity check.

{table}

{md_table(["question", "graph run s (cold + warm calls)", "tools"], qrows)}

Why not "run each question twice through the graph": llama-cpp-python keeps one sequence of evaluated
tokens, so in graph order (select, synthesize, next select, ...) every prompt follows another program's and a
second pass is as cold as the first. See benchmarks/README.md.
"""  # noqa: S608  (markdown that mentions "select", not SQL)
    write_results("embedded_model", result, md)
    for node, e in per_node.items():
        print(f"embedded_model: {node}: cold p50 {e['cold_client_s']['p50']:.2f}s (server "
              f"{e['cold_server_s']['p50']}s, hit {e['cold_prefix_hit_fraction']['p50']}), warm p50 "
              f"{e['warm_client_s']['p50']:.2f}s (server {e['warm_server_s']['p50']}s, hit "
              f"{e['warm_prefix_hit_fraction']['p50']}); warm/cold {e['warm_over_cold_client_p50']}")  # fmt: skip
    print(f"embedded_model: wall {wall:.0f}s")


if __name__ == "__main__":
    main()
