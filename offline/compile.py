"""`optimize`: compile the configured agent's tool selector on its rows, compare it, save it, serve it.

With no options: the agent of agent.toml (AGENT_CONFIG names another), its train rows compiled with
LabeledFewShot, the dev rows scored before and after, one table on the test rows (the uncompiled
program, the program compiled for the template's own tools, this compile, native tool calling),
the program saved under the agent's compiled folder for the serving model, and made the one the
graph runs when on dev it ties or beats the uncompiled program and beats the active one. The test
rows never choose anything. Experiments that lost are recorded in docs/optimize-experiments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dspy

from dspy_programs.programs import ToolSelector, selector_kwargs
from dspy_programs.signatures import decline_meaning
from dspy_programs.store import (
    COMPILED_DIR,
    ProgramLoadError,
    build,
    load_program,
    meta_path,
    program_path,
    read_meta,
    status_line,
)
from offline import data, rows
from offline.breaker import Breaker, EndpointDown
from offline.metrics import critique_metric, selection_metric
from runtime.agent_config import AgentConfig, AgentConfigError, agent_config
from runtime.bootstrap import configure
from runtime.models import Endpoint, dspy_lm, endpoint, lm_at
from runtime.settings import Role
from runtime.usage import UsageMeter

OPTIMIZERS = ("labeled", "bootstrap", "mipro", "gepa")
COMPILABLE = ("selector", "synthesizer", "critic")
DEFAULT_DEMOS = 12  # LabeledFewShot's k for the active program: one worked example per stratum
TEMPLATE = "compiled for the template's tools"


def synthesis_metric(example: Any, pred: Any, trace: Any = None, *_: Any) -> float | bool:
    """Every number in the reference answer appears in the prediction (the facts are carried over)."""
    import re

    numbers = set(re.findall(r"\d+(?:\.\d+)?", str(example.answer).replace(",", "")))
    got = set(re.findall(r"\d+(?:\.\d+)?", str(getattr(pred, "answer", "")).replace(",", "")))
    score = len(numbers & got) / len(numbers) if numbers else 1.0
    return score >= 1.0 if trace is not None else score


def selection_stratum(ex: dspy.Example) -> str:
    """A row with calls by its category and tool set (the agent's own or another); one with none by
    why no tool is needed (`decline`) when the row says, so the first demos show each way to decline."""
    if not ex.expected_calls and ex.get("decline"):
        return f"{ex.decline}-none"
    calls = "calls" if ex.expected_calls else "none"
    return f"{ex.category}-{calls}-{'shipped' if ex.toolset == rows.OWN_TOOLS else 'other'}"


def later_round(ex: dspy.Example) -> bool:
    """A row of a later round: calls were already made, their results (or errors) are in view."""
    return bool(str(ex.get("tool_results") or "").strip())


def interleave(examples: list[dspy.Example], stratum: Callable[[dspy.Example], str],
               rng: random.Random) -> list[dspy.Example]:  # fmt: skip
    """Shuffle, then take one example of each stratum in turn until all are used: optimizers walk
    the train set in order, so the first demos cover every kind of row."""
    shuffled = list(examples)
    rng.shuffle(shuffled)
    groups: dict[str, list[dspy.Example]] = {}
    for ex in shuffled:
        groups.setdefault(stratum(ex), []).append(ex)
    out: list[dspy.Example] = []
    while any(groups.values()):
        for key in sorted(groups):
            out += groups[key][:1]
            groups[key] = groups[key][1:]
    return out


def stratified_sample(examples: list[dspy.Example], n: int, seed: int) -> list[dspy.Example]:
    """A seeded sample of n selection examples with every (own tools or not, category) stratum
    represented (`evaluate --sample`)."""
    if not n:
        return examples
    return interleave(examples, lambda ex: f"{ex.toolset == 'shipped'}-{ex.category}", random.Random(seed))[:n]


def gepa_metric(metric: Callable[..., Any]) -> Callable[..., Any]:
    """The metric with the feedback GEPA's reflection model reads: the expected calls when wrong."""

    def with_feedback(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        score = float(metric(gold, pred))
        expected = json.dumps(getattr(gold, "expected_calls", getattr(gold, "verdict", "")), default=str)
        feedback = "correct" if score >= 1 else f"expected {expected}"
        decline = str(gold.get("decline") or "") if isinstance(gold, dspy.Example) else ""
        if score < 1 and decline:  # the reflection model is told why no tool was right
            feedback += f": no tool is needed ({decline_meaning(decline)})"
        return dspy.Prediction(score=score, feedback=feedback)

    return with_feedback


def make_optimizer(name: str, metric: Callable[..., Any], args: argparse.Namespace, student_lm: dspy.LM,
                   teacher_lm: dspy.LM) -> Any:  # fmt: skip
    """The optimizer, with the teacher where it has a role (the student always runs on the serving model)."""
    if name == "labeled":
        return dspy.LabeledFewShot(k=args.demos)
    if name == "bootstrap":  # the teacher writes the traces the student keeps as demos
        return dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=args.demos, max_labeled_demos=args.demos,
                                     max_rounds=1, teacher_settings={"lm": teacher_lm})  # fmt: skip
    if name == "mipro":  # the teacher proposes instructions and bootstraps; trials run on the student
        return dspy.MIPROv2(metric=metric, auto=None, num_candidates=max(2, args.budget // 2), num_threads=args.threads,
                            seed=args.seed, verbose=False, max_bootstrapped_demos=min(args.demos, 4),
                            max_labeled_demos=args.demos, prompt_model=teacher_lm, task_model=student_lm,
                            teacher_settings={"lm": teacher_lm})  # fmt: skip
    if name == "gepa":  # the teacher reflects on the student's failures and rewrites the instructions
        return dspy.GEPA(metric=gepa_metric(metric), max_metric_calls=args.budget * 10, num_threads=args.threads,
                         reflection_lm=teacher_lm, seed=args.seed, track_stats=True)  # fmt: skip
    raise ValueError(f"unknown optimizer {name!r}; choose from {OPTIMIZERS}")


def compile_kwargs(args: argparse.Namespace, train: list[dspy.Example], dev: list[dspy.Example]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"trainset": train}
    if args.optimizer == "labeled":
        kwargs["sample"] = False  # the first k of the interleaved train set: every kind of row
    if args.optimizer in ("mipro", "gepa"):
        kwargs["valset"] = dev
    if args.optimizer == "mipro":
        kwargs.update(num_trials=args.budget, minibatch_size=min(20, max(1, len(dev))), minibatch_full_eval_steps=5)
    return kwargs


def score(program: dspy.Module, examples: list[dspy.Example], metric: Callable[..., Any], lm: dspy.LM,
          threads: int, what: str) -> float:  # fmt: skip
    """`what`'s score on the dev rows, announced before DSPy's own progress line and stated after it."""
    print(f"[optimize] dev: scoring {what} on {len(examples)} rows", file=sys.stderr, flush=True)
    # DSPy's progress bar redraws with carriage returns: in a terminal only, not in a log file.
    evaluate = dspy.Evaluate(devset=examples, metric=metric, num_threads=threads, display_progress=sys.stderr.isatty(),
                             provide_traceback=False, max_errors=len(examples) + 1)  # fmt: skip
    with dspy.context(lm=lm):
        result = round(float(evaluate(program).score), 2)
    print(f"[optimize] dev score, {what}: {result}", file=sys.stderr, flush=True)
    return result


def _tokens_since(lm: dspy.LM, start: int) -> dict[str, int]:
    """Prompt and completion tokens of the requests this compile sent (cache hits report none)."""
    totals = {"prompt": 0, "completion": 0}
    for entry in lm.history[start:]:
        usage = entry.get("usage") or {}
        totals["prompt"] += int(usage.get("prompt_tokens") or 0)
        totals["completion"] += int(usage.get("completion_tokens") or 0)
    return totals


@dataclass
class Run:
    """One optimize run: what it read, what it made, how it scored."""

    program: str
    slug: str
    out: Path
    train: list[dspy.Example]
    dev: list[dspy.Example]
    test: list[dspy.Example]
    data_hash: str
    compiled: dspy.Module | None = None
    before: float | None = None
    after: float = 0.0
    active_dev: float | None = None
    compile_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def teacher_lm(args: argparse.Namespace, config: AgentConfig, student: Endpoint) -> dspy.LM | None:
    """The teacher's LM (--teacher, TEACHER_MODEL or agent.toml's `teacher`), or None: the student teaches."""
    model = args.teacher or config.teacher_model()
    if not model:
        return None
    base_url = config.teacher_url() or student.base_url
    api_key = os.environ.get("TEACHER_API_KEY") or student.api_key
    return lm_at(Endpoint(model, base_url, api_key))


def selector_data(args: argparse.Namespace, config: AgentConfig) -> tuple[list[Any], list[Any], list[Any], str]:
    loaded = rows.load(config, seed=args.seed)
    if loaded.unreviewed:
        print(f"[optimize] warning: {len(loaded.unreviewed)} row(s) are drafts nobody has reviewed "
              f"(\"reviewed\": false, e.g. {loaded.unreviewed[0]['id']}); check them and set \"reviewed\": true",
              file=sys.stderr, flush=True)  # fmt: skip
    if missing := rows.missing_kinds(loaded):
        print(f"[optimize] warning: no row of {', '.join(missing)}: write more rows of that kind",
              file=sys.stderr, flush=True)  # fmt: skip
    examples = rows.examples(loaded, "train")
    # Each round interleaved on its own, first rounds first: rows of a later round added to the data
    # never reorder the first-round rows, so the first-round examples a compile picks stay put.
    train = [ex for later in (False, True) for ex in interleave(
        [e for e in examples if later_round(e) == later], selection_stratum, random.Random(args.seed))]  # fmt: skip
    digest = "".join(data.file_hash(f.name, f.parent) for f in loaded.files)
    return train, rows.examples(loaded, "dev"), rows.examples(loaded, "test"), digest[:16]


def other_data(program_name: str) -> tuple[list[Any], list[Any], list[Any], str]:
    """The synthesizer's and critic's rows: the template's critique data."""
    read = data.critique_examples if program_name == "critic" else data.synthesis_examples
    return read("train"), read("dev"), [], data.file_hash("critique.jsonl")


def compile_program(program_name: str, args: argparse.Namespace, config: AgentConfig, breaker: Breaker) -> Run:
    role: Role = program_name  # type: ignore[assignment]
    ep = endpoint(role)
    student_lm = breaker.guard(dspy_lm(role))
    teacher = teacher_lm(args, config, ep)
    teacher_guarded = breaker.guard(teacher) if teacher is not None else student_lm
    train, dev, test, digest = selector_data(args, config) if program_name == "selector" else other_data(program_name)
    run = Run(program_name, ep.slug, Path(args.out), train, dev, test, digest)
    metric = selection_metric if program_name == "selector" else critique_metric if program_name == "critic" \
        else synthesis_metric  # fmt: skip
    teacher_note = f", teacher {teacher.model.removeprefix('openai/')}" if teacher is not None else ""
    print(f"[optimize] {config.name}: {program_name} with {args.optimizer} on {ep.slug}{teacher_note}: "
          f"{len(train)} train, {len(dev)} dev, {len(test)} test rows", file=sys.stderr, flush=True)  # fmt: skip
    student = build(program_name)  # the defaults: the measured choices (dspy_programs/programs.py)
    meter = UsageMeter("optimize")
    history = len(student_lm.history)
    started = time.perf_counter()
    with dspy.context(lm=student_lm, callbacks=[meter], track_usage=True):
        run.before = score(student, dev, metric, student_lm, args.threads, "the uncompiled program") if dev else None
        optimizer = make_optimizer(args.optimizer, metric, args, student_lm, teacher_guarded)
        compile_started, calls_before = time.perf_counter(), meter.calls
        # LabeledFewShot's examples are first rounds: later-round rows in the same prompt made the
        # first rounds' choices worse and the later rounds no better (docs/critique-loop.md).
        first_rounds = [ex for ex in train if not later_round(ex)] \
            if args.optimizer == "labeled" and program_name == "selector" else train  # fmt: skip
        run.compiled = optimizer.compile(student, **compile_kwargs(args, first_rounds, dev))
        run.compile_seconds = round(time.perf_counter() - compile_started, 1)
        compile_calls = meter.calls - calls_before
        run.after = score(run.compiled, dev, metric, student_lm, args.threads, "the compiled program") if dev else 0.0
        active = active_program(program_name, run)
        run.active_dev = (score(active, dev, metric, student_lm, args.threads, "the active program")
                          if active is not None and dev else None)
    run.meta = {
        "program": program_name, "optimizer": args.optimizer, "agent": config.name,
        "settings": {"demos": args.demos, "budget": args.budget, "seed": args.seed, "threads": args.threads,
                     "teacher": teacher.model.removeprefix("openai/") if teacher is not None else None},
        "model": ep.slug, "dspy_version": dspy.__version__, "data": config.data, "data_hash": digest,
        "train_examples": len(train), "dev_examples": len(dev),
        "dev_score_before": run.before, "dev_score_after": run.after, "dev_score_active": run.active_dev,
        "compile_wall_seconds": run.compile_seconds, "compile_lm_calls": compile_calls, "lm_calls": meter.calls,
        "teacher_lm_calls": len(teacher_guarded.history) if teacher is not None else None,
        "tokens": _tokens_since(student_lm, history), "wall_seconds": round(time.perf_counter() - started, 1),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    if isinstance(run.compiled, ToolSelector):
        run.meta["selector_config"] = run.compiled.config()
    return run


def active_program(program_name: str, run: Run) -> dspy.Module | None:
    """The program the graph runs now for this model, if one is compiled (scored on the same dev rows)."""
    if not program_path(program_name, run.slug, run.out).exists():
        return None
    try:
        return load_program(program_name, run.slug, run.out)[0]
    except ProgramLoadError as exc:  # this compile replaces it when it wins against the uncompiled one on dev
        print(f"[optimize] warning: the active program does not load ({exc}); it is not scored", file=sys.stderr,
              flush=True)  # fmt: skip
        return None


def wins_on_dev(run: Run) -> bool:
    """At least the uncompiled program's dev score, and above the active program's if one is compiled.

    A tie with the uncompiled program goes to the compile: its worked examples are the user's own
    labeled rows, and a dev split of a dozen rows often cannot tell the two apart. A tie with the
    active program keeps the active one: nothing changes without evidence.
    """
    return run.after >= (run.before or 0) and (run.active_dev is None or run.after > run.active_dev)


def save(run: Run, args: argparse.Namespace) -> Path:
    """The variant (always), and the active program when it wins on dev (`wins_on_dev`)."""
    assert run.compiled is not None
    variant = run.out / run.slug / "variants" / f"{run.program}-{args.optimizer}.json"
    variant.parent.mkdir(parents=True, exist_ok=True)
    run.compiled.save(str(variant))
    wins = wins_on_dev(run)
    run.meta["activated"] = bool(wins and not args.no_activate)
    variant.with_suffix(".meta.json").write_text(json.dumps(run.meta, indent=2) + "\n")
    if run.meta["activated"]:
        shutil.copyfile(variant, program_path(run.program, run.slug, run.out))
        meta_path(run.program, run.slug, run.out).write_text(json.dumps(run.meta, indent=2) + "\n")
    return variant


def compare(run: Run, args: argparse.Namespace, lm: dspy.LM) -> str:
    """One table on the test rows: uncompiled, compiled for the template's tools, this compile, native."""
    from offline import evaluate

    assert isinstance(run.compiled, ToolSelector)
    variants = [evaluate.dspy_variant("uncompiled (zero-shot)", ToolSelector(), lm)]
    template_path = program_path("selector", run.slug, COMPILED_DIR)
    if template_path.exists() and run.out.resolve() != COMPILED_DIR.resolve():
        template = ToolSelector(**selector_kwargs(read_meta("selector", run.slug, COMPILED_DIR) or {}))
        template.load(str(template_path))
        variants.append(evaluate.dspy_variant(TEMPLATE, template, lm))
    variants.append(evaluate.dspy_variant(f"compiled now ({args.optimizer})", run.compiled, lm))
    variants.append(evaluate.native_variant(None))
    for variant in variants:
        print(f"[optimize] test rows: {variant.name}", file=sys.stderr, flush=True)
        evaluate.run_variant(variant, run.test, args.threads)
    summaries = [evaluate.summarize(v) for v in variants]
    table = evaluate.markdown_table(summaries, None)
    run.meta["test_table"] = summaries
    return table


def not_active_reason(run: Run, variant: Path) -> str:
    """Why the compile was saved as a variant only, and how to serve it anyway."""
    if wins_on_dev(run):
        return "not active: --no-activate"
    active = program_path(run.program, run.slug, run.out)
    against = f"the active program's {run.active_dev}" if run.active_dev is not None and run.after <= run.active_dev \
        else f"the uncompiled program's {run.before}"  # fmt: skip
    return (f"not active: it scored {run.after} on dev against {against}; to serve it anyway, copy "
            f"{variant.name} and {variant.with_suffix('.meta.json').name} over {active.name} and "
            f"{meta_path(run.program, run.slug, run.out).name} in {active.parent}")


def report(run: Run, variant: Path, table: str) -> str:
    where = variant.relative_to(Path.cwd()) if variant.is_relative_to(Path.cwd()) else variant
    state = "active: the graph runs it" if run.meta["activated"] else not_active_reason(run, variant)
    lines = [f"## optimize: {run.meta['agent']} {run.program} ({run.meta['optimizer']}) for {run.slug}", "",
             f"dev score: uncompiled {run.before}, compiled {run.after}"
             + (f", active before {run.active_dev}" if run.active_dev is not None else ""),
             f"compile: {run.compile_seconds} s, {run.meta['compile_lm_calls']} LM calls; with the dev scoring "
             f"{run.meta['wall_seconds']} s", f"saved {where} ({state})", status_line(run.out)]  # fmt: skip
    if table:
        lines += ["", f"Test rows ({len(run.test)}, never used to compile or choose):", "", table]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="optimize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="labeled",
                        help="labeled (default: LabeledFewShot, no model call to compile), bootstrap, mipro, gepa")
    parser.add_argument("--demos", type=int, default=DEFAULT_DEMOS, help="worked examples in the prompt (default 12)")
    parser.add_argument("--budget", type=int, default=10,
                        help="search budget: mipro trials, gepa metric calls / 10 (default 10)")
    parser.add_argument("--teacher", default="",
                        help="a stronger model: bootstrap's teacher, mipro's proposer, gepa's reflection model "
                             "(default: TEACHER_MODEL or agent.toml's teacher; none: the serving model)")
    parser.add_argument("--data", default="", help="labeled rows, a .jsonl file or folder (default: agent.toml's)")
    parser.add_argument("--out", default="", help="compiled programs folder (default: agent.toml's `compiled`)")
    parser.add_argument("--program", choices=COMPILABLE, default="selector")
    parser.add_argument("--no-compare", action="store_true", help="skip the table on the test rows")
    parser.add_argument("--no-activate", action="store_true", help="save the program as a variant only")
    parser.add_argument("--threads", type=int, default=1, help="parallel model requests (default 1)")
    parser.add_argument("--seed", type=int, default=2026, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configure()  # library defaults and the LM cache (runtime/bootstrap.py)
    try:
        config = agent_config()
        if args.data:
            config = config.model_copy(update={"data": str(Path(args.data).resolve())})
        args.out = args.out or str(config.compiled_dir)
        breaker = Breaker()
        run = compile_program(args.program, args, config, breaker)
        variant = save(run, args)
        table = compare(run, args, breaker.guard(dspy_lm("selector"))) \
            if args.program == "selector" and run.test and not args.no_compare else ""  # fmt: skip
        if table:  # the table joins the metadata beside the program
            variant.with_suffix(".meta.json").write_text(json.dumps(run.meta, indent=2) + "\n")
            if run.meta["activated"]:
                meta_path(run.program, run.slug, run.out).write_text(json.dumps(run.meta, indent=2) + "\n")
    except (AgentConfigError, FileNotFoundError) as exc:
        print(f"optimize: {exc}", file=sys.stderr)
        return 2
    except rows.RowsError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"optimize: {exc}; nothing was compiled", file=sys.stderr)
        return 2
    except EndpointDown as exc:
        print(f"optimize: {exc}", file=sys.stderr)
        return 3
    text = report(run, variant, table)
    variant.with_suffix(".md").write_text(f"Command: `optimize {' '.join(argv if argv is not None else sys.argv[1:])}`"
                                          f" (agent {config.name})\n\n{text}")  # fmt: skip
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
