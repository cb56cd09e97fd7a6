"""`evaluate`: one table comparing zero-shot, every compiled variant and native tool calling.

    evaluate --program selector --split test        # test: shipped tools + held-out tool sets
    evaluate --program selector --split dev --variants zero-shot compiled --compiled labeled-k12d
    evaluate --program answers --split test --limit 40
    evaluate --rescore benchmarks/results/selector-test-full-qwen2.5-coder-1.5b.json --results-dir /tmp/t

Writes markdown and JSON under benchmarks/results/ and, for the selector, a PNG plot, always to new
files (`-2`, `-3`, ... when the name is taken) unless `--replace` is given. For the selector the
table is given for the whole split and for its parts: the shipped tools, the tool sets held out of
train (`<split>-unseen`), and the like-for-like rows (exactly one expected call, no earlier
turns: the rows where neither side needs a second call or a follow-up), from the same run. Every
reply is kept in the JSON (the raw reply, the valid calls, the refused calls) with its failure
class (offline/metrics.py), and the class counts are printed beside each variant.
DSPy's `Evaluate` gives one score per program; we need latency, LM calls, tokens and the raw reply
per example as well, so this runs its own (threaded) loop over the same metric functions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback

from dspy_programs.native_baseline import native_select, read_reply
from dspy_programs.programs import ToolSelector, selector_kwargs
from dspy_programs.selector_reply import PREFILL, content_calls, json_values
from dspy_programs.store import COMPILED_DIR, ProgramLoadError, compiled_dir, status_line
from offline import data, rows
from offline.metrics import FAILURE_CLASSES, args_exact, failure_class, no_tool_precision_recall, tool_set_exact
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
    predicted: list[dict[str, Any]]  # the valid calls
    exact: bool
    args: bool
    seconds: float
    lm_calls: int
    tokens: int
    error: str | None = None
    decline: str = ""  # why no tool is needed (the dataset's `decline`), on rows with no expected call
    turns: int = 0  # earlier turns of the conversation
    rejected: list[dict[str, Any]] = field(default_factory=list)  # calls validation refused (name, args, reason)
    unparsable: bool = False  # the reply held a call that could not be read
    failure: str = ""  # one of metrics.FAILURE_CLASSES
    reply: Any = None  # the raw reply: text, or the server's tool calls


@dataclass
class Run:
    """What one variant made of one example."""

    calls: list[Any]
    lm_calls: int
    tokens: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    unparsable: bool = False
    reply: Any = None


@dataclass
class Variant:
    name: str
    run: Callable[[dspy.Example], Run]
    outcomes: list[Outcome] = field(default_factory=list)


def _plain(value: Any) -> Any:
    """A reply as JSON-ready data (a provider's tool-call objects become dicts)."""
    return json.loads(json.dumps(value, default=lambda o: getattr(o, "model_dump", lambda: str(o))()))


class ReplyRecorder(BaseCallback):
    """Keeps the raw outputs of every LM call made inside one `dspy.context`."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        if outputs is not None:
            self.outputs.extend(_plain(outputs))


def reply_text(output: Any) -> str:
    return str((output.get("text") if isinstance(output, Mapping) else output) or "")


def selector_unparsable(outputs: list[Any], raw_calls: list[Any]) -> bool:
    """Whether the selector's last reply held nothing readable: no call, and no reply-shaped JSON
    (a `{"calls": [...]}` object, with or without the prefill the request sent) and no call in text."""
    if raw_calls or not outputs:
        return False
    last = outputs[-1]
    if isinstance(last, Mapping) and last.get("tool_calls"):
        return False
    text = reply_text(last)
    if not text.strip():
        return True
    readable = any(isinstance(v, dict) and "calls" in v for start in ("", PREFILL) for v in json_values(start + text))
    return not readable and not content_calls(text)


def dspy_variant(name: str, program: ToolSelector, lm: dspy.LM) -> Variant:
    def run(ex: dspy.Example) -> Run:
        meter, recorder = UsageMeter(name), ReplyRecorder()
        with dspy.context(lm=lm, callbacks=[meter, recorder], track_usage=True):
            pred = program(**ex.inputs())
        usage = meter.summary(pred)
        raw_calls = list(pred.tool_calls.tool_calls) if pred.tool_calls is not None else []
        return Run(pred.calls, meter.calls, usage["prompt_tokens"] + usage["completion_tokens"],
                   rejected=[{"name": r.name, "args": r.args, "reason": r.reason} for r in pred.rejected],
                   unparsable=selector_unparsable(recorder.outputs, raw_calls),
                   reply=recorder.outputs[-1] if len(recorder.outputs) == 1 else recorder.outputs)  # fmt: skip

    return Variant(name, run)


def history_of(ex: dspy.Example) -> list[dict[str, Any]]:
    """The row's earlier turns as the dataset holds them (every line of every message)."""
    return list(ex.conversation.messages) if ex.get("conversation") is not None else []


NATIVE = "native tool calling (bind_tools)"
NATIVE_ONE_CALL = "native tool calling (bind_tools, one call)"


def native_variant(model: str | None, parallel: bool = True) -> Variant:
    """The model's own tool calling, with the selector's instructions, token limit and complete schemas
    (the tools as `bind_tools` sends them), its calls validated against those schemas (the selector's
    are validated against the abridged ones it is shown)."""
    llm = chat_model("selector", model=model, max_tokens=get_settings().lm_max_tokens)

    def run(ex: dspy.Example) -> Run:
        # The example's own tools, with their complete schemas (the selector is shown them abridged).
        reply = native_select(llm, ex.question, ex.tools, history_of(ex), parallel=parallel)
        return Run(reply.calls, 1, sum(reply.usage.values()), rejected=reply.rejected_json(),
                   unparsable=reply.unparsable, reply=reply.raw())  # fmt: skip

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
            result = variant.run(ex)
        except Exception as exc:  # a failed example scores zero and is reported, not fatal
            result, error = Run([], 1, 0), f"{type(exc).__name__}: {exc}"[:300]
        predicted = [{"name": c.name, "args": c.args} for c in result.calls]
        return Outcome(
            id=ex.id, category=ex.category, toolset=ex.toolset, expected=ex.expected_calls, predicted=predicted,
            exact=tool_set_exact(ex.expected_calls, predicted), args=args_exact(ex.expected_calls, predicted),
            seconds=round(time.perf_counter() - started, 3), lm_calls=result.lm_calls, tokens=result.tokens,
            error=error, decline=str(ex.get("decline") or ""), turns=len(history_of(ex)),
            rejected=_plain(result.rejected), unparsable=result.unparsable,
            failure=failure_class(ex.expected_calls, predicted, result.rejected, result.unparsable),
            reply=_plain(result.reply),
        )  # fmt: skip

    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for outcome in pool.map(one, examples):
            variant.outcomes.append(outcome)
            done += 1
            if done % 10 == 0 or done == len(examples):
                acc = sum(o.exact for o in variant.outcomes) / done
                print(f"  [{variant.name}] {done}/{len(examples)} exact={acc:.3f}", file=sys.stderr, flush=True)
    print(f"  [{variant.name}] {failure_line(failure_counts(variant.outcomes))}", file=sys.stderr, flush=True)


def failure_counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts = Counter(o.failure for o in outcomes)
    return {c: counts.get(c, 0) for c in FAILURE_CLASSES}


def failure_line(counts: Mapping[str, int]) -> str:
    return " ".join(f"{c}={n}" for c, n in counts.items())


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
        "replies_with_two_or_more_calls": sum(len(o.predicted) + len(o.rejected) >= 2 for o in outs),
        "failures": failure_counts(outs),
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
    if any("failures" in r for r in rows):
        lines += ["", "Failure classes (offline/metrics.py, `failure_class`; `ok` is the exact tool set), and the "
                      "replies that wrote two calls or more:", "",
                  "| variant | " + " | ".join(FAILURE_CLASSES) + " | errors | replies with 2+ calls |",
                  "|" + "---|" * (len(FAILURE_CLASSES) + 3)]  # fmt: skip
        lines += ["| " + " | ".join([r["variant"], *(str(r.get("failures", {}).get(c, "")) for c in FAILURE_CLASSES),
                                     str(r["errors"]), str(r.get("replies_with_two_or_more_calls", ""))]) + " |"
                  for r in rows]  # fmt: skip
    declines = sorted({d for r in rows for d in r.get("no_tool_recall_by_decline", {})})
    if declines:
        lines += ["", "No-tool recall by why no tool is needed (the dataset's `decline`):", "",
                  "| variant | " + " | ".join(declines) + " |", "|" + "---|" * (len(declines) + 1)]
        lines += ["| " + " | ".join([r["variant"], *(str(r["no_tool_recall_by_decline"].get(d, ""))
                                                     for d in declines)]) + " |" for r in rows]  # fmt: skip
    return "\n".join(lines) + "\n"


def paired_latency(variants: list[Variant]) -> list[dict[str, Any]]:
    """Each variant's p50 beside native tool calling's on the rows where both wrote as many calls.
    The plain p50 also counts work one side did and the other skipped (a two-part question's second
    call, a follow-up's call): each call is generated tokens, time on a CPU."""
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


def paired_latency_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    lines = ["Latency on the rows where the variant wrote as many calls as native tool calling.", "",
             "| variant | rows | p50 s | native p50 s |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['variant']} | {r['rows']} of {r['of']} | {r['p50_s']} | {r['native_p50_s']} |" for r in rows]
    return "\n".join(lines) + "\n"


def subset(variant: Variant, keep: Callable[[Outcome], bool]) -> Variant:
    return Variant(variant.name, variant.run, [o for o in variant.outcomes if keep(o)])


LIKE_FOR_LIKE = "like for like (one expected call, no earlier turns)"
PARTS: dict[str, Callable[[Outcome], bool]] = {
    "all": lambda o: True,
    "shipped tools": lambda o: o.toolset == "shipped",
    "unseen tool sets": lambda o: o.toolset != "shipped",
    # Where both sides could win: no second call to write, no follow-up to resolve.
    LIKE_FOR_LIKE: lambda o: len(o.expected) == 1 and o.turns == 0,
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


class UsageError(Exception):
    """Bad input to `evaluate`: reported as one line, exit status 2."""


SELECTOR_VARIANTS = ("zero-shot", "compiled", "native", "native-one-call")
CRITIC_VARIANTS = ("alone", "cot", "predict")


def check_variants(program: str, names: list[str] | None) -> None:
    """Every `--variants` name is one the program knows."""
    if program == "critic":
        valid: tuple[str, ...] = CRITIC_VARIANTS
    elif program == "selector":
        valid = SELECTOR_VARIANTS
    else:
        if names:
            raise UsageError(f"--variants does not apply to --program {program}")
        return
    for name in names or []:
        if name not in valid:
            raise UsageError(f"unknown variant {name!r} for --program {program}; valid: {', '.join(valid)}")


def compiled_names(slug: str, root: Path) -> list[str]:
    return sorted(p.stem.removeprefix("selector-") for p in (root / slug / "variants").glob("selector-*.json")
                  if not p.name.endswith(".meta.json"))  # fmt: skip


def check_compiled(slug: str, root: Path, only: list[str] | None) -> None:
    known = compiled_names(slug, root)
    for name in only or []:
        if name not in known:
            raise UsageError(f"unknown compiled variant {name!r} in {root / slug / 'variants'}; "
                             f"valid: {', '.join(known) or '(none compiled)'}")  # fmt: skip


def fresh_stem(out: Path, stem: str, replace: bool, suffixes: tuple[str, ...] = (".md", ".json", ".png")) -> str:
    """`stem`, or with `replace` unset and a file of that name already there, the first free `stem-2`,
    `stem-3`, ...: a run never overwrites a result unless asked to."""
    if replace:
        return stem
    taken = lambda s: any((out / f"{s}{suffix}").exists() for suffix in suffixes)  # noqa: E731
    n, candidate = 1, stem
    while taken(candidate):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def selector_stem(args: argparse.Namespace, slug: str) -> str:
    tag = f"-{args.tag}" if args.tag else ""
    return fresh_stem(Path(args.results_dir), f"selector-{args.split}{tag}-{slug}", args.replace)


def evaluate_selector(args: argparse.Namespace, command: str) -> dict[str, list[dict[str, Any]]]:
    slug = endpoint("selector", model=args.model).slug
    if "compiled" in args.variants:
        check_compiled(slug, Path(args.compiled_dir), args.compiled)
    examples = rows.agent_examples(args.split)[: args.limit or None]  # the configured agent's rows
    if args.sample:  # a seeded sample with every (shipped or not, category) stratum represented
        from offline.compile import stratified_sample

        examples = stratified_sample(examples, args.sample, args.seed)
    # Grouped by tool set: the server keeps each slot's prompt prefix (instructions, tools) cached.
    examples.sort(key=data.toolset_order)
    lm = dspy_lm("selector", model=args.model)
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
    stem = selector_stem(args, slug)
    tables: dict[str, list[dict[str, Any]]] = {}
    for i, variant in enumerate(variants):
        print(f"[evaluate] {variant.name} on {len(examples)} {args.split} examples", file=sys.stderr, flush=True)
        run_variant(variant, examples, args.threads)
        # Written after every variant, so a long run that is stopped keeps what it measured.
        tables = write_results(args, command, slug, len(examples), variants[: i + 1],
                               final=i == len(variants) - 1, dspy_cache=get_settings().dspy_cache, stem=stem)
    print(f"[evaluate] written: {Path(args.results_dir) / stem}.md, .json, .png", file=sys.stderr, flush=True)
    return tables


def write_results(args: argparse.Namespace, command: str, slug: str, n_examples: int, variants: list[Variant],
                  final: bool, dspy_cache: bool, stem: str) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    tables: dict[str, list[dict[str, Any]]] = {}
    paired: dict[str, list[dict[str, Any]]] = {}
    for part, keep in PARTS.items():
        parts = [subset(v, keep) for v in variants]
        if parts and parts[0].outcomes and (part == "all" or len(parts[0].outcomes) < n_examples):
            tables[part] = [summarize(v) for v in parts]
            paired[part] = paired_latency(parts)
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = "on" if dspy_cache else "off"
    text = f"Command: `{command}` (LM cache {cache})\n\n{status_line()}\n\n" + "\n".join(
        f"### {args.split}: {part}\n\n{markdown_table(rows, None)}\n{paired_latency_table(paired[part])}"
        for part, rows in tables.items()
    )
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(
        {"command": command, "split": args.split, "model": slug, "summary": tables["all"], "parts": tables,
         "paired_latency": paired, "dspy_cache": dspy_cache, "complete": final,
         "outcomes": {v.name: [o.__dict__ for o in v.outcomes] for v in variants}}, indent=1) + "\n")  # fmt: skip
    plot(tables["all"], out / f"{stem}.png")
    if final:
        print(text)
    return tables


def reread(o: Outcome) -> None:
    """A kept native reply read again by today's reader and validation (its tool set's complete schemas)."""
    r = o.reply
    reply = read_reply(str(r.get("content") or ""), r.get("tool_calls") or [], r.get("invalid_tool_calls") or [],
                       data.toolset_specs(o.toolset))  # fmt: skip
    o.predicted = [{"name": c.name, "args": c.args} for c in reply.calls]
    o.rejected, o.unparsable = reply.rejected_json(), reply.unparsable


def rescore(args: argparse.Namespace, path: Path) -> dict[str, list[dict[str, Any]]]:
    """The tables of an earlier run rebuilt from its JSON: its outcomes scored again by today's
    metrics, no model call (tables and fields added since, for a run already made); native tool
    calling's kept replies are read again by today's reader and validation. A run from before the
    replies were kept has no refused calls: its failure classes cannot tell an invalid call from an
    abstention."""
    if not path.is_file():
        raise UsageError(f"no such result file: {path}")
    saved = json.loads(path.read_text())

    def not_run(ex: dspy.Example) -> Run:
        raise RuntimeError("a rescored variant is not run")

    variants = []
    rows_by_id = {ex.id: ex for ex in rows.agent_examples(None)}  # the configured agent's rows
    for name, outs in saved["outcomes"].items():
        outcomes = [Outcome(**o) for o in outs]
        for o in outcomes:
            if name in (NATIVE, NATIVE_ONE_CALL) and isinstance(o.reply, dict) and "content" in o.reply:
                reread(o)
            o.exact, o.args = tool_set_exact(o.expected, o.predicted), args_exact(o.expected, o.predicted)
            if (ex := rows_by_id.get(o.id)) is not None:  # a run from before these fields
                o.decline = o.decline or str(ex.get("decline") or "")
                o.turns = o.turns or len(history_of(ex))
            o.failure = failure_class(o.expected, o.predicted, o.rejected, o.unparsable)
        variants.append(Variant(name, not_run, outcomes))
    args.split = saved["split"]
    command = f"{saved['command']}`, tables rebuilt by `evaluate --rescore {path.name}"
    tag = f"-{args.tag}" if args.tag else ""
    stem = fresh_stem(Path(args.results_dir), f"selector-{args.split}{tag}-{saved['model']}", args.replace)
    return write_results(args, command, saved["model"], len(variants[0].outcomes), variants, final=True,
                         dspy_cache=saved["dspy_cache"], stem=stem)


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
    parser.add_argument("--variants", nargs="+", default=None,
                        help="selector (default: zero-shot compiled native): zero-shot | compiled | native | "
                             "native-one-call; --program critic (default: all): alone | cot | predict")  # fmt: skip
    parser.add_argument("--compiled", nargs="*", default=None,
                        help="only these compiled variants (e.g. labeled mipro gepa); default: all")
    parser.add_argument("--compiled-dir", default=None, help="where to find compiled variants (default: agent.toml's)")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR), help="where to write the tables and plot")
    parser.add_argument("--tag", default="", help="selector and --rescore: a name in the result files' names "
                                                  "(selector-<split>-<tag>-<model>)")  # fmt: skip
    parser.add_argument("--replace", action="store_true",
                        help="overwrite result files of the same name (default: write -2, -3, ... beside them)")
    parser.add_argument("--rescore", type=Path, default=None,
                        help="selector: rebuild the tables of an earlier run from its JSON (no model call)")
    args = parser.parse_args(argv)
    args.compiled_dir = args.compiled_dir or str(compiled_dir())  # the configured agent's programs
    try:
        if args.rescore:
            rescore(args, args.rescore)
            return 0
        check_variants(args.program, args.variants)
        if args.program == "selector" and not args.variants:
            args.variants = ["zero-shot", "compiled", "native"]
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
    except (UsageError, ProgramLoadError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
