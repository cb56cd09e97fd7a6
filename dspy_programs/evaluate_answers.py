"""End-to-end answer accuracy: the whole graph on the answers split, critique loop on and off.

An answer is right when it contains the reference: a number within the row's relative
tolerance (commas and units ignored), the date, or one of the accepted texts.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from dspy_programs import data

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


def evaluate_answers(args: argparse.Namespace, command: str) -> list[dict[str, Any]]:
    from langgraph.cache.memory import InMemoryCache

    from graphs.agent import build_graph
    from graphs.context import Context
    from graphs.state import InputState

    rows = data.answer_rows(args.split)[: args.limit or None]
    graph = build_graph(cache=InMemoryCache())
    summary = []
    records: dict[str, list[dict[str, Any]]] = {}
    for critique in (False, True):
        name = "critique loop on" if critique else "critique loop off"
        outcomes = []
        for i, row in enumerate(rows, 1):
            started = time.perf_counter()
            ctx = Context(critique=critique, selector_model=args.model, synthesizer_model=args.model,
                          critic_model=args.model, refiner_model=args.model)  # fmt: skip
            try:
                payload: InputState = {"messages": [HumanMessage(row["question"])]}
                out = graph.invoke(payload, context=ctx)
                answer, error = str(out.get("answer", "")), None
                lm_calls = sum(u.get("lm_calls", 0) for u in out.get("usage", []))
            except Exception as exc:  # scored wrong and reported
                answer, error, lm_calls = "", f"{type(exc).__name__}: {exc}"[:300], 0
            outcomes.append({"id": row["id"], "correct": is_correct(row, answer), "answer": answer[:500],
                             "expected": row["answer"], "seconds": round(time.perf_counter() - started, 2),
                             "lm_calls": lm_calls, "error": error})  # fmt: skip
            if i % 5 == 0 or i == len(rows):
                acc = sum(o["correct"] for o in outcomes) / i
                print(f"  [{name}] {i}/{len(rows)} accuracy={acc:.3f}", file=sys.stderr, flush=True)
        records[name] = outcomes
        summary.append({
            "variant": name, "n": len(outcomes),
            "accuracy": round(sum(o["correct"] for o in outcomes) / len(outcomes), 3),
            "lm_calls_per_question": round(sum(o["lm_calls"] for o in outcomes) / len(outcomes), 2),
            "latency_p50_s": round(statistics.median(o["seconds"] for o in outcomes), 2),
            "latency_max_s": round(max(o["seconds"] for o in outcomes), 2),
            "errors": sum(o["error"] is not None for o in outcomes),
        })  # fmt: skip
    lines = [f"Command: `{command}`", "", "| variant | accuracy | LM calls / question | p50 s | max s | errors |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for s in summary:
        lines.append(f"| {s['variant']} | {s['accuracy']} | {s['lm_calls_per_question']} | {s['latency_p50_s']} | "
                     f"{s['latency_max_s']} | {s['errors']} |")  # fmt: skip
    text = "\n".join(lines) + f"\n\nn = {len(rows)} questions from the {args.split} split.\n"
    stem = f"answers-{args.split}"
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps({"command": command, "summary": summary,
                                                           "outcomes": records}, indent=1) + "\n")  # fmt: skip
    print(text)
    return summary
