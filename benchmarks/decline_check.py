"""A second, focused signal after the selector: "should this tool be called?", or "can you answer it yourself?".

    .venv/bin/python -m benchmarks.decline_check [--signal verifier|confidence] [--results FILE] [--variant SUBSTRING]

The selector's wrong calls on questions that need no tool (general knowledge beside a knowledge
base search, a tool on the subject that does something else) are its remaining misses. This asks
whether the embedded model can tell them apart when asked only that, one tool at a time: for every
dev question where the selector (its recorded, deterministic replies in an `evaluate` results
file) called exactly one tool, the model is asked whether that tool should be called, zero-shot
and with 16 worked examples from the train split (8 yes, 8 no; the tempting tool of each "no"
chosen by hand). P(yes) is read from the first token's log-probabilities. Reported for each: how
well P(yes) separates the two kinds (AUC), and the selector's dev figures if every call with
P(yes) below a threshold became "no tool".

`--signal confidence` asks another thing, which does not depend on the tool: the model answers
the message itself, with no tools offered, in one short sentence (greedy, at most 24 tokens), and
its confidence is the geometric mean probability of the tokens it wrote. A general fact it knows
("What is the chemical symbol for gold?") should come out confident; a question about Northwind's
own data, which it can only guess, should not. Every reply with a call is checked (the signal
names no tool), zero-shot; the score is 1 - confidence, so the same rule applies (below the
threshold: no tool). Each token's log-probability is kept in the results, for other summaries.

Needs the model server (`model serve`); first run, no LM cache (plain HTTP to llama-server).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import ROOT, md_table, pct, write_results
from offline.data import read_jsonl, toolset_specs
from offline.metrics import no_tool_precision_recall, tool_set_exact
from runtime.settings import get_settings

DEFAULT_RESULTS = ROOT / "benchmarks/results/selector-dev-retry-triage-qwen2.5-coder-1.5b.json"
SYSTEM = (
    "Decide if an assistant should call the given tool for the user's message. Answer no when the message is "
    "small talk, asks for writing, or asks a general fact any encyclopedia or textbook answers; answer no when "
    "the tool, by its description, does something other than what is asked. Otherwise answer yes."
)
# (train row, tool, answer): a "no" pairs a no-call row with the offered tool that tempts most.
DEMOS = [
    ("ts-0253", "search_knowledge", "no"), ("ts-0108", "search_knowledge", "yes"),
    ("ts-0408", "restart_service", "no"), ("ts-0393", "restart_service", "yes"),
    ("ts-0272", "search_knowledge", "no"), ("ts-0140", "http_api", "yes"),
    ("ts-0439", "transfer_funds", "no"), ("ts-0367", "get_weather_forecast", "yes"),
    ("ts-0303", "search_knowledge", "no"), ("ts-0432", "list_transactions", "yes"),
    ("ts-0473", "log_activity", "no"), ("ts-0434", "calculator", "yes"),
    ("ts-0244", "search_knowledge", "no"), ("ts-0068", "date_calculator", "yes"),
    ("ts-0404", "create_calendar_event", "no"), ("ts-0147", "http_api", "yes"),
]  # fmt: skip
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
ANSWER_SYSTEM = "Answer the user's message directly, in one short sentence, from your own knowledge."
ANSWER_TOKENS = 24
CONFIDENCE_THRESHOLDS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def ask_text(row: dict[str, Any], tool: str) -> str:
    spec = {s.name: s for s in toolset_specs(row["toolset"])}[tool]
    turns = "".join(f"{t['role']}: {t['content']}\n" for t in row["history"][-2:])
    before = f"Conversation so far:\n{turns}" if turns else ""
    asked = f"Message: {row['question']}\nTool: {spec.name}: {spec.description}"
    return f"{before}{asked}\nCall this tool? Answer yes or no."


def demo_messages(rows: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    messages = []
    for rid, tool, answer in DEMOS:
        if rows[rid]["split"] != "train":  # the dev split is what is measured
            raise ValueError(f"demo {rid} is not a train row")
        messages += [{"role": "user", "content": ask_text(rows[rid], tool)}, {"role": "assistant", "content": answer}]
    return messages


def p_yes(client: httpx.Client, url: str, messages: list[dict[str, str]]) -> float:
    reply = client.post(url, json={"messages": messages, "max_tokens": 1, "temperature": 0, "logprobs": True,
                                   "top_logprobs": 10, "cache_prompt": True})  # fmt: skip
    reply.raise_for_status()
    top = reply.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    probs = {t["token"].strip().lower(): math.exp(t["logprob"]) for t in top}
    yes, no = probs.get("yes", 0.0), probs.get("no", 0.0)
    return yes / (yes + no) if yes + no else float("nan")


def answer_logprobs(client: httpx.Client, url: str, row: dict[str, Any]) -> list[float]:
    """The log-probability of each token of the model's own short answer to the row's message."""
    turns = [{"role": t["role"], "content": t["content"]} for t in row["history"]]
    messages = [{"role": "system", "content": ANSWER_SYSTEM}, *turns, {"role": "user", "content": row["question"]}]
    reply = client.post(url, json={"messages": messages, "max_tokens": ANSWER_TOKENS, "temperature": 0,
                                   "logprobs": True, "cache_prompt": True})  # fmt: skip
    reply.raise_for_status()
    return [float(t["logprob"]) for t in reply.json()["choices"][0]["logprobs"]["content"]]


def need_score(logprobs: list[float]) -> float:
    """1 - the geometric mean token probability: low when the model is sure of its own answer."""
    return 1.0 - math.exp(sum(logprobs) / len(logprobs)) if logprobs else 1.0


def scores(outcomes: list[dict[str, Any]], checked: dict[str, float], threshold: float) -> dict[str, Any]:
    """The selector's figures if each checked call with P(yes) below the threshold became "no tool"
    (scored as `evaluate` scores them: offline/metrics.py)."""
    dropped = {rid for rid, p in checked.items() if p < threshold}
    pairs = [(o["expected"], [] if o["id"] in dropped else o["predicted"]) for o in outcomes]
    precision, recall = no_tool_precision_recall(pairs)
    exact = round(sum(tool_set_exact(expected, got) for expected, got in pairs) / len(pairs), 3)
    return {"threshold": threshold, "exact_tool_set": exact, "no_tool_precision": precision, "no_tool_recall": recall}


def auc(outcomes: list[dict[str, Any]], checked: dict[str, float]) -> float:
    """P(a no-call question's P(yes) < a tool question's), over the checked calls (0.5 = no separation)."""
    none = [checked[o["id"]] for o in outcomes if o["id"] in checked and not o["expected"]]
    tool = [checked[o["id"]] for o in outcomes if o["id"] in checked and o["expected"]]
    pairs = [(a < b) + 0.5 * (a == b) for a in none for b in tool]
    return round(sum(pairs) / len(pairs), 3) if pairs else float("nan")


def measured(label: str, checked_rows: list[dict[str, Any]], outcomes: list[dict[str, Any]],
             ask: Callable[[dict[str, Any]], float], thresholds: tuple[float, ...]) -> dict[str, Any]:  # fmt: skip
    """`ask` for each checked reply, timed, and what each threshold on its score would make of the selector."""
    checked: dict[str, float] = {}
    seconds: list[float] = []
    for i, o in enumerate(checked_rows, 1):
        start = time.perf_counter()
        checked[o["id"]] = ask(o)
        seconds.append(time.perf_counter() - start)
        print(f"[{label}] {i}/{len(checked_rows)} {o['id']} score={checked[o['id']]:.3f}", flush=True)
    return {"checked": checked, "auc": auc(outcomes, checked), "p50_s": round(pct(seconds, 50), 3),
            "table": [scores(outcomes, checked, t) for t in thresholds]}  # fmt: skip


def verifier_runs(client: httpx.Client, url: str, rows: dict[str, dict[str, Any]], outcomes: list[dict[str, Any]],
                  checked_rows: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """P(yes) for each one-tool reply's tool, zero-shot and with the train examples."""
    prefixes = {"zero-shot": [{"role": "system", "content": SYSTEM}],
                "16 train examples": [{"role": "system", "content": SYSTEM}, *demo_messages(rows)]}  # fmt: skip
    runs: dict[str, Any] = {}
    for label, prefix in prefixes.items():

        def ask(o: dict[str, Any], prefix: list[dict[str, str]] = prefix) -> float:
            asked = {"role": "user", "content": ask_text(rows[o["id"]], o["predicted"][0]["name"])}
            return p_yes(client, url, [*prefix, asked])

        runs[label] = measured(label, checked_rows, outcomes, ask, THRESHOLDS)
    return runs


def confidence_runs(client: httpx.Client, url: str, rows: dict[str, dict[str, Any]], outcomes: list[dict[str, Any]],
                    checked_rows: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """1 - the model's confidence in its own short answer, for each reply with a call."""
    logprobs: dict[str, list[float]] = {}

    def ask(o: dict[str, Any]) -> float:
        logprobs[o["id"]] = answer_logprobs(client, url, rows[o["id"]])
        return need_score(logprobs[o["id"]])

    run = measured("confidence", checked_rows, outcomes, ask, CONFIDENCE_THRESHOLDS)
    return {"zero-shot": {**run, "logprobs": logprobs}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="an `evaluate` results JSON (dev)")
    parser.add_argument("--variant", default="labeled-k12d", help="which of its variants' replies to check")
    parser.add_argument("--signal", choices=["verifier", "confidence"], default="verifier",
                        help="yes/no per called tool, or confidence in its own answer (no tools)")  # fmt: skip
    args = parser.parse_args(argv)
    recorded = json.loads(args.results.read_text())
    names = [k for k in recorded["outcomes"] if args.variant in k]
    if len(names) != 1:
        raise SystemExit(f"--variant {args.variant!r} matches {len(names)} variants in {args.results}")
    outcomes = recorded["outcomes"][names[0]]
    # With no threshold, the scoring here must give the evaluation's own figures for these replies.
    summary = next(row for row in recorded["summary"] if row["variant"] == names[0])
    alone = scores(outcomes, {}, 0.0)
    if any(alone[k] != summary[k] for k in ("exact_tool_set", "no_tool_precision", "no_tool_recall")):
        raise SystemExit(f"scoring differs from {args.results}: {alone} against its summary")
    rows = {r["id"]: r for r in read_jsonl("tool_selection.jsonl")}
    url = get_settings().local_base_url() + "/chat/completions"
    with httpx.Client(timeout=180) as client:
        if args.signal == "verifier":
            checked_rows = [o for o in outcomes if len({c["name"] for c in o["predicted"]}) == 1]
            runs = verifier_runs(client, url, rows, outcomes, checked_rows)
            what, column = "with exactly one tool called", "P(yes) below → no tool"
        else:
            checked_rows = [o for o in outcomes if o["predicted"]]
            runs = confidence_runs(client, url, rows, outcomes, checked_rows)
            what, column = "with a call", "1 - confidence below → no tool"
    parts = [f"Signal: {args.signal}. Selector replies checked: `{names[0]}` from `{args.results.relative_to(ROOT)}` "
             f"({len(outcomes)} dev questions; {len(checked_rows)} {what}).\n"]  # fmt: skip
    for label, run in runs.items():
        parts.append(f"### {label}: AUC {run['auc']} (0.5 = no separation), p50 {run['p50_s']} s per check\n")
        parts.append(md_table([column, "exact tool set", "no-tool precision", "no-tool recall"],
                              [(r["threshold"], r["exact_tool_set"], r["no_tool_precision"], r["no_tool_recall"])
                               for r in run["table"]]) + "\n")  # fmt: skip
    name = "decline-check" if args.signal == "verifier" else "decline-check-confidence"
    write_results(name, {"source": str(args.results.relative_to(ROOT)), "variant": names[0], "signal": args.signal,
                         "runs": runs}, "\n".join(parts))  # fmt: skip
    print("\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
