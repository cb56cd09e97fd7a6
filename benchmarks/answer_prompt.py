"""The synthesizer's request through DSPy's ChatAdapter and through AnswerAdapter, paired, on the configured model.

    .venv/bin/python -m benchmarks.answer_prompt [--split dev] [--limit N]

For each critique row of the split (a question and the tool results it was answered from), the
synthesizer the graph runs writes the answer twice: through DSPy's ChatAdapter (its output reminder
ends the request) and through AnswerAdapter (dspy_programs/answer_adapter.py: the same reminder
ends the system message), the order alternating from row to row. LM cache off. Each adapter's
first request (its system message and worked examples, cold on the model server) is made once
before the timed rows and not counted. Per request: seconds, the prompt tokens the server had to
evaluate (prompt minus cached), completion tokens, and whether both answers are the same text.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import dspy

from benchmarks._common import md_table, ratio, write_results
from dspy_programs.answer_adapter import AnswerAdapter
from offline import data

ADAPTERS: dict[str, dspy.Adapter] = {"ChatAdapter": dspy.ChatAdapter(), "AnswerAdapter": AnswerAdapter()}


def ask(program: dspy.Module, lm: dspy.LM, adapter: dspy.Adapter, row: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    with dspy.context(lm=lm, adapter=adapter):
        # The Predict inside the synthesizer: the module itself would pick its own adapter.
        pred = program.answer(question=row["question"], tool_results=row["tool_results"], conversation="")
    seconds = time.perf_counter() - started
    usage = lm.history[-1].get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return {"seconds": seconds, "new_prompt_tokens": int(usage.get("prompt_tokens", 0)) - int(cached),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "answer": str(pred.answer).strip()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["train", "dev"], help="critique rows (default dev)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N rows (0: all)")
    args = parser.parse_args()
    os.environ["DSPY_CACHE"] = "false"  # read when the LM is built, below
    from dspy_programs.store import load_program
    from runtime.bootstrap import configure
    from runtime.models import dspy_lm, endpoint

    configure()
    ep = endpoint("synthesizer")
    program, how = load_program("synthesizer", ep.slug)
    lm = dspy_lm("synthesizer")
    rows = [r for r in data.read_jsonl("critique.jsonl") if r.get("split") == args.split]
    rows = rows[: args.limit or None]
    for adapter in ADAPTERS.values():  # each adapter's cold prefix, not counted
        ask(program, lm, adapter, rows[0])
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in ADAPTERS}
    for i, row in enumerate(rows):
        order = list(ADAPTERS) if i % 2 == 0 else list(reversed(ADAPTERS))
        for name in order:
            results[name].append(ask(program, lm, ADAPTERS[name], row))
        print(f"[answer_prompt] {i + 1}/{len(rows)}", flush=True)
    summary = {name: {"mean_s": round(statistics.fmean(r["seconds"] for r in rs), 3),
                      "median_s": round(statistics.median(r["seconds"] for r in rs), 3),
                      "mean_new_prompt_tokens": round(statistics.fmean(r["new_prompt_tokens"] for r in rs), 1),
                      "mean_completion_tokens": round(statistics.fmean(r["completion_tokens"] for r in rs), 1)}
               for name, rs in results.items()}  # fmt: skip
    pairs = zip(results["ChatAdapter"], results["AnswerAdapter"], strict=True)
    same = sum(a["answer"] == b["answer"] for a, b in pairs)
    base, new = summary["ChatAdapter"], summary["AnswerAdapter"]
    table = md_table(["adapter", "mean s", "median s", "new prompt tokens", "completion tokens"],
                     [[name, s["mean_s"], s["median_s"], s["mean_new_prompt_tokens"], s["mean_completion_tokens"]]
                      for name, s in summary.items()])  # fmt: skip
    text = (f"Synthesizer: {how} for {ep.model}; {len(rows)} critique rows of the {args.split} split, each answered "
            "through both adapters (alternating order), LM cache off, each adapter's cold first request "
            f"not counted.\n\n"
            f"{table}\n\nAnswerAdapter / ChatAdapter: mean time **{ratio(new['mean_s'], base['mean_s'], 3)}**, "
            f"new prompt tokens {ratio(new['mean_new_prompt_tokens'], base['mean_new_prompt_tokens'], 3)}; "
            f"the same answer text on {same} of {len(rows)} rows.\n")  # fmt: skip
    write_results("answer-prompt", {"program": how, "model": ep.model, "split": args.split, "summary": summary,
                                    "same_answers": same, "rows": len(rows), "per_row": results}, text)  # fmt: skip
    print(text)


if __name__ == "__main__":
    main()
