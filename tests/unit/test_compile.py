"""Compile, save, load and evaluate the DSPy programs, with a scripted LM."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from dspy_programs.store import load_program
from offline import compile as compile_step
from offline import evaluate as evaluate_step
from testkit.scripted_lm import ScriptedLM


@pytest.fixture
def lm(monkeypatch: pytest.MonkeyPatch) -> ScriptedLM:
    scripted = ScriptedLM()
    for module in (compile_step, evaluate_step):
        monkeypatch.setattr(module, "dspy_lm", lambda role, settings=None, model=None, max_tokens=None: scripted)
    return scripted


def compile_args(out: Path, optimizer: str) -> list[str]:
    return ["--program", "selector", "--optimizer", optimizer, "--demos", "2", "--labeled", "2",
            "--train-limit", "12", "--dev-limit", "6", "--threads", "1", "--out", str(out)]  # fmt: skip


def test_labeled_compile_saves_json_state_and_metadata_and_loads_back(lm: ScriptedLM, tmp_path: Path) -> None:
    assert compile_step.main([*compile_args(tmp_path, "labeled"), "--activate"]) == 0
    slug = next(tmp_path.iterdir()).name
    state = json.loads((tmp_path / slug / "selector.json").read_text())
    meta = json.loads((tmp_path / slug / "selector.meta.json").read_text())
    assert meta["optimizer"] == "labeled" and meta["train_examples"] == 12 and meta["dev_examples"] == 6
    assert set(meta) >= {"model", "dspy_version", "datasets", "dev_score_before", "dev_score_after", "lm_calls",
                         "wall_seconds", "date", "settings", "selector_config"}  # fmt: skip
    assert meta["datasets"]["tool_selection.jsonl"]
    demos = state["select"]["demos"]
    assert len(demos) == 2 and all("question" in d and "tool_calls" in d and "tools" in d for d in demos)
    assert meta["selector_config"] == {"adapter": "native", "reasoning": False, "direct": True, "constrain": "none",
                                       "demo_mode": "examples", "prefill": True, "abstain": None,
                                       "reply": "calls", "example_tools": "signatures"}  # fmt: skip
    program, how = load_program("selector", slug, tmp_path)
    assert how == "compiled (labeled)"
    assert len(program.select.demos) == 2  # type: ignore[attr-defined]


def test_a_compile_that_lowers_the_dev_score_is_not_activated(lm: ScriptedLM, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    scores = iter([0.9, 0.5])  # before, after
    monkeypatch.setattr(compile_step, "score", lambda *args: next(scores))
    compile_step.main(compile_args(tmp_path, "labeled"))
    slug = next(tmp_path.iterdir()).name
    assert (tmp_path / slug / "variants" / "selector-labeled.json").exists()
    assert not (tmp_path / slug / "selector.json").exists()


def test_compile_never_reads_the_test_split(lm: ScriptedLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    real = compile_step.data.selection_examples

    def spy(split: str | None, *args: object) -> list[object]:
        asked.append(str(split))  # a split of None (all of them) is recorded as 'None'
        return real(split)  # type: ignore[arg-type]

    monkeypatch.setitem(compile_step.TASKS, "selector", compile_step.Task(spy, compile_step.selection_metric,
                                                                          lambda ex: str(ex.category)))  # fmt: skip
    compile_step.main(compile_args(tmp_path, "bootstrap"))
    assert sorted(set(asked)) == ["dev", "train"]


def test_bootstrap_keeps_only_demos_the_metric_accepts(lm: ScriptedLM, tmp_path: Path) -> None:
    # The scripted model calls no tool for dataset questions, so only no-tool examples can pass.
    compile_step.main([*compile_args(tmp_path, "bootstrap"), "--labeled", "0"])
    slug = next(tmp_path.iterdir()).name
    saved = json.loads((tmp_path / slug / "variants" / "selector-bootstrap.json").read_text())
    demos = saved["select"]["demos"]
    assert demos and all(d["tool_calls"] == {"tool_calls": []} for d in demos)


def test_evaluate_writes_a_table_for_zero_shot_and_each_compiled_variant(lm: ScriptedLM, tmp_path: Path) -> None:
    compiled = tmp_path / "compiled"
    results = tmp_path / "results"
    compile_step.main(compile_args(compiled, "labeled"))
    evaluate_step.main(["--program", "selector", "--split", "dev", "--limit", "8", "--variants", "zero-shot",
                        "compiled", "--compiled-dir", str(compiled), "--results-dir", str(results)])  # fmt: skip
    (md,) = results.glob("selector-dev-*.md")
    table = md.read_text()
    zero_shot = "zero-shot"
    assert "| zero-shot |" in table and "| compiled: labeled |" in table
    assert "### dev: all" in table and "### dev: unseen tool sets" not in table  # the first 8 are shipped
    summary = json.loads(md.with_suffix(".json").read_text())["summary"]
    assert all(row["n"] == 8 for row in summary)
    none_rows = [
        o for o in json.loads(md.with_suffix(".json").read_text())["outcomes"][zero_shot]
    ]
    # The scripted model never calls a tool here: exactly the no-tool examples are right.
    assert summary[0]["exact_tool_set"] == round(sum(not o["expected"] for o in none_rows) / 8, 3)
    assert md.with_suffix(".png").stat().st_size > 0


def test_like_for_like_pairs_rows_with_as_many_calls_and_rescore_rebuilds_the_tables(tmp_path: Path) -> None:
    from offline.evaluate import NATIVE, Outcome, Variant, like_for_like

    def outcome(i: int, calls: int, seconds: float) -> Outcome:
        predicted = [{"name": "calculator", "args": {}}] * calls
        return Outcome(id=f"r{i}", category="single", toolset="shipped", expected=predicted, predicted=predicted,
                       exact=False, args=False, seconds=seconds, lm_calls=1, tokens=10)  # fmt: skip

    def not_run(ex: Any) -> tuple[list[Any], int, int]:
        raise AssertionError

    native = Variant(NATIVE, not_run, [outcome(1, 1, 2.0), outcome(2, 0, 1.0), outcome(3, 1, 4.0)])
    compiled = Variant("compiled: x", not_run, [outcome(1, 1, 1.0), outcome(2, 2, 9.0), outcome(3, 1, 3.0)])
    # Row r2 (two calls against none) is left out of both medians.
    assert like_for_like([native, compiled]) == [
        {"variant": "compiled: x", "rows": 2, "of": 3, "p50_s": 2.0, "native_p50_s": 3.0}]
    assert like_for_like([compiled]) == []  # no native tool calling in the run: nothing to pair with

    saved = tmp_path / "run.json"
    saved.write_text(json.dumps({"command": "evaluate --split dev", "split": "dev", "model": "m", "dspy_cache": False,
                                 "outcomes": {v.name: [o.__dict__ for o in v.outcomes] for v in (native, compiled)}}))
    assert evaluate_step.main(["--rescore", str(saved), "--results-dir", str(tmp_path / "out")]) == 0
    rebuilt = json.loads((tmp_path / "out" / "selector-dev-m.json").read_text())
    # The outcomes are scored again (the saved `exact` was False; expected equals predicted).
    assert [row["exact_tool_set"] for row in rebuilt["summary"]] == [1.0, 1.0]
    assert rebuilt["like_for_like"]["all"][0]["rows"] == 2 and rebuilt["dspy_cache"] is False
    assert "tables rebuilt by `evaluate --rescore run.json" in (tmp_path / "out" / "selector-dev-m.md").read_text()


def test_the_first_labeled_demos_include_a_near_miss_answered_with_no_call() -> None:
    """The selector's strata split each category by calls/no call, so k = one per stratum covers a
    near miss with no call: the kind native tool calling and the earlier demos got wrong."""
    from offline import data

    train = compile_step.interleave(data.selection_examples("train"), compile_step.selection_stratum,
                                    random.Random(2026))  # fmt: skip
    strata = {compile_step.selection_stratum(ex) for ex in train}
    first = train[: len(strata)]
    assert {compile_step.selection_stratum(ex) for ex in first} == strata
    assert any(ex.category == "near_miss" and not ex.expected_calls for ex in first)
    assert any(ex.category == "near_miss" and ex.expected_calls for ex in first)


def test_a_none_weight_takes_that_many_no_call_examples_per_no_call_stratum_in_each_turn() -> None:
    from offline import data

    examples = data.selection_examples("train")
    stratum = compile_step.selection_stratum
    plain = compile_step.interleave(examples, stratum, random.Random(2026))
    weighted = compile_step.interleave(examples, stratum, random.Random(2026), lambda k: 2 if "-none-" in k else 1)
    assert sorted(ex.id for ex in weighted) == sorted(ex.id for ex in examples)  # every example, once
    strata = {stratum(ex) for ex in examples}
    none_rows = {s: sum(stratum(ex) == s for ex in examples) for s in strata if "-none-" in s}
    first_turn = len(strata) + sum(min(n, 2) - 1 for n in none_rows.values())
    counts = {s: sum(stratum(ex) == s for ex in weighted[:first_turn]) for s in strata}
    assert counts == {s: min(none_rows.get(s, 1), 2) for s in strata}
    assert sum(not ex.expected_calls for ex in weighted[:first_turn]) > sum(not ex.expected_calls for ex in plain[:13])


def test_decline_strata_take_one_worked_example_of_each_reason_for_no_call() -> None:
    """`--strata decline` (default): the first k demos hold one no-call example per reason (chat,
    knowledge, writing, no_match) instead of two small-talk ones and no general knowledge."""
    from offline import data

    examples = data.selection_examples("train")
    for name in ("decline", "decline-toolset"):
        stratum = compile_step.STRATA[name]
        strata = {stratum(ex) for ex in examples}
        first = compile_step.interleave(examples, stratum, random.Random(2026))[: len(strata)]
        reasons = sorted(ex.decline for ex in first if not ex.expected_calls)
        per_reason = 2 if name == "decline-toolset" else 1  # shipped and other tools
        assert reasons == sorted(["chat", "knowledge", "no_match", "writing"] * per_reason)
        # Rows with calls keep their category x tool-set strata.
        assert {stratum(ex) for ex in first if ex.expected_calls} == {
            compile_step.selection_stratum(ex) for ex in examples if ex.expected_calls}
    knowledge = [ex for ex in examples if not ex.expected_calls and ex.decline == "knowledge"]
    assert {compile_step.STRATA["decline-toolset"](ex) for ex in knowledge} == {
        "knowledge-none-shipped", "knowledge-none-other"}


def test_every_no_call_row_says_why_and_no_row_with_calls_does() -> None:
    from offline import data

    rows = data.selection_examples(None)
    assert {ex.decline for ex in rows if not ex.expected_calls} == {"chat", "knowledge", "writing", "no_match"}
    assert {ex.decline for ex in rows if ex.expected_calls} == {""}


def test_no_tool_recall_is_broken_down_by_why_no_tool_is_needed() -> None:
    from offline.evaluate import Outcome, Variant, markdown_table, summarize

    def outcome(i: int, decline: str, predicted: list[dict[str, Any]]) -> Outcome:
        return Outcome(id=f"r{i}", category="none", toolset="shipped", expected=[], predicted=predicted,
                       exact=not predicted, args=not predicted, seconds=1.0, lm_calls=1, tokens=10,
                       decline=decline)  # fmt: skip

    search = [{"name": "search_knowledge", "args": {"query": "capital of France"}}]
    variant = Variant("v", lambda ex: ([], 1, 0), [outcome(1, "chat", []), outcome(2, "knowledge", search),
                                                  outcome(3, "knowledge", []), outcome(4, "chat", [])])  # fmt: skip
    row = summarize(variant)
    assert row["no_tool_recall_by_decline"] == {"chat": 1.0, "knowledge": 0.5}
    assert "| v | 1.0 | 0.5 |" in markdown_table([row], None)


def test_none_weight_applies_to_the_no_call_strata_whatever_their_names() -> None:
    """--none-weight reads which strata hold no-call rows from the rows, not from the strata's names."""
    import argparse

    args = argparse.Namespace(strata="decline", none_weight=2, seed=2026, train_limit=0, dev_split="dev",
                              dev_limit=0, dev_sample=0)  # fmt: skip
    train, _ = compile_step.load_splits("selector", compile_step.TASKS["selector"], args)
    first = train[:16]  # 8 strata with calls once, 4 reasons twice
    assert sorted(ex.decline for ex in first if not ex.expected_calls) == sorted(
        ["chat", "knowledge", "no_match", "writing"] * 2)
    assert sum(bool(ex.expected_calls) for ex in first) == 8


def test_gepa_feedback_says_why_no_tool_was_right() -> None:
    import dspy

    from offline.compile import _gepa_metric
    from offline.metrics import selection_metric

    metric = _gepa_metric(selection_metric)
    gold = dspy.Example(question="What is the capital of France?", expected_calls=[], decline="knowledge")
    wrong = metric(gold, dspy.Prediction(calls=[{"name": "search_knowledge", "args": {"query": "capital of France"}}]))
    assert wrong.score == 0.0
    assert wrong.feedback == "expected []: no tool is needed (a fact any encyclopedia has: a capital, an author, " \
                             "what an acronym or a general term means)"
    assert metric(gold, dspy.Prediction(calls=[])).feedback == "correct"
    calc = [{"name": "calculator", "args": {"expression": "48*365"}}]
    needs_tool = dspy.Example(question="48*365", expected_calls=calc)
    assert metric(needs_tool, dspy.Prediction(calls=[])).feedback.startswith('expected [{"name": "calculator"')


def test_gepa_resumes_from_its_own_state_and_refuses_a_planted_pickle_without_running_it(
    lm: ScriptedLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pickle

    log_dir = tmp_path / "gepa-state"
    args = [*compile_args(tmp_path / "out", "gepa"), "--max-metric-calls", "12", "--val-limit", "4",
            "--dev-sample", "4", "--skip-baseline", "--no-activate", "--log-dir", str(log_dir)]  # fmt: skip
    assert compile_step.main(args) == 0
    state_file = log_dir / "gepa_state.bin"
    assert state_file.exists()
    assert compile_step.main(args) == 0  # GEPA's own state is plain data: the re-run resumes from it
    assert "resuming from" in capsys.readouterr().err

    marker = tmp_path / "ran"

    class Payload:  # what an attacker would plant: unpickling it calls a function
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    planted = pickle.dumps({"program_candidates": [], "x": Payload()})
    state_file.write_bytes(planted)
    assert compile_step.main(args) == 2
    err = capsys.readouterr().err
    assert "gepa_state.bin is not a GEPA state" in err and "Nothing in it was run" in err
    assert not marker.exists()
    assert state_file.read_bytes() == planted  # left in place for the user to look at
