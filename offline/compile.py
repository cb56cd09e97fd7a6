"""`optimize`: compile a DSPy program against the labeled data and save it for the graph.

    optimize --program selector --optimizer bootstrap
    optimize --program all --optimizer labeled

Reads the train split to compile and the dev split to score; never the test split.
Saves DSPy's JSON state (no pickle) plus a metadata file, under
dspy_programs/compiled/<model>/variants/, and makes it the active program for that model
when its dev score beats the active one (or with --activate).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dspy

from dspy_programs.programs import ToolSelector
from dspy_programs.signatures import decline_meaning
from dspy_programs.store import COMPILED_DIR, build, meta_path, program_path, read_meta
from offline import data, gepa_state
from offline.metrics import critique_metric, selection_metric
from runtime.bootstrap import configure
from runtime.models import dspy_lm, endpoint
from runtime.settings import Role
from runtime.usage import UsageMeter

log = logging.getLogger("optimize")

OPTIMIZERS = ("labeled", "bootstrap", "random_search", "mipro", "gepa")
COMPILABLE = ("selector", "synthesizer", "critic")
DATA_FILES = {"selector": "tool_selection.jsonl", "critic": "critique.jsonl", "synthesizer": "critique.jsonl"}


def synthesis_metric(example: Any, pred: Any, trace: Any = None, *_: Any) -> float | bool:
    """Every number in the reference answer appears in the prediction (the facts are carried over)."""
    import re

    numbers = set(re.findall(r"\d+(?:\.\d+)?", str(example.answer).replace(",", "")))
    got = set(re.findall(r"\d+(?:\.\d+)?", str(getattr(pred, "answer", "")).replace(",", "")))
    score = len(numbers & got) / len(numbers) if numbers else 1.0
    return score >= 1.0 if trace is not None else score


@dataclass(frozen=True)
class Task:
    examples: Callable[..., list[dspy.Example]]
    metric: Callable[..., float | bool]
    stratum: Callable[[dspy.Example], str]


def _tools_of(ex: dspy.Example) -> str:
    return "shipped" if ex.toolset == "shipped" else "other"


def selection_stratum(ex: dspy.Example) -> str:
    calls = "calls" if ex.expected_calls else "none"
    return f"{ex.category}-{calls}-{_tools_of(ex)}"


def decline_stratum(ex: dspy.Example, by_toolset: bool = False) -> str:
    """`selection_stratum` for rows with calls; a row with none by why it needs none (`decline`:
    chat, knowledge, writing, no_match), whatever its category, and its tool set when
    `by_toolset`. By category, the 13 first demos declined twice for small talk and never for a
    general-knowledge question beside a search tool, the kind the selector still sent to
    `search_knowledge`."""
    if ex.expected_calls or not ex.get("decline"):
        return selection_stratum(ex)
    return f"{ex.decline}-none" + (f"-{_tools_of(ex)}" if by_toolset else "")


STRATA: dict[str, Callable[[dspy.Example], str]] = {
    "category": selection_stratum,
    "decline": decline_stratum,
    "decline-toolset": lambda ex: decline_stratum(ex, by_toolset=True),
}


TASKS: dict[str, Task] = {
    # Strata: category x (calls or none) x (shipped tools or another tool set), so the first demos
    # cover each, including a near miss answered with no call (a tool on the subject that cannot
    # do what is asked), the kind the selector got wrong most (README, "Tool selection").
    "selector": Task(data.selection_examples, selection_metric, selection_stratum),
    "critic": Task(data.critique_examples, critique_metric, lambda ex: str(ex.verdict)),
    "synthesizer": Task(data.synthesis_examples, synthesis_metric, lambda ex: ""),
}


def interleave(examples: list[dspy.Example], stratum: Callable[[dspy.Example], str],
               rng: random.Random, weight: Callable[[str], int] = lambda key: 1) -> list[dspy.Example]:  # fmt: skip
    """Shuffle, then take `weight(stratum)` examples of each stratum in turn until all are used."""
    shuffled = list(examples)
    rng.shuffle(shuffled)
    groups: dict[str, list[dspy.Example]] = {}
    for ex in shuffled:
        groups.setdefault(stratum(ex), []).append(ex)
    order = sorted(groups)
    out: list[dspy.Example] = []
    while any(groups.values()):
        for key in order:
            taken, groups[key] = groups[key][: weight(key)], groups[key][weight(key) :]
            out += taken
    return out


def make_optimizer(name: str, metric: Callable[..., Any], args: argparse.Namespace, lm: dspy.LM) -> Any:
    if name == "labeled":
        return dspy.LabeledFewShot(k=args.demos)
    if name == "bootstrap":
        return dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=args.demos, max_labeled_demos=args.labeled, max_rounds=1
        )
    if name == "random_search":
        return dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, max_bootstrapped_demos=args.demos, max_labeled_demos=args.labeled,
            num_candidate_programs=args.candidates, num_threads=args.threads,
        )  # fmt: skip
    if name == "mipro":
        # --num-trials sets an explicit budget (auto=None) that fits a small CPU box.
        return dspy.MIPROv2(
            metric=metric, auto=None if args.num_trials else args.auto, num_threads=args.threads, seed=args.seed,
            num_candidates=args.num_candidates if args.num_trials else None, verbose=False,
            max_bootstrapped_demos=args.demos, max_labeled_demos=args.labeled, prompt_model=lm, task_model=lm,
        )  # fmt: skip
    if name == "gepa":
        # --max-metric-calls sets an explicit budget; --log-dir makes the run resumable (GEPA's own
        # state, a pickle: main() checks it is plain data before GEPA reads it, offline/gepa_state.py).
        return dspy.GEPA(metric=_gepa_metric(metric), auto=None if args.max_metric_calls else args.auto,
                         max_metric_calls=args.max_metric_calls or None, num_threads=args.threads,
                         reflection_lm=lm, seed=args.seed, log_dir=args.log_dir, track_stats=True)  # fmt: skip
    raise ValueError(f"unknown optimizer {name!r}; choose from {OPTIMIZERS}")


def _gepa_metric(metric: Callable[..., Any]) -> Callable[..., Any]:
    def with_feedback(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        score = float(metric(gold, pred))
        expected = json.dumps(getattr(gold, "expected_calls", getattr(gold, "verdict", "")), default=str)
        feedback = "correct" if score >= 1 else f"expected {expected}"
        decline = str(gold.get("decline") or "") if isinstance(gold, dspy.Example) else ""
        if score < 1 and decline:  # the reflection model is told why no tool was right
            feedback += f": no tool is needed ({decline_meaning(decline)})"
        return dspy.Prediction(score=score, feedback=feedback)

    return with_feedback


def _tokens_since(lm: dspy.LM, start: int) -> dict[str, int]:
    """Prompt and completion tokens of the requests this compile sent (cache hits report none)."""
    totals = {"prompt": 0, "completion": 0}
    for entry in lm.history[start:]:
        usage = entry.get("usage") or {}
        totals["prompt"] += int(usage.get("prompt_tokens") or 0)
        totals["completion"] += int(usage.get("completion_tokens") or 0)
    return totals


LAST_PARTS: dict[str, float] = {}  # the last score()'s parts: shipped tools / tool sets held out of train


def score(program: dspy.Module, examples: list[dspy.Example], metric: Callable[..., Any], lm: dspy.LM,
          threads: int) -> float:  # fmt: skip
    evaluate = dspy.Evaluate(devset=examples, metric=metric, num_threads=threads, display_progress=True,
                             provide_traceback=False, max_errors=len(examples) + 1)  # fmt: skip
    with dspy.context(lm=lm):
        result = evaluate(program)
    LAST_PARTS.clear()
    rows = getattr(result, "results", None) or []
    for part, keep in (("shipped", lambda t: t == "shipped"), ("unseen", lambda t: t != "shipped")):
        scores = [float(r[2]) for r in rows if keep(str(r[0].get("toolset", "shipped")))]
        if scores:
            LAST_PARTS[part] = round(100 * sum(scores) / len(scores), 2)
    return round(float(result.score), 2)


def stratified_sample(examples: list[dspy.Example], n: int, seed: int) -> list[dspy.Example]:
    """A seeded sample of n selection examples with every (shipped tools or not, category) stratum
    represented; evaluate --sample and optimize --dev-sample take the same rows for one seed."""
    if not n:
        return examples
    return interleave(examples, lambda ex: f"{ex.toolset == 'shipped'}-{ex.category}", random.Random(seed))[:n]


def _sample(examples: list[dspy.Example], n: int, stratum: Callable[[dspy.Example], str],
            seed: int) -> list[dspy.Example]:  # fmt: skip
    """The first n of a seeded stratified interleave (every kind represented)."""
    return interleave(examples, stratum, random.Random(seed))[:n] if n else examples


@dataclass
class Outcome:
    """What one optimizer run produced: the compiled program and its dev scores."""

    compiled: dspy.Module
    before: float | None
    after: float
    parts: dict[str, Any]
    compile_seconds: float
    compile_calls: int


def compile_one(program_name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Compile one program: data, student, optimize and score, describe, save, maybe activate."""
    role: Role = "critic" if program_name == "critic" else program_name  # type: ignore[assignment]
    lm = dspy_lm(role, model=args.model)
    slug = endpoint(role, model=args.model).slug
    task = TASKS[program_name]
    train, dev = load_splits(program_name, task, args)
    print(f"[optimize] {program_name} with {args.optimizer} on {slug}: {len(train)} train, {len(dev)} dev",
          file=sys.stderr, flush=True)  # fmt: skip
    student = build_student(program_name, slug, args)
    started = time.perf_counter()
    history_before = len(lm.history)
    meter = UsageMeter("optimize")
    outcome = optimize_and_score(student, train, dev, task, args, lm, meter)
    seconds = round(time.perf_counter() - started, 1)
    meta = describe(program_name, args, slug, train, dev, outcome, meter, lm, history_before, seconds)
    variant = save_variant(outcome.compiled, meta, program_name, slug, args)
    activate_if_better(program_name, slug, variant, meta, outcome, args)
    print(f"[optimize] {program_name}: dev {outcome.before} -> {outcome.after} in {seconds}s, {meter.calls} LM calls; "
          f"saved {variant.relative_to(Path.cwd()) if variant.is_relative_to(Path.cwd()) else variant}"
          f"{' (active)' if meta.get('activated') else ''}", file=sys.stderr, flush=True)  # fmt: skip
    return meta


def load_splits(program_name: str, task: Task, args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    train = task.examples("train")
    # Optimizers walk the train set in order and keep the first demonstrations that pass: a
    # seeded shuffle, then categories taken in turn, so those first demos cover every kind.
    # --none-weight N (selector): N no-call examples per no-call stratum in each turn, so the
    # first demos hold more ways of declining.
    stratum = STRATA[args.strata] if program_name == "selector" else task.stratum
    # (only selection examples have expected calls)
    no_call = {stratum(ex) for ex in train if not ex.expected_calls} if program_name == "selector" else set()
    weight: Callable[[str], int] = lambda key: args.none_weight if key in no_call else 1  # noqa: E731
    train = interleave(train, stratum, random.Random(args.seed), weight)[: args.train_limit or None]
    dev_split = args.dev_split if program_name == "selector" else "dev"
    dev = task.examples(dev_split)[: args.dev_limit or None]
    if program_name == "selector" and args.dev_sample:
        dev = stratified_sample(dev, args.dev_sample, args.seed)
    return train, dev


def build_student(program_name: str, slug: str, args: argparse.Namespace) -> dspy.Module:
    student = build(program_name)
    if args.init_from:  # start from a saved variant (e.g. GEPA's instructions on top of labeled demos)
        student.load(str(Path(args.out) / slug / "variants" / f"{program_name}-{args.init_from}.json"))
    return student


def optimize_and_score(student: dspy.Module, train: list[dspy.Example], dev: list[dspy.Example], task: Task,
                       args: argparse.Namespace, lm: dspy.LM, meter: UsageMeter) -> Outcome:  # fmt: skip
    started = time.perf_counter()
    parts: dict[str, Any] = {}
    with dspy.context(lm=lm, callbacks=[meter], track_usage=True):
        before = score(student, dev, task.metric, lm, args.threads) if not args.skip_baseline else None
        parts["before"] = dict(LAST_PARTS) if before is not None else None
        optimizer = make_optimizer(args.optimizer, task.metric, args, lm)
        compile_kwargs: dict[str, Any] = {"trainset": train}
        if args.optimizer == "labeled":
            # Take the first k of the interleaved train set rather than a random sample: every
            # category gets a demo, and a prompt of mostly no-tool demos answers "no tool".
            compile_kwargs["sample"] = False
        if args.optimizer in ("mipro", "gepa"):
            compile_kwargs["valset"] = _sample(dev, args.val_limit, task.stratum, args.seed)
        if args.optimizer == "mipro" and args.num_trials:
            compile_kwargs.update(num_trials=args.num_trials, minibatch_size=args.minibatch_size,
                                  minibatch_full_eval_steps=args.full_eval_steps,
                                  data_aware_proposer=not args.no_data_aware)  # fmt: skip
        compiled = optimizer.compile(student, **compile_kwargs)
        compile_seconds = round(time.perf_counter() - started, 1)
        compile_calls = meter.calls
        after = score(compiled, dev, task.metric, lm, args.threads)
        parts["after"] = dict(LAST_PARTS)
    return Outcome(compiled, before, after, parts, compile_seconds, compile_calls)


def describe(program_name: str, args: argparse.Namespace, slug: str, train: list[dspy.Example],
             dev: list[dspy.Example], outcome: Outcome, meter: UsageMeter, lm: dspy.LM, history_before: int,
             seconds: float) -> dict[str, Any]:  # fmt: skip
    """The variant's metadata: how it was made, on what data, and how it scored."""
    compiled = outcome.compiled
    meta: dict[str, Any] = {
        "program": program_name, "optimizer": args.optimizer,
        "settings": {k: getattr(args, k) for k in ("demos", "labeled", "seed", "auto", "candidates", "threads",
                                                     "train_limit", "dev_limit", "dev_sample", "val_limit",
                                                     "num_candidates",
                                                     "num_trials", "minibatch_size", "full_eval_steps",
                                                     "max_metric_calls", "tag", "init_from", "none_weight", "strata")},
        "dev_split": args.dev_split, "dev_score_parts": outcome.parts,
        "compile_wall_seconds": outcome.compile_seconds, "compile_lm_calls": outcome.compile_calls,
        "model": slug, "dspy_version": dspy.__version__,
        "datasets": {DATA_FILES[program_name]: data.file_hash(DATA_FILES[program_name])},
        "train_examples": len(train), "dev_examples": len(dev),
        "dev_score_before": outcome.before, "dev_score_after": outcome.after,
        "lm_calls": meter.calls, "tokens": _tokens_since(lm, history_before), "wall_seconds": seconds,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    if isinstance(compiled, ToolSelector):
        meta["selector_config"] = compiled.config()
        meta["instructions"] = compiled.select.signature.instructions
    return meta


def save_variant(compiled: dspy.Module, meta: dict[str, Any], program_name: str, slug: str,
                 args: argparse.Namespace) -> Path:  # fmt: skip
    suffix = f"-{args.tag}" if args.tag else ""
    variant = Path(args.out) / slug / "variants" / f"{program_name}-{args.optimizer}{suffix}.json"
    variant.parent.mkdir(parents=True, exist_ok=True)
    compiled.save(str(variant))
    variant.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return variant


def activate_if_better(program_name: str, slug: str, variant: Path, meta: dict[str, Any], outcome: Outcome,
                       args: argparse.Namespace) -> None:  # fmt: skip
    root = Path(args.out)
    active = read_meta(program_name, slug, root)
    # Beat the active program, or with none active, the uncompiled one: a compile that lowers
    # the dev score is saved as a variant but never becomes what the graph runs.
    bar = active.get("dev_score_after") if active else outcome.before
    better = (outcome.after or 0) > (bar or 0)
    # ... and never below the uncompiled program on the tool sets it was not compiled for.
    unseen_before = (outcome.parts.get("before") or {}).get("unseen")
    if unseen_before is not None and outcome.parts["after"].get("unseen", 0) < unseen_before:
        better = False
    if args.activate or (better and not args.no_activate):
        shutil.copyfile(variant, program_path(program_name, slug, root))
        meta_path(program_name, slug, root).write_text(json.dumps(meta, indent=2) + "\n")
        meta["activated"] = True


def activate_variant(program_name: str, name: str, args: argparse.Namespace) -> int:
    """Make a saved variant the active program (after comparing variants on dev)."""
    role: Role = "critic" if program_name == "critic" else program_name  # type: ignore[assignment]
    slug = endpoint(role, model=args.model).slug
    root = Path(args.out)
    variant = root / slug / "variants" / f"{program_name}-{name}.json"
    meta = json.loads(variant.with_suffix(".meta.json").read_text())
    shutil.copyfile(variant, program_path(program_name, slug, root))
    meta_path(program_name, slug, root).write_text(json.dumps({**meta, "activated": True}, indent=2) + "\n")
    print(f"[optimize] {program_name}: {variant.name} is now active", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="optimize", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--program", choices=[*COMPILABLE, "all"], default="selector")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="bootstrap")
    parser.add_argument("--model", default=None, help="model name (default: the configured model for the role)")
    parser.add_argument("--none-weight", type=int, default=1,
                        help="selector: no-call examples taken per no-call stratum in each turn of the train order")
    parser.add_argument("--strata", choices=sorted(STRATA), default="decline",
                        help="selector: the train order's strata for rows with no call: by why no tool is "
                             "needed (the dataset's `decline`), that by shipped or other tools, or by "
                             "category and tool set (before 2026-11-26)")
    parser.add_argument("--init-from", default="", help="start from the saved variant <program>-NAME")
    parser.add_argument("--tag", default="", help="suffix of the variant's file name (selector-<optimizer>-<tag>)")
    parser.add_argument("--dev-split", default="dev", choices=["dev", "dev-unseen"], help="what to score on")
    parser.add_argument("--dev-sample", type=int, default=0, help="selector: score a stratified dev sample of N")
    parser.add_argument("--val-limit", type=int, default=0, help="mipro/gepa: stratified dev sample as valset")
    parser.add_argument("--num-candidates", type=int, default=4, help="mipro: instruction/demo candidates")
    parser.add_argument("--num-trials", type=int, default=0, help="mipro: trials (sets auto=None)")
    parser.add_argument("--minibatch-size", type=int, default=20, help="mipro: minibatch size")
    parser.add_argument("--full-eval-steps", type=int, default=5, help="mipro: full valset eval every N trials")
    parser.add_argument("--no-data-aware", action="store_true", help="mipro: skip the dataset summary")
    parser.add_argument("--max-metric-calls", type=int, default=0, help="gepa: budget (sets auto=None)")
    parser.add_argument("--log-dir", default=None, help="gepa: state directory; re-run to resume")
    parser.add_argument("--demos", type=int, default=4, help="max bootstrapped demos (k for labeled)")
    parser.add_argument("--labeled", type=int, default=4, help="max labeled demos")
    parser.add_argument("--candidates", type=int, default=4, help="random_search: candidate programs")
    parser.add_argument("--auto", choices=["light", "medium", "heavy"], default="light", help="MIPROv2/GEPA budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--train-limit", type=int, default=0, help="use only the first N train examples")
    parser.add_argument("--dev-limit", type=int, default=0, help="score on only the first N dev examples")
    parser.add_argument("--out", default=str(COMPILED_DIR), help="where compiled programs go (default: the graph's)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not score the uncompiled program first")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--activate", action="store_true", help="make it the graph's program whatever its score")
    group.add_argument("--no-activate", action="store_true", help="save the variant only")
    parser.add_argument("--activate-variant", default="",
                        help="make the saved variant <program>-NAME the active one (no compile), e.g. mipro")
    args = parser.parse_args(argv)
    configure()  # library defaults and the LM cache (runtime/bootstrap.py)
    logging.basicConfig(level=logging.WARNING)
    if args.activate_variant:
        return activate_variant(args.program, args.activate_variant, args)
    if args.optimizer == "gepa" and args.log_dir:  # refuse a bad resume file before minutes of scoring
        try:
            if gepa_state.check_resume_state(Path(args.log_dir)):
                print(f"[optimize] gepa: resuming from {args.log_dir}", file=sys.stderr, flush=True)
        except gepa_state.UnsafeGepaState as exc:
            print(f"optimize: {exc}", file=sys.stderr)
            return 2
    programs = COMPILABLE if args.program == "all" else (args.program,)
    for name in programs:
        compile_one(name, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
