"""Choosing the selector's `abstain` threshold on train rows (`optimize --abstain`).

The compiled program is run once over train rows it does not hold as demos, with the
probability of `answer_directly` recorded for each reply (native_adapter.py). Each threshold on
a fixed grid is then scored offline, with no further model calls: a reply whose probability
reaches it counts as "no tool". The threshold with the best exact tool-set accuracy wins (the
highest one on a tie, so the least intervention); none when no threshold beats the program as
it is. DSPy's optimizers search prompts, not a decision rule on the reply's probabilities, so
this small search is written here.
"""

from __future__ import annotations

import copy
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dspy

from dspy_programs.native_adapter import MEASURE_ONLY
from dspy_programs.programs import ToolSelector
from offline import data
from offline.metrics import no_tool_precision_recall, tool_set_exact

GRID = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


@dataclass(frozen=True)
class Probe:
    expected: list[dict[str, Any]]
    predicted: list[dict[str, Any]]
    p_direct: float | None


def measure(program: ToolSelector, examples: list[dspy.Example], lm: dspy.LM, threads: int) -> list[Probe]:
    """The program's reply and its answer-directly probability for each example."""
    probe = copy.deepcopy(program)
    probe.abstain = MEASURE_ONLY
    examples = sorted(examples, key=data.toolset_order)  # a prefix evaluated anew costs seconds

    def one(ex: dspy.Example) -> Probe:
        with dspy.context(lm=lm):
            pred = probe(**ex.inputs())
        predicted = [{"name": c.name, "args": c.args} for c in pred.calls]
        return Probe(list(ex.expected_calls), predicted, pred.direct_probability)

    probes: list[Probe] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for probe_ in pool.map(one, examples):
            probes.append(probe_)
            if len(probes) % 10 == 0 or len(probes) == len(examples):
                print(f"[abstain] measured {len(probes)}/{len(examples)} train rows "
                      f"({time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)  # fmt: skip
    called = [p for p in probes if p.predicted]
    if called and all(p.p_direct is None for p in called):
        raise RuntimeError("the model server returned no log-probabilities for the selector's replies; "
                           "--abstain needs an OpenAI-compatible server that honours `logprobs`/`top_logprobs` "
                           "(llama-server and OpenAI do)")  # fmt: skip
    return probes


def scored(probes: list[Probe], threshold: float) -> dict[str, Any]:
    """Exact tool-set accuracy and no-tool precision/recall if replies at `threshold` or above say no tool."""
    predicted = [[] if p.p_direct is not None and p.p_direct >= threshold else p.predicted for p in probes]
    pairs = [(p.expected, got) for p, got in zip(probes, predicted, strict=True)]
    precision, recall = no_tool_precision_recall(pairs)
    return {
        "threshold": None if threshold > 1 else threshold,
        "exact_tool_set": round(sum(tool_set_exact(e, got) for e, got in pairs) / len(pairs), 3) if pairs else 0.0,
        "no_tool_precision": precision,
        "no_tool_recall": recall,
    }


def choose(probes: list[Probe]) -> tuple[float | None, list[dict[str, Any]]]:
    """(the chosen threshold or None, the table of every threshold tried, the program as it is first)."""
    table = [scored(probes, MEASURE_ONLY), *(scored(probes, t) for t in GRID)]
    best = max(table, key=lambda row: (row["exact_tool_set"], row["threshold"] or 0.0))
    if best["exact_tool_set"] <= table[0]["exact_tool_set"]:
        return None, table
    return best["threshold"], table
