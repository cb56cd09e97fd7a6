"""`evaluate`: one table comparing zero-shot, every compiled variant and native tool calling.

    evaluate --program selector --split test
    evaluate --program answers --split test --limit 40

Writes markdown and JSON under benchmarks/results/ and, for the selector, a PNG plot.
DSPy's `Evaluate` gives one score per program; we need latency, LM calls and tokens per
example as well, so this runs its own (threaded) loop over the same metric functions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy

import runtime  # noqa: F401  (offline defaults before any library import)
from dspy_programs import data
from dspy_programs.metrics import args_exact, tool_set_exact
from dspy_programs.native_adapter import conversation_turns
from dspy_programs.native_baseline import native_select
from dspy_programs.programs import ToolSelector
from dspy_programs.store import COMPILED_DIR
from dspy_programs.tool_specs import ToolSpec
from nodes.usage import UsageMeter
from runtime.models import chat_model, dspy_lm, endpoint

RESULTS_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@dataclass
class Outcome:
    id: str
    category: str
    toolset: str
    expected: list[dict[str, Any]]
    predicted: list[dict[str, Any]]
    exact: bool
    args: bool
    seconds: float
    lm_calls: int
    tokens: int
    error: str | None = None


@dataclass
class Variant:
    name: str
    run: Callable[[dspy.Example], tuple[list[Any], int, int]]  # -> calls, lm calls, tokens
    outcomes: list[Outcome] = field(default_factory=list)


def dspy_variant(name: str, program: ToolSelector, lm: dspy.LM) -> Variant:
    def run(ex: dspy.Example) -> tuple[list[Any], int, int]:
        meter = UsageMeter(name)
        with dspy.context(lm=lm, callbacks=[meter], track_usage=True):
            pred = program(**ex.inputs())
        usage = meter.summary(pred)
        return pred.calls, meter.calls, usage["prompt_tokens"] + usage["completion_tokens"]

    return Variant(name, run)


def native_variant(model: str | None) -> Variant:
    llm = chat_model("selector", model=model, max_tokens=400)

    def run(ex: dspy.Example) -> tuple[list[Any], int, int]:
        specs = [ToolSpec.from_any(json.loads(line)) for line in ex.tools.splitlines()]
        calls, _ = native_select(llm, ex.question, specs, conversation_turns(ex.conversation))
        return calls, 1, 0

    return Variant("native tool calling (bind_tools)", run)


def compiled_variants(slug: str, lm: dspy.LM, root: Path = COMPILED_DIR) -> list[Variant]:
    variants = []
    for path in sorted((root / slug / "variants").glob("selector-*.json")):
        if path.name.endswith(".meta.json"):
            continue
        meta = json.loads(path.with_suffix(".meta.json").read_text())
        program = ToolSelector(adapter=meta.get("adapter", "native"))
        program.load(str(path))
        variants.append(dspy_variant(f"compiled: {meta['optimizer']} ({meta.get('adapter', 'chat')})", program, lm))
    return variants


def run_variant(variant: Variant, examples: list[dspy.Example], threads: int) -> None:
    def one(ex: dspy.Example) -> Outcome:
        started = time.perf_counter()
        error = None
        try:
            calls, lm_calls, tokens = variant.run(ex)
        except Exception as exc:  # a failed example scores zero and is reported, not fatal
            calls, lm_calls, tokens, error = [], 1, 0, f"{type(exc).__name__}: {exc}"[:300]
        predicted = [{"name": c.name, "args": c.args} for c in calls]
        return Outcome(
            id=ex.id, category=ex.category, toolset=ex.toolset, expected=ex.expected_calls, predicted=predicted,
            exact=tool_set_exact(ex.expected_calls, predicted), args=args_exact(ex.expected_calls, predicted),
            seconds=round(time.perf_counter() - started, 3), lm_calls=lm_calls, tokens=tokens, error=error,
        )  # fmt: skip

    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for outcome in pool.map(one, examples):
            variant.outcomes.append(outcome)
            done += 1
            if done % 10 == 0 or done == len(examples):
                acc = sum(o.exact for o in variant.outcomes) / done
                print(f"  [{variant.name}] {done}/{len(examples)} exact={acc:.3f}", file=sys.stderr, flush=True)


def summarize(variant: Variant) -> dict[str, Any]:
    outs = variant.outcomes
    n = len(outs)
    no_tool_pred = [o for o in outs if not o.predicted]
    no_tool_true = [o for o in outs if not o.expected]
    by_cat: dict[str, list[Outcome]] = {}
    for o in outs:
        by_cat.setdefault(o.category, []).append(o)
    return {
        "variant": variant.name,
        "n": n,
        "exact_tool_set": round(sum(o.exact for o in outs) / n, 3),
        "argument_accuracy": round(sum(o.args for o in outs) / n, 3),
        "no_tool_precision": round(sum(not o.expected for o in no_tool_pred) / len(no_tool_pred), 3)
        if no_tool_pred else None,
        "no_tool_recall": round(sum(not o.predicted for o in no_tool_true) / len(no_tool_true), 3)
        if no_tool_true else None,
        "lm_calls_per_example": round(sum(o.lm_calls for o in outs) / n, 2),
        "tokens_per_example": round(sum(o.tokens for o in outs) / n, 1),
        "latency_p50_s": round(statistics.median(o.seconds for o in outs), 2),
        "errors": sum(o.error is not None for o in outs),
        "exact_by_category": {c: round(sum(o.exact for o in v) / len(v), 3) for c, v in sorted(by_cat.items())},
    }  # fmt: skip


def markdown_table(rows: list[dict[str, Any]], command: str) -> str:
    cats = sorted({c for r in rows for c in r["exact_by_category"]})
    head = ["variant", "exact tool set", "args", "no-tool precision", "no-tool recall", "LM calls", "tokens",
            "p50 s", *cats]  # fmt: skip
    lines = [f"Command: `{command}`", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["variant"], r["exact_tool_set"], r["argument_accuracy"], r["no_tool_precision"],
                 r["no_tool_recall"], r["lm_calls_per_example"], r["tokens_per_example"], r["latency_p50_s"],
                 *[r["exact_by_category"].get(c, "") for c in cats]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    lines.append(f"n = {rows[0]['n'] if rows else 0} examples; categories: exact tool-set accuracy per category.")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["variant"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [r["exact_tool_set"] for r in rows], height=0.4, label="exact tool set")
    ax.barh([i - 0.2 for i in y], [r["argument_accuracy"] for r in rows], height=0.4, label="arguments")
    ax.set_yticks(list(y), names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy on the split")
    ax.legend(loc="lower right")
    ax.set_title("Tool selection")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_selector(args: argparse.Namespace, command: str) -> list[dict[str, Any]]:
    examples = data.selection_examples(args.split)[: args.limit or None]
    lm = dspy_lm("selector", model=args.model)
    slug = endpoint("selector", model=args.model).slug
    variants: list[Variant] = []
    if "zero-shot" in args.variants:
        variants += [dspy_variant("zero-shot ChainOfThought (native)", ToolSelector("native"), lm)]
    if "zero-shot-chat" in args.variants:
        variants += [dspy_variant("zero-shot ChainOfThought (chat)", ToolSelector("chat"), lm)]
    if "zero-shot-json" in args.variants:
        variants += [dspy_variant("zero-shot ChainOfThought (json)", ToolSelector("json"), lm)]
    if "compiled" in args.variants:
        variants += compiled_variants(slug, lm, Path(args.compiled_dir))
    if "native" in args.variants:
        variants.append(native_variant(args.model))
    rows = []
    for variant in variants:
        print(f"[evaluate] {variant.name} on {len(examples)} {args.split} examples", file=sys.stderr, flush=True)
        run_variant(variant, examples, args.threads)
        rows.append(summarize(variant))
    stem = f"selector-{args.split}-{slug}"
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(markdown_table(rows, command))
    (out / f"{stem}.json").write_text(json.dumps(
        {"command": command, "split": args.split, "model": slug, "summary": rows,
         "outcomes": {v.name: [o.__dict__ for o in v.outcomes] for v in variants}}, indent=1) + "\n")  # fmt: skip
    plot(rows, out / f"{stem}.png")
    print(markdown_table(rows, command))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="evaluate", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--program", choices=["selector", "answers"], default="selector")
    parser.add_argument("--split", choices=["train", "dev", "test"], default="test")
    parser.add_argument("--model", default=None)
    parser.add_argument("--limit", type=int, default=0, help="only the first N examples of the split")
    parser.add_argument(
        "--threads", type=int, default=1, help="parallel requests (the local server runs one at a time)"
    )
    parser.add_argument("--variants", nargs="+", default=["zero-shot", "compiled", "native"],
                        choices=["zero-shot", "zero-shot-chat", "zero-shot-json", "compiled", "native"])  # fmt: skip
    parser.add_argument("--compiled-dir", default=str(COMPILED_DIR), help="where to find compiled variants")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR), help="where to write the tables and plot")
    args = parser.parse_args(argv)
    command = "evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.program == "selector":
        evaluate_selector(args, command)
    else:
        from dspy_programs.evaluate_answers import evaluate_answers

        evaluate_answers(args, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
