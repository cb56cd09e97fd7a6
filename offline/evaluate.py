"""`evaluate`: one table comparing zero-shot, every compiled variant and native tool calling.

    evaluate --program selector --split test        # test: shipped tools + held-out tool sets
    evaluate --program selector --split dev --variants zero-shot compiled --compiled labeled-k12d
    evaluate --program answers --split test --limit 40
    evaluate --rescore benchmarks/results/selector-test-full-qwen2.5-coder-1.5b.json --results-dir /tmp/t

Writes markdown and JSON under benchmarks/results/ and, for the selector, a PNG plot. For the
selector the table is given for the whole split and for its parts: the shipped tools, and the
tool sets held out of train (`<split>-unseen`), from the same run, each with a like-for-like
latency table (the rows where a variant wrote as many calls as native tool calling).
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

from dspy_programs.native_baseline import native_select
from dspy_programs.programs import ToolSelector, selector_kwargs
from dspy_programs.store import COMPILED_DIR, compiled_dir, status_line
from offline import data, rows
from offline.metrics import args_exact, no_tool_precision_recall, tool_set_exact
from runtime.bootstrap import configure
from runtime.models import chat_model, dspy_lm, endpoint
from runtime.settings import get_settings
from runtime.usage import UsageMeter

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
    decline: str = ""  # why no tool is needed (the dataset's `decline`), on rows with no expected call


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


NATIVE = "native tool calling (bind_tools)"
NATIVE_ONE_CALL = "native tool calling (bind_tools, one call)"


def native_variant(model: str | None, parallel: bool = True) -> Variant:
    # 160 tokens hold four calls, or the start of a direct answer (the decision being measured);
    # a longer cap only adds the time of answer text to the no-call rows.
    llm = chat_model("selector", model=model, max_tokens=160)

    def run(ex: dspy.Example) -> tuple[list[Any], int, int]:
        usage: dict[str, int] = {}
        calls, _ = native_select(llm, ex.question, ex.tools, ex.conversation.messages, parallel, usage)
        return calls, 1, sum(usage.values())

    return Variant(NATIVE if parallel else NATIVE_ONE_CALL, run)


def zero_shot_variant(lm: dspy.LM) -> Variant:
    return dspy_variant("zero-shot", ToolSelector(), lm)


def compiled_variants(
    slug: str, lm: dspy.LM, root: Path = COMPILED_DIR, only: list[str] | None = None
) -> list[Variant]:
    variants = []
    active = root / slug / "selector.json"
    active_state = active.read_text() if active.exists() else None
    # The same demos with other options (a reply format, say) are another program.
    active_config = selector_kwargs(json.loads(active.with_suffix(".meta.json").read_text())) \
        if active.with_suffix(".meta.json").exists() else None  # fmt: skip
    for path in sorted((root / slug / "variants").glob("selector-*.json")):
        if path.name.endswith(".meta.json"):
            continue
        name = path.stem.removeprefix("selector-")
        if only and name not in only:
            continue
        config = selector_kwargs(json.loads(path.with_suffix(".meta.json").read_text()))
        program = ToolSelector(**config)
        program.load(str(path))
        mark = " (active)" if active_state == path.read_text() and active_config == config else ""
        label = f"compiled: {name}{mark}"
        variants.append(dspy_variant(label, program, lm))
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
            decline=str(ex.get("decline") or ""),
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
    precision, recall = no_tool_precision_recall((o.expected, o.predicted) for o in outs)
    by_cat: dict[str, list[Outcome]] = {}
    by_decline: dict[str, list[Outcome]] = {}
    for o in outs:
        by_cat.setdefault(o.category, []).append(o)
        if not o.expected and o.decline:
            by_decline.setdefault(o.decline, []).append(o)
    return {
        "variant": variant.name,
        "n": n,
        "exact_tool_set": round(sum(o.exact for o in outs) / n, 3),
        "argument_accuracy": round(sum(o.args for o in outs) / n, 3),
        "no_tool_precision": precision,
        "no_tool_recall": recall,
        "lm_calls_per_example": round(sum(o.lm_calls for o in outs) / n, 2),
        "tokens_per_example": round(sum(o.tokens for o in outs) / n, 1),
        "latency_p50_s": round(statistics.median(o.seconds for o in outs), 2),
        "errors": sum(o.error is not None for o in outs),
        "exact_by_category": {c: round(sum(o.exact for o in v) / len(v), 3) for c, v in sorted(by_cat.items())},
        # no-tool recall by why no tool is needed: which kind of "no" the selector misses
        "no_tool_recall_by_decline": {d: round(sum(not o.predicted for o in v) / len(v), 3)
                                      for d, v in sorted(by_decline.items())},
    }  # fmt: skip


def markdown_table(rows: list[dict[str, Any]], command: str | None) -> str:
    cats = sorted({c for r in rows for c in r["exact_by_category"]})
    head = ["variant", "exact tool set", "args", "no-tool precision", "no-tool recall", "LM calls", "tokens",
            "p50 s", *cats]  # fmt: skip
    lines = [f"Command: `{command}`", ""] if command else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["variant"], r["exact_tool_set"], r["argument_accuracy"], r["no_tool_precision"],
                 r["no_tool_recall"], r["lm_calls_per_example"], r["tokens_per_example"], r["latency_p50_s"],
                 *[r["exact_by_category"].get(c, "") for c in cats]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    lines.append(f"n = {rows[0]['n'] if rows else 0} examples; categories: exact tool-set accuracy per category.")
    declines = sorted({d for r in rows for d in r.get("no_tool_recall_by_decline", {})})
    if declines:
        lines += ["", "No-tool recall by why no tool is needed (the dataset's `decline`):", "",
                  "| variant | " + " | ".join(declines) + " |", "|" + "---|" * (len(declines) + 1)]
        lines += ["| " + " | ".join([r["variant"], *(str(r["no_tool_recall_by_decline"].get(d, ""))
                                                     for d in declines)]) + " |" for r in rows]  # fmt: skip
    return "\n".join(lines) + "\n"


def like_for_like(variants: list[Variant]) -> list[dict[str, Any]]:
    """Each variant's p50 beside native tool calling's on the rows where both wrote as many calls.
    The plain p50 also counts work one side did and the other skipped (a two-part question's second
    call, a follow-up's call): each call is ~20 generated tokens, about a second on a CPU."""
    native = next((v for v in variants if v.name == NATIVE), None)
    if native is None:
        return []
    theirs = {o.id: o for o in native.outcomes}
    rows = []
    for v in variants:
        if v is native:
            continue
        pairs = [(o, theirs[o.id]) for o in v.outcomes
                 if o.id in theirs and len(o.predicted) == len(theirs[o.id].predicted)]  # fmt: skip
        if pairs:
            rows.append({"variant": v.name, "rows": len(pairs), "of": len(v.outcomes),
                         "p50_s": round(statistics.median(o.seconds for o, _ in pairs), 2),
                         "native_p50_s": round(statistics.median(n.seconds for _, n in pairs), 2)})  # fmt: skip
    return rows


def like_for_like_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    lines = ["Like for like: the rows where the variant wrote as many calls as native tool calling.", "",
             "| variant | rows | p50 s | native p50 s |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['variant']} | {r['rows']} of {r['of']} | {r['p50_s']} | {r['native_p50_s']} |" for r in rows]
    return "\n".join(lines) + "\n"


def subset(variant: Variant, keep: Callable[[Outcome], bool]) -> Variant:
    return Variant(variant.name, variant.run, [o for o in variant.outcomes if keep(o)])


PARTS: dict[str, Callable[[Outcome], bool]] = {
    "all": lambda o: True,
    "shipped tools": lambda o: o.toolset == "shipped",
    "unseen tool sets": lambda o: o.toolset != "shipped",
}


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """The bar chart beside the tables; skipped, with one note, without matplotlib (the `plot` extra)."""
    try:
        import matplotlib
    except ImportError:
        if not getattr(plot, "noted", False):
            print(f"[evaluate] no chart ({path.name}): matplotlib is not installed (pip install -e '.[plot]')",
                  file=sys.stderr)  # fmt: skip
            plot.noted = True  # type: ignore[attr-defined]
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The variant's name without its options (the table has them): long labels squeeze the bars.
    names = [r["variant"].split(" (")[0] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(rows) + 1.6))
    y = range(len(rows))
    for offset, key, label in ((0.2, "exact_tool_set", "exact tool set"), (-0.2, "argument_accuracy", "arguments")):
        bars = ax.barh([i + offset for i in y], [r[key] for r in rows], height=0.4, label=label)
        ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=8)
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"accuracy on the split ({rows[0]['n'] if rows else 0} questions)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)
    ax.set_title("Tool selection")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_selector(args: argparse.Namespace, command: str) -> dict[str, list[dict[str, Any]]]:
    examples = rows.agent_examples(args.split)[: args.limit or None]  # the configured agent's rows
    if args.sample:  # a seeded sample with every (shipped or not, category) stratum represented
        from offline.compile import stratified_sample

        examples = stratified_sample(examples, args.sample, args.seed)
    # Grouped by tool set: the server keeps each slot's prompt prefix (instructions, tools) cached.
    examples.sort(key=data.toolset_order)
    lm = dspy_lm("selector", model=args.model)
    slug = endpoint("selector", model=args.model).slug
    variants: list[Variant] = []
    for name in args.variants:
        if name == "zero-shot":
            variants.append(zero_shot_variant(lm))
        elif name == "compiled":
            variants += compiled_variants(slug, lm, Path(args.compiled_dir), args.compiled)
        elif name == "native":
            variants.append(native_variant(args.model))
        elif name == "native-one-call":
            variants.append(native_variant(args.model, parallel=False))
    tables: dict[str, list[dict[str, Any]]] = {}
    for i, variant in enumerate(variants):
        print(f"[evaluate] {variant.name} on {len(examples)} {args.split} examples", file=sys.stderr, flush=True)
        run_variant(variant, examples, args.threads)
        # Written after every variant, so a long run that is stopped keeps what it measured.
        tables = write_results(args, command, slug, len(examples), variants[: i + 1],
                               final=i == len(variants) - 1, dspy_cache=get_settings().dspy_cache)
    return tables


def write_results(args: argparse.Namespace, command: str, slug: str, n_examples: int, variants: list[Variant],
                  final: bool, dspy_cache: bool) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    tables: dict[str, list[dict[str, Any]]] = {}
    paired: dict[str, list[dict[str, Any]]] = {}
    for part, keep in PARTS.items():
        parts = [subset(v, keep) for v in variants]
        if parts and parts[0].outcomes and (part == "all" or len(parts[0].outcomes) < n_examples):
            tables[part] = [summarize(v) for v in parts]
            paired[part] = like_for_like(parts)
    stem = f"selector-{args.split}-{slug}"
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = "on" if dspy_cache else "off"
    text = f"Command: `{command}` (LM cache {cache})\n\n{status_line()}\n\n" + "\n".join(
        f"### {args.split}: {part}\n\n{markdown_table(rows, None)}\n{like_for_like_table(paired[part])}"
        for part, rows in tables.items()
    )
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(
        {"command": command, "split": args.split, "model": slug, "summary": tables["all"], "parts": tables,
         "like_for_like": paired,
         "dspy_cache": dspy_cache, "complete": final,
         "outcomes": {v.name: [o.__dict__ for o in v.outcomes] for v in variants}}, indent=1) + "\n")  # fmt: skip
    plot(tables["all"], out / f"{stem}.png")
    if final:
        print(text)
    return tables


def rescore(args: argparse.Namespace, path: Path) -> dict[str, list[dict[str, Any]]]:
    """The tables of an earlier run rebuilt from its JSON: its outcomes scored again by today's
    metrics, no model call (tables added since, such as like for like, for a run already made)."""
    saved = json.loads(path.read_text())

    def not_run(ex: dspy.Example) -> tuple[list[Any], int, int]:
        raise RuntimeError("a rescored variant is not run")

    variants = []
    declines = {ex.id: str(ex.get("decline") or "") for ex in data.selection_examples(None)}
    for name, outs in saved["outcomes"].items():
        outcomes = [Outcome(**o) for o in outs]
        for o in outcomes:
            o.exact, o.args = tool_set_exact(o.expected, o.predicted), args_exact(o.expected, o.predicted)
            o.decline = o.decline or declines.get(o.id, "")  # a run from before the field
        variants.append(Variant(name, not_run, outcomes))
    args.split = saved["split"]
    command = f"{saved['command']}`, tables rebuilt by `evaluate --rescore {path.name}"
    return write_results(args, command, saved["model"], len(variants[0].outcomes), variants, final=True,
                         dspy_cache=saved["dspy_cache"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="evaluate", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--program", choices=["selector", "answers", "critic"], default="selector")
    parser.add_argument("--split", choices=list(data.SELECTION_SPLITS), default="test",
                        help="dev/test: shipped tools and held-out tool sets; *-unseen: held-out tool sets only")
    parser.add_argument("--model", default=None)
    parser.add_argument("--limit", type=int, default=0, help="only the first N examples of the split")
    parser.add_argument("--sample", type=int, default=0, help="a seeded stratified sample of N examples")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--threads", type=int, default=1, help="parallel requests (the local server runs one at a time)"
    )
    parser.add_argument("--variants", nargs="+", default=["zero-shot", "compiled", "native"],
                        help="zero-shot | compiled | native | native-one-call; "
                             "--program critic: alone | cot | predict")  # fmt: skip
    parser.add_argument("--compiled", nargs="*", default=None,
                        help="only these compiled variants (e.g. labeled mipro gepa); default: all")
    parser.add_argument("--compiled-dir", default=None, help="where to find compiled variants (default: agent.toml's)")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR), help="where to write the tables and plot")
    parser.add_argument("--rescore", type=Path, default=None,
                        help="selector: rebuild the tables of an earlier run from its JSON (no model call)")
    args = parser.parse_args(argv)
    args.compiled_dir = args.compiled_dir or str(compiled_dir())  # the configured agent's programs
    if args.rescore:
        rescore(args, args.rescore)
        return 0
    configure()  # library defaults and the LM cache (runtime/bootstrap.py)
    command = "evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.program == "selector":
        evaluate_selector(args, command)
    elif args.program == "critic":
        from offline.evaluate_critic import evaluate_critic

        evaluate_critic(args, command)
    else:
        from offline.evaluate_answers import evaluate_answers

        evaluate_answers(args, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
