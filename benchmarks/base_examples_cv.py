"""Cross-validation on an agent's train and dev rows: its own worked examples alone, or after the template's.

    AGENT_CONFIG=examples/kitchen/agent.toml DSPY_CACHE=false python -m benchmarks.base_examples_cv
    AGENT_CONFIG=examples/kitchen/agent.toml DSPY_CACHE=false \
        python -m benchmarks.base_examples_cv --demos 24 --own-only

The train and dev rows (never the test rows) are dealt into folds by kind with a fixed seed. For
each fold, `optimize`'s LabeledFewShot compile is run on the other folds (the first `--demos` rows
of the interleaved train set, 12 by default), and the selector is scored on the fold with and
without the template's compiled worked examples placed before the agent's own. The template's
program alone is scored on every row as the reference. `--own-only` scores the agent's own
examples alone (`--demos` of them). One request at a time, the LM cache off: every selection is a
first run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

import dspy

from dspy_programs.programs import ToolSelector
from dspy_programs.store import COMPILED_DIR, load_program
from offline import evaluate, rows
from offline.compile import DEFAULT_DEMOS, interleave, selection_stratum
from runtime.agent_config import agent_config
from runtime.bootstrap import configure
from runtime.models import dspy_lm, endpoint


def own_compile(train: list[dspy.Example], seed: int, demos: int) -> ToolSelector:
    """What `optimize` compiles on `train` (LabeledFewShot on the interleaved rows, in order)."""
    ordered = interleave(train, selection_stratum, random.Random(seed))
    compiled = dspy.LabeledFewShot(k=demos).compile(ToolSelector(), trainset=ordered, sample=False)
    assert isinstance(compiled, ToolSelector)
    return compiled


def with_base(own: ToolSelector, base: ToolSelector) -> ToolSelector:
    program = own.deepcopy()
    program.select.demos = [*base.select.demos, *own.select.demos]
    return program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--demos", type=int, default=DEFAULT_DEMOS, help="the agent's own worked examples per fold")
    parser.add_argument("--own-only", action="store_true", help="neither the template's examples nor the reference")
    parser.add_argument("--out", default="benchmarks/results/base-examples-cv")
    args = parser.parse_args(argv)
    configure()
    config = agent_config()
    loaded = rows.load(config, seed=args.seed)
    pool = rows.examples(loaded, "train") + rows.examples(loaded, "dev")
    dealt = interleave(pool, selection_stratum, random.Random(args.seed))
    folds = [dealt[i :: args.folds] for i in range(args.folds)]
    slug = endpoint("selector").slug
    template, _ = load_program("selector", slug, COMPILED_DIR)
    assert isinstance(template, ToolSelector)
    lm = dspy_lm("selector")
    names = ("own",) if args.own_only else ("own", "template then own")
    variants = {name: evaluate.dspy_variant(f"{name} (k={args.demos})", ToolSelector(), lm) for name in names}
    for i, held in enumerate(folds):
        train = [ex for j, fold in enumerate(folds) if j != i for ex in fold]
        own = own_compile(train, args.seed, args.demos)
        programs = {"own": own, "template then own": with_base(own, template)}
        for name in names:
            program = programs[name]
            print(f"[cv] fold {i + 1}/{args.folds}: {name} ({len(program.select.demos)} examples) on {len(held)} rows",
                  file=sys.stderr, flush=True)  # fmt: skip
            fold_variant = evaluate.dspy_variant(name, program, lm)
            evaluate.run_variant(fold_variant, held, 1)
            variants[name].outcomes += fold_variant.outcomes
    scored = list(variants.values())
    if not args.own_only:
        scored.append(evaluate.dspy_variant("template alone", template, lm))
        print(f"[cv] template alone on {len(pool)} rows", file=sys.stderr, flush=True)
        evaluate.run_variant(scored[-1], pool, 1)
    summaries = [evaluate.summarize(v) for v in scored]
    command = (f"AGENT_CONFIG={os.environ.get('AGENT_CONFIG', 'agent.toml')} python -m benchmarks.base_examples_cv "
               f"{' '.join(argv or sys.argv[1:])}").strip()
    table = evaluate.markdown_table(summaries, None)
    text = (f"Command: `{command}` (agent {config.name}; {len(pool)} train+dev rows in {args.folds} folds; "
            f"LM cache off, one request at a time)\n\n{table}\n")  # fmt: skip
    out = Path(f"{args.out}-{config.name}{'-k' + str(args.demos) if args.own_only else ''}")
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"command": command, "summary": summaries}, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
