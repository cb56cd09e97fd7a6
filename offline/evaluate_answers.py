"""End-to-end answer accuracy: the whole graph on the answers split, critique loop off and on.

    evaluate --program answers --split test
    evaluate --program answers --split dev --limit 8 --variants loop-on   # a quick look, one variant

An answer is right when it contains the reference: a number within the row's relative
tolerance (commas and units ignored), the date, or one of the accepted texts. Each variant is a
first run: the LM cache is off for the whole evaluation, and the embedded model server (when this
project started it) is restarted before each variant so no variant reuses another's prompt cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from nodes.checks import is_raw
from offline import data
from runtime.names import tool_of_node

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def numbers_in(text: str) -> list[float]:
    out = []
    for match in _NUMBER.findall(text):
        try:
            out.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return out


def is_correct(row: dict[str, Any], answer: str) -> bool:
    if row["answer_type"] == "number":
        expected = float(str(row["answer"]).replace(",", ""))
        tol = float(row.get("tolerance") or 0.0)
        return any(math.isclose(x, expected, rel_tol=max(tol, 1e-9), abs_tol=1e-9) for x in numbers_in(answer))
    accepted = [row["answer"], *row.get("accept", [])]
    low = answer.lower()
    return any(str(a).lower() in low for a in accepted)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@contextmanager
def demo_api() -> Iterator[str]:
    """The demo REST API the `http_api` tool reads, on a free loopback port (no server needed)."""
    import socket

    import uvicorn

    from tools.demo_api import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def restart_local_model() -> str:
    """Restart the embedded model server if this project started it, warmed as `agent-up` warms it;
    say what was done."""
    from runtime.settings import get_settings
    from serving.local_model import serve, stop
    from serving.warm import warm_prompt_cache

    settings = get_settings()
    if not settings.uses_local_model:
        return "hosted model: not restarted"
    if not stop(settings):
        return "model server not started by this project: not restarted (its prompt cache may be warm)"
    serve(settings)
    warmed = warm_prompt_cache(settings)
    return ("embedded model server restarted, its prompt cache warmed as agent-up warms it (each role's fixed "
            f"prefix: {', '.join(f'{w.role} {w.prompt_tokens} tokens' for w in warmed) or 'none'})")


def node_seconds() -> dict[str, float]:
    """Total seconds recorded per node so far (the graph's own latency histogram)."""
    from runtime.metrics import NODE_LATENCY

    totals: dict[str, float] = {}
    for metric in NODE_LATENCY.collect():
        for s in metric.samples:
            if s.name.endswith("_sum"):
                node = s.labels["node"]
                key = "execute" if tool_of_node(node) is not None else node
                totals[key] = totals.get(key, 0.0) + s.value
    return totals


def run_variant(graph: Any, rows: list[dict[str, Any]], critique: bool, model: str | None) -> list[dict[str, Any]]:
    from agent_types.context import Context
    from agent_types.state import InputState

    name = "critique loop on" if critique else "critique loop off"
    outcomes: list[dict[str, Any]] = []
    for i, row in enumerate(rows, 1):
        ctx = Context(critique=critique, selector_model=model, synthesizer_model=model, critic_model=model,
                      refiner_model=model)  # fmt: skip
        before = node_seconds()
        started = time.perf_counter()
        try:
            payload: InputState = {"messages": [HumanMessage(row["question"])]}
            out = graph.invoke(payload, context=ctx)
            answer, error = str(out.get("answer", "")), None
            lm_calls = sum(u.get("lm_calls", 0) for u in out.get("usage", []))
            trail = {"verdict": out.get("verdict"), "critique_by": out.get("critique_by"),
                     "refinements": out.get("refinements", 0), "refine_kept": out.get("refine_kept"),
                     "rounds": out.get("rounds", 0),
                     "calls": [f"{r['name']}({json.dumps(r['args'], sort_keys=True)})"
                               + (f" -> ERROR: {str(r['error'])[:80]}" if r.get("error") else "")
                               for r in out.get("tool_results", [])]}  # fmt: skip
        except Exception as exc:  # scored wrong and reported
            answer, error, lm_calls, trail = "", f"{type(exc).__name__}: {exc}"[:300], 0, {}
        seconds = time.perf_counter() - started
        after = node_seconds()
        per_node = {k: round(v - before.get(k, 0.0), 3) for k, v in after.items() if v - before.get(k, 0.0) > 0}
        outcomes.append({"id": row["id"], "correct": is_correct(row, answer), "answer": answer[:500],
                         "raw": is_raw(answer), "question": row["question"],
                         "expected": row["answer"], "seconds": round(seconds, 2), "lm_calls": lm_calls,
                         "node_seconds": per_node, "error": error, **trail})  # fmt: skip
        if i % 5 == 0 or i == len(rows):
            acc = sum(o["correct"] for o in outcomes) / i
            p50 = statistics.median(o["seconds"] for o in outcomes)
            print(f"  [{name}] {i}/{len(rows)} accuracy={acc:.3f} p50={p50:.1f}s", file=sys.stderr, flush=True)
    return outcomes


def summarize(name: str, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(outcomes)
    seconds = [o["seconds"] for o in outcomes]
    nodes = sorted({k for o in outcomes for k in o["node_seconds"]})
    return {
        "variant": name, "n": n,
        "accuracy": round(sum(o["correct"] for o in outcomes) / n, 3),
        "lm_calls_per_question": round(sum(o["lm_calls"] for o in outcomes) / n, 2),
        "latency_p50_s": round(statistics.median(seconds), 2),
        "latency_p95_s": round(percentile(seconds, 0.95), 2),
        "latency_max_s": round(max(seconds), 2),
        "node_seconds_per_question": {k: round(sum(o["node_seconds"].get(k, 0.0) for o in outcomes) / n, 2)
                                      for k in nodes},
        "errors": sum(o["error"] is not None for o in outcomes),
        # answers that are a tool's raw error or a check's instruction (nodes/checks.is_raw)
        "raw_answers": sum(bool(o.get("raw")) for o in outcomes),
        "mean_rounds": round(sum(o.get("rounds", 0) for o in outcomes) / n, 2),
    }  # fmt: skip


def report(command: str, split: str, summary: list[dict[str, Any]], changes: dict[str, Any],
           notes: list[str]) -> str:  # fmt: skip
    lines = [f"Command: `{command}`", "",
             "| variant | accuracy | LM calls / question | tool rounds / question | p50 s | p95 s | max s | errors "
             "| raw error or instruction as answer |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in summary:
        lines.append(f"| {s['variant']} | {s['accuracy']} | {s['lm_calls_per_question']} | {s['mean_rounds']} | "
                     f"{s['latency_p50_s']} | {s['latency_p95_s']} | {s['latency_max_s']} | {s['errors']} | "
                     f"{s['raw_answers']} |")  # fmt: skip
    nodes = sorted({k for s in summary for k in s["node_seconds_per_question"]})
    lines += ["", "Seconds per question spent in each node (mean):", "",
              "| variant | " + " | ".join(nodes) + " |", "|---|" + "---|" * len(nodes)]  # fmt: skip
    for s in summary:
        lines.append(f"| {s['variant']} | " + " | ".join(str(s["node_seconds_per_question"].get(k, 0))
                                                        for k in nodes) + " |")  # fmt: skip
    fixed, broken = changes["fixed"], changes["broken"]
    lines += ["", f"What the loop changed: {len(fixed)} answers wrong → right ({', '.join(fixed) or 'none'}), "
              f"{len(broken)} right → wrong ({', '.join(broken) or 'none'})."]  # fmt: skip
    examples = changes.get("examples", [])
    if examples:
        lines += ["", "| id | question | expected | loop off | loop on |", "|---|---|---|---|---|"]
        lines += [f"| {e['id']} | {cell(e['question'])} | {e['expected']} | {cell(e['off'])} | {cell(e['on'])} |"
                  for e in examples]  # fmt: skip
    lines += ["",
              f"n = {summary[0]['n']} questions from the {split} split; LM cache off; {'; '.join(notes)}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def cell(text: str, limit: int = 140) -> str:
    """`text` for a Markdown table cell: one line, no pipes, cut to `limit` characters."""
    flat = " ".join(str(text).split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def evaluate_answers(args: argparse.Namespace, command: str) -> list[dict[str, Any]]:
    from langgraph.cache.memory import InMemoryCache

    from runtime.settings import get_settings

    rows = data.answer_rows(args.split)[: args.limit or None]
    records: dict[str, list[dict[str, Any]]] = {}
    notes: list[str] = []
    with demo_api() as api_url:
        # Both settings are read per call, so set them before anything builds the graph.
        os.environ["HTTP_TOOL_BASE_URL"] = api_url
        os.environ["DSPY_CACHE"] = "false"
        get_settings.cache_clear()
        from graphs.agent import build_graph

        # --variants loop-off / loop-on runs one of them (a quick look); both by default.
        wanted = [v for v in (args.variants or []) if v in ("loop-off", "loop-on")] or ["loop-off", "loop-on"]
        for critique in [v == "loop-on" for v in ("loop-off", "loop-on") if v in wanted]:
            name = "critique loop on" if critique else "critique loop off"
            notes.append(f"{name}: {restart_local_model()}")
            # A fresh graph and tool cache per variant: no variant reads another's tool results.
            graph = build_graph(cache=InMemoryCache())
            records[name] = run_variant(graph, rows, critique, args.model)
    off, on = records.get("critique loop off", []), records.get("critique loop on", [])
    pairs = list(zip(off, on, strict=True)) if off and on else []
    changes: dict[str, Any] = {
        "fixed": [a["id"] for a, b in pairs if not a["correct"] and b["correct"]],
        "broken": [a["id"] for a, b in pairs if a["correct"] and not b["correct"]],
        "examples": [{"id": a["id"], "question": a["question"], "expected": a["expected"], "off": a["answer"],
                      "on": b["answer"]} for a, b in pairs if not a["correct"] and b["correct"]],
    }  # fmt: skip
    summary = [summarize(name, outcomes) for name, outcomes in records.items()]
    text = report(command, args.split, summary, changes, notes)
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    from offline.evaluate import fresh_stem

    stem = fresh_stem(out, f"answers-{args.split}", args.replace)
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(
        {"command": command, "summary": summary, "changes": changes, "notes": notes, "outcomes": records},
        indent=1) + "\n")  # fmt: skip
    print(text)
    return summary
