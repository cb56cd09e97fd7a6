"""Time to first answer token through `langgraph dev`, as a chat client sees it.

    flock /tmp/real-model.lock env PYTHONPATH=$PWD LM_TIMEOUT_S=180 DSPY_CACHE=false \
        .venv/bin/python -m benchmarks.ttft [--limit 64] [--critique]

Starts a fresh `langgraph dev` (testkit.server.langgraph_dev) on the configured model (the
embedded one by default, 127.0.0.1:8080: run it alone, under the shared lock), and asks the
answers test split's questions one at a time, each on a new thread, through langgraph_sdk in
stream mode `messages-tuple` (what Studio's chat view and `useStream` clients read). Per
question it records, from the moment the run is requested:
- tool calls: the select node's AI message with `tool_calls` (when it calls a tool);
- first token: the first non-empty answer chunk from the synthesize node;
- total: the end of the run.
The first question is reported apart (the dev server loads the programs then; the model server's
prompt cache is as the run finds it: `agent-up` warms it when it starts the server, serving/warm.py;
`model stop` then `agent-up --model-only` before the run gives that state); p50/p95 are over the
others. Needs DSPY_CACHE=false so every question reaches the model; the critique loop is off
unless --critique (it runs after the first token and does not change it, only the model time spent).

    .venv/bin/python -m benchmarks.ttft --summarize benchmarks/results/ttft.json

prints a results file's summary again from its rows, with the first token split by whether the
question called a tool (and timed from the tool-call message when it did); it runs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import md_table, pct, write_results
from offline.data import answer_rows
from runtime.settings import get_settings
from testkit.server import langgraph_dev


async def one(url: str, question: str, critique: bool) -> dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    thread = await client.threads.create()
    marks: dict[str, float] = {}
    chunks = 0
    error = None
    payload: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    async for part in client.runs.stream(
        thread["thread_id"], "agent", input=payload,
        context={"critique": critique}, stream_mode="messages-tuple",
    ):  # fmt: skip
        now = time.perf_counter() - started
        if part.event == "error":
            error = str(part.data)[:300]
        if part.event != "messages" or not isinstance(part.data, list | tuple) or len(part.data) != 2:
            continue
        message, meta = part.data
        if message.get("tool_calls") and meta.get("langgraph_node") == "select":
            marks.setdefault("tool_calls_s", now)
        is_chunk = "chunk" in str(message.get("type", "")).lower()
        if is_chunk and message.get("content") and meta.get("langgraph_node") == "synthesize":
            marks.setdefault("first_token_s", now)
            chunks += 1
    total = time.perf_counter() - started
    return {"question": question, **{k: round(v, 3) for k, v in marks.items()}, "total_s": round(total, 3),
            "chunks": chunks, "error": error}  # fmt: skip


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_s": round(pct(values, 50), 3), "p95_s": round(pct(values, 95), 3),
            "max_s": round(max(values), 3) if values else float("nan")}  # fmt: skip


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The cold first question, and percentiles over the others (warm), from the per-question rows."""
    cold, warm = rows[0], rows[1:]
    called = [r for r in warm if "tool_calls_s" in r and "first_token_s" in r]
    return {
        "cold_first_question": cold,
        "warm": {
            "first_token": stats([r["first_token_s"] for r in warm if "first_token_s" in r]),
            "tool_calls": stats([r["tool_calls_s"] for r in called]),
            # From the select node's tool calls to the answer's first chunk: the tools and the synthesizer's prompt.
            "first_token_after_tool_calls": stats([r["first_token_s"] - r["tool_calls_s"] for r in called]),
            "first_token_without_tool_calls": stats([r["first_token_s"] for r in warm
                                                     if "tool_calls_s" not in r and "first_token_s" in r]),
            "total": stats([r["total_s"] for r in warm]),
        },
        "errors": sum(1 for r in rows if r["error"]),
        "without_first_token": sum(1 for r in rows if "first_token_s" not in r),
    }  # fmt: skip


def summary_markdown(data: dict[str, Any]) -> str:
    cold, warm = data["cold_first_question"], data["warm"]
    names = {"first_token": "first answer token", "tool_calls": "tool-call message (questions with a tool call)",
             "first_token_after_tool_calls": "first answer token minus tool-call message",
             "first_token_without_tool_calls": "first answer token (questions without a tool call)",
             "total": "whole run"}  # fmt: skip
    table = md_table(["measure (seconds from the run request)", "n", "p50", "p95", "max"],
                     [[names[k], s["n"], s["p50_s"], s["p95_s"], s["max_s"]] for k, s in warm.items()])  # fmt: skip
    return (
        f"First question (the dev server loads the programs; the model server's prompt cache as the run found "
        f"it, warmed at start when `agent-up` started the server): first token "
        f"{cold.get('first_token_s', 'none')} s, whole run {cold['total_s']} s.\n\n"
        f"Warm (the other {warm['total']['n']} questions):\n\n{table}\n\n"
        f"Errors: {data['errors']}; runs without an answer token: {data['without_first_token']}.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.ttft", description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N test questions")
    parser.add_argument("--critique", action="store_true", help="run the critique loop too (more model time)")
    parser.add_argument("--summarize", metavar="JSON", help="print the summary of a results file's rows; run nothing")
    args = parser.parse_args(argv)
    if args.summarize:
        print(summary_markdown(summary(json.loads(Path(args.summarize).read_text())["rows"])))
        return 0
    if os.environ.get("DSPY_CACHE", "").lower() not in ("false", "0"):
        print("benchmarks.ttft: set DSPY_CACHE=false (a cached answer is no first token)", file=sys.stderr)
        return 2
    settings = get_settings()
    questions = [r["question"] for r in answer_rows("test")][: args.limit]
    # A fresh in-process tool cache (no Redis), so no run is answered by an earlier one's tools.
    env = {"DSPY_CACHE": "false", "REDIS_URL": ""}
    rows: list[dict[str, Any]] = []
    wall = time.perf_counter()
    with langgraph_dev(env=env) as url:
        for i, q in enumerate(questions):
            row = asyncio.run(one(url, q, args.critique))
            rows.append(row)
            failed = f" ERROR {row['error']}" if row["error"] else ""
            print(f"[{i + 1}/{len(questions)}] first token {row.get('first_token_s', 'none')} s, "
                  f"total {row['total_s']} s{failed}", file=sys.stderr)  # fmt: skip
    wall_s = round(time.perf_counter() - wall, 1)
    model = settings.llm_model or "embedded (llama-server)"
    data = {
        "model": model, "base_url": settings.llm_base_url or settings.local_base_url(),
        "questions": len(rows), "critique": args.critique, "wall_s": wall_s,
        **summary(rows),
        "rows": rows,
    }  # fmt: skip
    markdown = (
        f"Time to first answer token through `langgraph dev`, stream mode `messages-tuple`, model {model}, "
        f"answers test split ({len(rows)} questions, one at a time, each on a new thread), LM cache off "
        f"(DSPY_CACHE=false), critique loop {'on' if args.critique else 'off'}; wall {wall_s} s.\n\n"
        f"{summary_markdown(data)}\n"
        "Each time includes the dev server's in-memory run queue, which polls for new runs every 0.5 s "
        "(benchmarks/README.md, server), and everything else sharing the machine's 2 cores.\n"
    )
    json_path, md_path = write_results("ttft", data, markdown)
    print(f"wrote {md_path} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
