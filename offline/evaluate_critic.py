"""Verdict accuracy on the critique split: the critic model alone vs checks first, then the critic.

    evaluate --program critic --split test

Each row's tool results are parsed back from their `name({args}) -> output` lines into the
results the checks read (nodes/checks.py). "checks, then critic" is what the graph does: a call
whose arguments do not match the question goes back to select (`need_more_info`), as does a
draft on passages that states a figure no tool produced (the missing step); another failed
check is a `refine`; all with no model call. A draft the checks pass is accepted, unless some
result is free text, which the critic model judges. Every compiled critic variant is measured
the same way, so the active critic is chosen on evidence.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dspy

from agent_types.state import ToolResult
from dspy_programs.programs import Critic
from nodes.checks import call_problem, missing_step, verify
from offline import data
from runtime.models import dspy_lm, endpoint
from runtime.usage import UsageMeter

_LINE = re.compile(r"^(?P<name>[\w.-]+)\((?P<args>\{.*?\})\) -> (?P<out>.*)$")


def parse_results(text: str) -> list[ToolResult]:
    """Tool results from the `name({args}) -> output` lines the graph's prompts use."""
    results: list[ToolResult] = []
    for i, line in enumerate(text.splitlines()):
        match = _LINE.match(line.strip())
        if not match:
            continue
        out = match.group("out")
        error = out.removeprefix("ERROR: ") if out.startswith("ERROR: ") else None
        results.append(ToolResult(call_id=str(i), name=match.group("name"), args=json.loads(match.group("args")),
                                  output=None if error else out, error=error, seconds=0.0))  # fmt: skip
    # A failure followed by a call of the same tool that worked is one the graph retried.
    return [{**r, "retried": True} if r.get("error") and any(later["name"] == r["name"] and not later.get("error")
                                                              for later in results[i + 1 :]) else r
            for i, r in enumerate(results)]  # fmt: skip


Judge = Callable[[dspy.Example], tuple[str, int]]  # -> verdict, LM calls


def mismatched(result: ToolResult, results: list[ToolResult], question: str) -> bool:
    """Whether the graph's call check would send this call back to select (nodes/critique.py)."""
    others = "\n".join(r.get("output") or "" for r in results if r["call_id"] != result["call_id"])
    return not result.get("error") and call_problem(result, question, f"{question}\n{others}") is not None


def critic_judge(program: dspy.Module, lm: dspy.LM, checks_first: bool) -> Judge:
    def judge(ex: dspy.Example) -> tuple[str, int]:
        if checks_first:
            results = parse_results(ex.tool_results)
            if any(mismatched(r, results, ex.question) for r in results):
                return "need_more_info", 0
            checked = verify(results, ex.draft, asked=ex.question)
            if checked.failed:
                return ("need_more_info" if missing_step(results, checked) else "refine"), 0
            if not checked.free_text:
                return "accept", 0
        meter = UsageMeter("critique")
        with dspy.context(lm=lm, callbacks=[meter]):
            pred = program(question=ex.question, tool_results=ex.tool_results, draft=ex.draft)
        return str(pred.verdict), meter.calls

    return judge


def evaluate_critic(args: argparse.Namespace, command: str) -> list[dict[str, Any]]:
    examples = data.critique_examples(args.split)[: args.limit or None]
    lm = dspy_lm("critic", model=args.model)
    # --variants alone cot predict (any of them; default all): the critic model alone, checks then the
    # ChainOfThought critic, checks then the Predict critic.
    chosen = set(args.variants or ["alone", "cot", "predict"])  # the names are checked by evaluate's main
    judges: list[tuple[str, Judge]] = []
    if "alone" in chosen:
        cot = Critic(reasoning=True)
        judges.append(("critic model alone (ChainOfThought, zero-shot)", critic_judge(cot, lm, False)))
    if "cot" in chosen:
        cot = Critic(reasoning=True)
        judges.append(("checks, then critic model (ChainOfThought, zero-shot)", critic_judge(cot, lm, True)))
    if "predict" in chosen:
        predict = Critic(reasoning=False)
        judges.append(("checks, then critic model (Predict, zero-shot)", critic_judge(predict, lm, True)))
    slug = endpoint("critic", model=args.model).slug
    for path in sorted((Path(args.compiled_dir) / slug / "variants").glob("critic-*.json")):
        if path.name.endswith(".meta.json"):
            continue
        program = Critic(reasoning=True)  # the committed variants were compiled as ChainOfThought
        program.load(str(path))
        judges.append((f"checks, then compiled critic ({path.stem})", critic_judge(program, lm, checks_first=True)))
    summary = []
    for name, judge in judges:
        right = calls = 0
        started = time.perf_counter()
        for i, ex in enumerate(examples, 1):
            verdict, n = judge(ex)
            right += verdict == ex.verdict
            calls += n
            if i % 10 == 0 or i == len(examples):
                print(f"  [{name}] {i}/{len(examples)} accuracy={right / i:.3f}", file=sys.stderr, flush=True)
        summary.append({"variant": name, "n": len(examples), "verdict_accuracy": round(right / len(examples), 3),
                        "lm_calls_per_example": round(calls / len(examples), 2),
                        "seconds": round(time.perf_counter() - started, 1)})  # fmt: skip
    lines = [
        f"Command: `{command}`",
        "",
        "| variant | verdict accuracy | LM calls / example | wall s |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s['variant']} | {s['verdict_accuracy']} | {s['lm_calls_per_example']} | {s['seconds']} |"
              for s in summary]  # fmt: skip
    text = "\n".join(lines) + f"\n\nn = {len(examples)} rows of the critique {args.split} split.\n"
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    from offline.evaluate import fresh_stem

    stem = fresh_stem(out, f"critic-{args.split}", args.replace)
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps({"command": command, "summary": summary}, indent=1))
    print(text)
    return summary
