"""Compile, save, load and evaluate the DSPy programs, with a scripted LM."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from offline import compile as compile_step
from offline import data
from offline import evaluate as evaluate_step
from testkit.scripted_lm import ScriptedLM


@pytest.fixture
def lm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLM:
    scripted = ScriptedLM()
    monkeypatch.setattr(evaluate_step, "dspy_lm", lambda role, settings=None, model=None, max_tokens=None: scripted)
    return scripted


def save_labeled(out: Path, k: int = 2) -> str:
    """A LabeledFewShot selector saved as a variant the way optimize saves one (its metadata beside it)."""
    import dspy

    from dspy_programs.programs import ToolSelector
    from runtime.models import endpoint

    slug = endpoint("selector").slug
    train = compile_step.interleave(data.selection_examples("train"), compile_step.selection_stratum,
                                    random.Random(2026))  # fmt: skip
    program = dspy.LabeledFewShot(k=k).compile(ToolSelector(), trainset=train, sample=False)
    variant = out / slug / "variants" / "selector-labeled.json"
    variant.parent.mkdir(parents=True)
    program.save(str(variant))
    variant.with_suffix(".meta.json").write_text(json.dumps({"optimizer": "labeled",
                                                             "selector_config": program.config()}))  # fmt: skip
    return slug


def test_evaluate_writes_a_table_for_zero_shot_and_each_compiled_variant(lm: ScriptedLM, tmp_path: Path) -> None:
    compiled = tmp_path / "compiled"
    results = tmp_path / "results"
    save_labeled(compiled)
    evaluate_step.main(["--program", "selector", "--split", "dev", "--limit", "8", "--variants", "zero-shot",
                        "compiled", "--compiled-dir", str(compiled), "--results-dir", str(results)])  # fmt: skip
    (md,) = results.glob("selector-dev-*.md")
    table = md.read_text()
    zero_shot = "zero-shot"
    assert "| zero-shot |" in table and "| compiled: labeled" in table
    assert "### dev: all" in table and "### dev: unseen tool sets" not in table  # the first 8 are shipped
    summary = json.loads(md.with_suffix(".json").read_text())["summary"]
    assert all(row["n"] == 8 for row in summary)
    none_rows = [
        o for o in json.loads(md.with_suffix(".json").read_text())["outcomes"][zero_shot]
    ]
    # The scripted model never calls a tool here: exactly the no-tool examples are right.
    assert summary[0]["exact_tool_set"] == round(sum(not o["expected"] for o in none_rows) / 8, 3)
    assert md.with_suffix(".png").stat().st_size > 0


def test_paired_latency_pairs_rows_with_as_many_calls_and_rescore_rebuilds_the_tables(tmp_path: Path) -> None:
    from offline.evaluate import NATIVE, Outcome, Run, Variant, paired_latency

    def outcome(i: int, calls: int, seconds: float) -> Outcome:
        predicted = [{"name": "calculator", "args": {}}] * calls
        return Outcome(id=f"r{i}", category="single", toolset="shipped", expected=predicted, predicted=predicted,
                       exact=False, args=False, seconds=seconds, lm_calls=1, tokens=10)  # fmt: skip

    def not_run(ex: Any) -> Run:
        raise AssertionError

    native = Variant(NATIVE, not_run, [outcome(1, 1, 2.0), outcome(2, 0, 1.0), outcome(3, 1, 4.0)])
    compiled = Variant("compiled: x", not_run, [outcome(1, 1, 1.0), outcome(2, 2, 9.0), outcome(3, 1, 3.0)])
    # Row r2 (two calls against none) is left out of both medians.
    assert paired_latency([native, compiled]) == [
        {"variant": "compiled: x", "rows": 2, "of": 3, "p50_s": 2.0, "native_p50_s": 3.0}]
    assert paired_latency([compiled]) == []  # no native tool calling in the run: nothing to pair with

    saved = tmp_path / "run.json"
    saved.write_text(json.dumps({"command": "evaluate --split dev", "split": "dev", "model": "m", "dspy_cache": False,
                                 "outcomes": {v.name: [o.__dict__ for o in v.outcomes] for v in (native, compiled)}}))
    assert evaluate_step.main(["--rescore", str(saved), "--results-dir", str(tmp_path / "out")]) == 0
    rebuilt = json.loads((tmp_path / "out" / "selector-dev-m.json").read_text())
    # The outcomes are scored again (the saved `exact` was False; expected equals predicted).
    assert [row["exact_tool_set"] for row in rebuilt["summary"]] == [1.0, 1.0]
    assert rebuilt["paired_latency"]["all"][0]["rows"] == 2 and rebuilt["dspy_cache"] is False
    assert "tables rebuilt by `evaluate --rescore run.json" in (tmp_path / "out" / "selector-dev-m.md").read_text()


def test_the_first_labeled_demos_hold_each_reason_for_no_call_and_each_kind_of_call() -> None:
    """The train order takes one row of each stratum in turn: a row with calls by category and tool
    set, a row with none by why no tool is needed, so k = one per stratum covers every reason to
    decline (chat, knowledge, writing, no_match) and every kind of call."""
    everything = data.selection_examples("train")
    later = [ex for ex in everything if ex.category in ("retry", "next_step") or ex.decline == "answered"]
    assert later and all(ex.tool_results for ex in later)
    examples = [ex for ex in everything if not compile_step.later_round(ex)]  # what LabeledFewShot is given
    stratum = compile_step.selection_stratum
    strata = {stratum(ex) for ex in examples}
    first = compile_step.interleave(examples, stratum, random.Random(2026))[: len(strata)]
    assert sorted(ex.decline for ex in first if not ex.expected_calls) == ["chat", "knowledge", "no_match", "writing"]
    assert {stratum(ex) for ex in first if ex.expected_calls} == {stratum(ex) for ex in examples if ex.expected_calls}
    assert any(ex.category == "near_miss" and ex.expected_calls for ex in first)


def test_a_later_rounds_row_shows_the_selector_its_results_as_the_graph_writes_them() -> None:
    from dspy_programs.selector_adapter import ToolSelectionAdapter
    from dspy_programs.signatures import SelectTools
    from nodes.prompting import format_results

    row = {"id": "r1", "question": "How many Condor arms are in stock?", "history": [],
           "tool_results": [{"name": "search_inventory", "args": {"sku": "NW-ARM-350"},
                             "error": "not run: unknown tool 'search_inventory'; the tools are http_api"}],
           "expected_calls": [{"name": "http_api", "args": {"path": "/inventory/NW-ARM-350"}}]}  # fmt: skip
    ex = data.selection_example(row, [], "retry")
    assert ex.tool_results == format_results(row["tool_results"])  # type: ignore[arg-type]
    assert ex.tool_results == ('search_inventory({"sku": "NW-ARM-350"}) -> ERROR: not run: unknown tool '
                               "'search_inventory'; the tools are http_api")  # fmt: skip
    messages = ToolSelectionAdapter().format(SelectTools, [ex], {"question": "q", "tools": [], "tool_results": ""})
    assert "ERROR: not run: unknown tool 'search_inventory'" in messages[0]["content"]  # the demo shows it


def test_every_no_call_row_says_why_and_no_row_with_calls_does() -> None:
    from offline import data

    rows = data.selection_examples(None)
    declines = {ex.decline for ex in rows if not ex.expected_calls}
    assert declines == {"chat", "knowledge", "writing", "no_match", "answered"}
    assert {ex.decline for ex in rows if ex.expected_calls} == {""}


def test_no_tool_recall_is_broken_down_by_why_no_tool_is_needed() -> None:
    from offline.evaluate import Outcome, Run, Variant, markdown_table, summarize

    def outcome(i: int, decline: str, predicted: list[dict[str, Any]]) -> Outcome:
        return Outcome(id=f"r{i}", category="none", toolset="shipped", expected=[], predicted=predicted,
                       exact=not predicted, args=not predicted, seconds=1.0, lm_calls=1, tokens=10,
                       decline=decline)  # fmt: skip

    search = [{"name": "search_knowledge", "args": {"query": "capital of France"}}]
    variant = Variant("v", lambda ex: Run([], 1, 0), [outcome(1, "chat", []), outcome(2, "knowledge", search),
                                                  outcome(3, "knowledge", []), outcome(4, "chat", [])])  # fmt: skip
    row = summarize(variant)
    assert row["no_tool_recall_by_decline"] == {"chat": 1.0, "knowledge": 0.5}
    assert "| v | 1.0 | 0.5 |" in markdown_table([row], None)


def test_gepa_feedback_says_why_no_tool_was_right() -> None:
    import dspy

    from offline.compile import gepa_metric
    from offline.metrics import selection_metric

    metric = gepa_metric(selection_metric)
    gold = dspy.Example(question="What is the capital of France?", expected_calls=[], decline="knowledge")
    wrong = metric(gold, dspy.Prediction(calls=[{"name": "search_knowledge", "args": {"query": "capital of France"}}]))
    assert wrong.score == 0.0
    assert wrong.feedback == "expected []: no tool is needed (a fact any encyclopedia has: a capital, an author, " \
                             "what an acronym or a general term means)"
    assert metric(gold, dspy.Prediction(calls=[])).feedback == "correct"
    calc = [{"name": "calculator", "args": {"expression": "48*365"}}]
    needs_tool = dspy.Example(question="48*365", expected_calls=calc)
    assert metric(needs_tool, dspy.Prediction(calls=[])).feedback.startswith('expected [{"name": "calculator"')



def test_labeled_examples_are_first_rounds_and_later_rows_never_reorder_them() -> None:
    """Rows of a later round go after the first-round ones in the train order and are left out of
    LabeledFewShot's examples, so adding them changes no example: the compile still gives the
    active program's."""
    import argparse

    import dspy

    from dspy_programs.programs import ToolSelector
    from runtime.agent_config import agent_config

    args = argparse.Namespace(optimizer="labeled", demos=12, seed=2026, data=None)
    train, dev, _, _ = compile_step.selector_data(args, agent_config())
    firsts = [ex for ex in train if not compile_step.later_round(ex)]
    assert len(firsts) < len(train)  # the template has later-round rows in train
    from offline import rows

    in_file = [ex for ex in rows.examples(rows.load(agent_config()), "train") if not compile_step.later_round(ex)]
    alone = compile_step.interleave(in_file, compile_step.selection_stratum, random.Random(2026))  # as if none
    assert [ex.id for ex in train[: len(firsts)]] == [ex.id for ex in alone]  # later rows go after
    program = dspy.LabeledFewShot(k=12).compile(ToolSelector(), **compile_step.compile_kwargs(args, firsts, dev))
    active = json.loads((Path(__file__).resolve().parents[2] / "dspy_programs" / "compiled" / "qwen2.5-coder-1.5b"
                         / "selector.json").read_text())  # fmt: skip
    assert [d["question"] for d in active["select"]["demos"]] == [d.question for d in program.select.demos]
