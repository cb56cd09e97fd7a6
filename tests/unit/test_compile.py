"""Compile, save, load and evaluate the DSPy programs, with a scripted LM."""

from __future__ import annotations

import json
import math
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
                         "wall_seconds", "date", "settings", "adapter"}  # fmt: skip
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
    zero_shot = "zero-shot (Predict, answer_directly, unconstrained, prefilled reply)"
    assert zero_shot in table and "compiled: labeled (Predict, answer_directly, unconstrained, prefilled reply" in table
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


def _spec_line(name: str, props: dict[str, object], required: list[str]) -> str:
    return json.dumps({"name": name, "description": f"{name} tool.",
                       "parameters": {"type": "object", "properties": props, "required": required}})  # fmt: skip


SHIPPED_DATE = _spec_line("date_calculator", {"operation": {"type": "string"}, "date": {"type": "string"}},
                          ["operation", "date"])  # fmt: skip
OTHER_DATE = _spec_line("date_calculator", {"start": {"type": "string"}, "end": {"type": "string"}},
                        ["start", "end"])  # fmt: skip
DEMO = {"question": "What weekday is 2026-03-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE,
        "tool_calls": {"tool_calls": [{"name": "date_calculator",
                                       "args": {"operation": "weekday", "date": "2026-03-01"}}]}}  # fmt: skip


def test_worked_examples_carry_their_own_tools_and_no_call_is_a_tool() -> None:
    from dspy_programs.native_adapter import NativeToolAdapter
    from dspy_programs.signatures import SelectTools

    days_between = OTHER_DATE.replace('"date_calculator"', '"days_between"')
    inputs = {"question": "Days between 2026-01-01 and 2026-02-01?", "conversation": "", "gathered": "",
              "tools": days_between}  # fmt: skip
    messages, tools, extra = NativeToolAdapter().format_native(SelectTools, [DEMO], inputs)
    system = messages[0]["content"]
    assert "date_calculator(operation: string, date: string)" in system and "Example 1 (tools 1)" in system
    from dspy_programs.native_adapter import tools_in_system

    assert tools == []  # llama-server refuses a grammar with `tools`: they are in the system message
    assert [t["function"]["name"] for t in tools_in_system(messages)] == ["days_between", "answer_directly"]
    assert '"\\"days_between\\""' in extra["grammar"] and '"\\"start\\""' in extra["grammar"]
    assert '"\\"operation\\""' not in extra["grammar"]  # the offered schema, not the example's
    reply = {"text": '{"calls":[{"name":"answer_directly","arguments":{}}]}'}
    assert NativeToolAdapter().parse_output(SelectTools, reply)["tool_calls"].tool_calls == []


def test_turn_demos_are_kept_only_when_their_calls_fit_the_offered_schemas() -> None:
    from dspy_programs.native_adapter import usable_turn_demos
    from dspy_programs.tool_specs import ToolSpec

    def specs(line: str) -> list[ToolSpec]:
        return [ToolSpec.from_any(json.loads(line))]

    assert usable_turn_demos([DEMO], specs(SHIPPED_DATE)) == [DEMO]
    assert usable_turn_demos([DEMO], specs(OTHER_DATE)) == []  # same name, another schema


def test_provider_tool_calls_as_objects_are_parsed() -> None:
    from types import SimpleNamespace

    from dspy_programs.native_adapter import NativeToolAdapter
    from dspy_programs.signatures import SelectTools

    call = SimpleNamespace(function=SimpleNamespace(name="calculator", arguments='{"expression": "2+2"}'))
    parsed = NativeToolAdapter().parse_output(SelectTools, {"text": "", "tool_calls": [call]})
    assert [(c.name, c.args) for c in parsed["tool_calls"].tool_calls] == [("calculator", {"expression": "2+2"})]


def test_a_prefilled_reply_starts_as_compact_json_and_parses_with_or_without_the_prefix() -> None:
    from dspy_programs.native_adapter import PREFILLS, NativeToolAdapter
    from dspy_programs.signatures import SelectTools

    inputs = {"question": "What weekday is 2026-03-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE}
    adapter = NativeToolAdapter(constrain="none", prefill=True)
    messages, tools, extra = adapter.format_native(SelectTools, [], inputs)
    assert messages[-1] == {"role": "assistant", "content": PREFILLS["calls"]} and messages[-2]["role"] == "user"
    assert [t["function"]["name"] for t in tools] == ["date_calculator", "answer_directly"] and not extra
    rest = 'date_calculator", "arguments": {"operation": "weekday", "date": "2026-03-01"}}]}'
    for text in (rest, PREFILLS["calls"] + rest):  # a server may return the continuation only, or the whole reply
        calls = adapter.parse_output(SelectTools, {"text": text})["tool_calls"].tool_calls
        expected = [("date_calculator", {"operation": "weekday", "date": "2026-03-01"})]
        assert [(c.name, c.args) for c in calls] == expected
    # With the grammar the reply is already compact and constrained: no prefill message is added.
    grammar_messages, _, _ = NativeToolAdapter(constrain="grammar", prefill=True).format_native(SelectTools, [], inputs)
    assert grammar_messages[-1]["role"] == "user"


def test_the_keyed_reply_is_asked_for_shown_in_examples_and_parsed_in_either_format() -> None:
    from dspy_programs.native_adapter import PREFILLS, NativeToolAdapter, direct_probability
    from dspy_programs.programs import ToolSelector
    from dspy_programs.signatures import SelectTools

    inputs = {"question": "What weekday is 2026-03-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE}
    demo = {"question": "Weekday of 2026-01-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE,
            "tool_calls": [{"name": "date_calculator", "args": {"operation": "weekday", "date": "2026-01-01"}}]}
    adapter = NativeToolAdapter(constrain="none", prefill=True, reply="keyed")
    messages, _, _ = adapter.format_native(SelectTools, [demo], inputs)
    assert messages[-1] == {"role": "assistant", "content": PREFILLS["keyed"]}
    system = messages[0]["content"]
    assert '[{"answer_directly": {}}] when no other tool is needed' in system
    assert 'Reply: [{"date_calculator": {"operation": "weekday", "date": "2026-01-01"}}]' in system
    expected = [("date_calculator", {"operation": "weekday", "date": "2026-03-01"})]
    rest = 'date_calculator": {"operation": "weekday", "date": "2026-03-01"}}]'
    calls_reply = ('{"calls": [{"name": "date_calculator", "arguments": '
                   '{"operation": "weekday", "date": "2026-03-01"}}]}')
    for text in (rest, PREFILLS["keyed"] + rest, calls_reply):  # continuation, whole reply, the other format
        calls = adapter.parse_output(SelectTools, {"text": text})["tool_calls"].tool_calls
        assert [(c.name, c.args) for c in calls] == expected
    direct = adapter.parse_output(SelectTools, {"text": 'answer_directly": {}}]'})["tool_calls"].tool_calls
    assert direct == []
    # The name position of a keyed reply, for the answer-directly probability.
    logprobs = _logprobs([("date", [("date", 0.7), ("answer", 0.3)])])
    assert direct_probability(logprobs, PREFILLS["keyed"], ["date_calculator", "answer_directly"],
                              "answer_directly", "keyed") == 0.3  # fmt: skip
    # The grammar and the schema write the "calls" object, and a reasoning field has no place in a list.
    with pytest.raises(ValueError, match="keyed"):
        NativeToolAdapter(constrain="grammar", reply="keyed")
    with pytest.raises(ValueError, match="keyed"):
        ToolSelector(reasoning=True, reply="keyed")
    assert ToolSelector(reply="keyed").config()["reply"] == "keyed"


def test_the_triage_reply_states_the_need_first_and_a_declined_need_makes_no_call() -> None:
    from dspy_programs.native_adapter import NEEDS, PREFILLS, UNDIRECTED_NEEDS, NativeToolAdapter, reply_json
    from dspy_programs.programs import ToolSelector
    from dspy_programs.signatures import DECLINES, SelectTools

    inputs = {"question": "What is the capital of France?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE}
    call_demo = {"question": "Weekday of 2026-01-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE,
                 "tool_calls": [{"name": "date_calculator", "args": {"operation": "weekday", "date": "2026-01-01"}}]}
    chat_demo = {"question": "hi!", "conversation": "", "gathered": "", "tools": SHIPPED_DATE, "decline": "chat",
                 "tool_calls": {"tool_calls": []}}
    no_match = {**chat_demo, "question": "book me a flight", "decline": "no_match"}
    unlabeled = {**chat_demo, "question": "ok", "decline": ""}  # a user's row with no reason
    demos: list[dict[str, Any]] = [call_demo, chat_demo, no_match, unlabeled]
    adapter = NativeToolAdapter(constrain="none", prefill=True, reply="triage")
    messages, tools, _ = adapter.format_native(SelectTools, demos, inputs)
    assert messages[-1] == {"role": "assistant", "content": PREFILLS["triage"]}
    assert [t["function"]["name"] for t in tools] == ["date_calculator", "answer_directly"]
    system = messages[0]["content"]
    assert '"common_knowledge" (a fact any encyclopedia has' in system
    assert ('Reply: {"need": "tools", "calls": [{"name": "date_calculator", "arguments": '
            '{"operation": "weekday", "date": "2026-01-01"}}]}') in system
    assert 'User: hi!\nReply: {"need": "small_talk", "calls": []}' in system
    # A request no tool does is a choice among the tools: answer_directly.
    direct = '{"need": "tools", "calls": [{"name": "answer_directly", "arguments": {}}]}'
    assert f"User: book me a flight\nReply: {direct}" in system and f"User: ok\nReply: {direct}" in system
    # Without the answer-directly tool, those two have labels of their own.
    undirected = NativeToolAdapter(direct=False, constrain="none", prefill=True, reply="triage")
    messages, tools, _ = undirected.format_native(SelectTools, demos, inputs)
    assert [t["function"]["name"] for t in tools] == ["date_calculator"]
    assert 'User: book me a flight\nReply: {"need": "no_matching_tool", "calls": []}' in messages[0]["content"]
    assert 'User: ok\nReply: {"need": "no_tool", "calls": []}' in messages[0]["content"]
    # A reason outside the dataset's four is "no_tool" there, never the tool that is not offered.
    assert reply_json([], False, "triage", "opinion") == '{"need": "no_tool", "calls": []}'
    # Every reason the datasets may give has a need of its own, with or without answer_directly.
    assert {*NEEDS, *UNDIRECTED_NEEDS} - {""} == set(DECLINES)

    def parsed(text: str) -> list[tuple[str, dict[str, object]]]:
        return [(c.name, c.args) for c in adapter.parse_output(SelectTools, {"text": text})["tool_calls"].tool_calls]

    call = ('tools", "calls": [{"name": "date_calculator", "arguments": '
            '{"operation": "weekday", "date": "2026-03-01"}}]}')
    for text in (call, PREFILLS["triage"] + call):  # the continuation, or the whole reply
        assert parsed(text) == [("date_calculator", {"operation": "weekday", "date": "2026-03-01"})]
    assert parsed('common_knowledge", "calls": []}') == []
    assert parsed('tools", "calls": [{"name": "answer_directly", "arguments": {}}]}') == []
    # A declined need decides, even if the model then writes a call anyway.
    assert parsed('common_knowledge", "calls": [{"name": "date_calculator", "arguments": {}}]}') == []
    # Unconstrained and without reasoning only.
    for bad in ({"constrain": "grammar"}, {"reasoning": True}):
        with pytest.raises(ValueError, match="triage"):
            ToolSelector(**{"reply": "triage", **bad})  # type: ignore[arg-type]
    assert ToolSelector(reply="triage").config()["reply"] == "triage"


class _Replies:
    """An LM that answers each request with the next reply and keeps what was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.requests = list(replies), []  # type: list[str], list[dict[str, Any]]

    def __call__(self, messages: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        self.requests.append({"messages": messages, **kwargs})
        return [{"text": self.replies.pop(0)}]

    async def acall(self, messages: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        return self(messages, **kwargs)


def test_retry_asks_again_under_the_grammar_only_when_the_free_reply_holds_an_invalid_call() -> None:
    import asyncio

    from dspy_programs.native_adapter import NativeToolAdapter
    from dspy_programs.signatures import SelectTools

    inputs = {"question": "Weekday of 2026-03-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE}
    valid = 'date_calculator", "arguments": {"operation": "weekday", "date": "2026-03-01"}}]}'
    adapter = NativeToolAdapter(constrain="retry", prefill=True)
    for reply in (valid, 'answer_directly", "arguments": {}}]}'):  # a valid reply is kept: one request
        lm = _Replies(reply)
        adapter(lm, {}, SelectTools, [], inputs)  # type: ignore[arg-type]
        assert len(lm.requests) == 1 and "grammar" not in lm.requests[0]
    # A tool that was not offered (from a worked example's list), then arguments against the schema.
    for invalid in ('search_calendar", "arguments": {"day": "2026-03-01"}}]}',
                    'date_calculator", "arguments": {"when": "2026-03-01"}}]}'):
        lm = _Replies(invalid, '{"calls": [{"name": "date_calculator", "arguments": '
                               '{"operation": "weekday", "date": "2026-03-01"}}]}')
        results = asyncio.run(adapter.acall(lm, {}, SelectTools, [], inputs))  # type: ignore[arg-type]
        assert [(c.name, c.args) for c in results[0]["tool_calls"].tool_calls] == [
            ("date_calculator", {"operation": "weekday", "date": "2026-03-01"})]
        first, second = lm.requests
        assert "grammar" not in first and first["messages"][-1]["role"] == "assistant"  # free, prefilled
        assert "date_calculator" in second["grammar"] and second["messages"][-1]["role"] == "user"
        # The same system message up to the tools (the server's cached prefix serves the retry).
        assert second["messages"][0]["content"].startswith(first["messages"][0]["content"])
    # Unconstrained (the default), an invalid call is left to validation: no second request.
    lm = _Replies('search_calendar", "arguments": {}}]}')
    NativeToolAdapter(constrain="none", prefill=True)(lm, {}, SelectTools, [], inputs)  # type: ignore[arg-type]
    assert len(lm.requests) == 1


def test_examples_tool_lists_are_signatures_by_default_and_older_programs_keep_descriptions() -> None:
    from dspy_programs.native_adapter import examples_block
    from dspy_programs.programs import selector_kwargs

    demo = {"question": "Weekday of 2026-01-01?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE,
            "tool_calls": [{"name": "date_calculator", "args": {"operation": "weekday", "date": "2026-01-01"}}]}
    described = examples_block([demo], direct=True, tools="described")
    signatures = examples_block([demo], direct=True)
    assert "- date_calculator(operation: string, date: string): date_calculator tool" in described
    assert "- date_calculator(operation: string, date: string)\n" in signatures
    assert "date_calculator tool" not in signatures  # the description's first sentence
    # Metadata written before the option existed: the examples were described, the reply "calls".
    old = selector_kwargs({"selector_config": {"adapter": "native", "demo_mode": "examples", "prefill": True}})
    assert old["example_tools"] == "described" and old["reply"] == "calls"


def test_an_example_calling_a_same_named_tool_with_another_schema_is_left_out() -> None:
    from dspy_programs.native_adapter import NativeToolAdapter
    from dspy_programs.signatures import SelectTools

    inputs = {"question": "Days between 2026-01-01 and 2026-02-01?", "conversation": "", "gathered": "",
              "tools": OTHER_DATE}  # fmt: skip
    other = {**DEMO, "question": "How long is it from 2026-01-01 to 2026-03-01?", "tools": OTHER_DATE,
             "tool_calls": {"tool_calls": [{"name": "date_calculator",
                                            "args": {"start": "2026-01-01", "end": "2026-03-01"}}]}}  # fmt: skip
    messages, _, _ = NativeToolAdapter(constrain="none").format_native(SelectTools, [DEMO, other], inputs)
    system = messages[0]["content"]
    assert "What weekday is 2026-03-01?" not in system  # its date_calculator(operation, date) clashes
    assert "How long is it from 2026-01-01 to 2026-03-01?" in system  # valid against the offered schema


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


def _logprobs(tokens: list[tuple[str, list[tuple[str, float]]]]) -> dict[str, Any]:
    """An OpenAI-style `logprobs` object: each token with its top alternatives (token, probability)."""
    return {"content": [{"token": t, "logprob": 0.0,
                         "top_logprobs": [{"token": a, "logprob": math.log(p)} for a, p in top]}
                        for t, top in tokens]}  # fmt: skip


def test_the_answer_directly_probability_is_read_at_the_first_name_and_acted_on_above_the_threshold() -> None:
    from dspy_programs.native_adapter import PREFILLS, TOP_LOGPROBS, NativeToolAdapter, direct_probability
    from dspy_programs.signatures import SelectTools

    names = ["search_knowledge", "calculator", "answer_directly"]
    # The server returns the continuation of the prefill: its first token is the name's start.
    continuation = _logprobs([("search", [("search", 0.6), ("answer", 0.3), ("calculator", 0.1)]),
                              ('_knowledge", "arguments": {"query": "capital of France"}}]}', [])])  # fmt: skip
    assert direct_probability(continuation, PREFILLS["calls"], names, "answer_directly") == 0.3
    # A whole reply (no prefill): the name position is found after `"name": "`.
    whole = _logprobs([('{"calls": [{"name": "', []), ("search", [("search", 0.8), ("answer", 0.2)])])
    assert direct_probability(whole, "", names, "answer_directly") == 0.2
    # A token that also starts a user's tool name counts for neither.
    assert direct_probability(whole, "", [*names, "answer_faq"], "answer_directly") == 0.0
    assert direct_probability(_logprobs([("{}", [])]), "", names, "answer_directly") is None

    inputs = {"question": "What is the capital of France?", "conversation": "", "gathered": "", "tools": SHIPPED_DATE}
    _, _, plain = NativeToolAdapter(constrain="none", prefill=True).format_native(SelectTools, [], inputs)
    adapter = NativeToolAdapter(constrain="none", prefill=True, abstain=0.25)
    _, _, extra = adapter.format_native(SelectTools, [], inputs)
    assert not plain and extra == {"logprobs": True, "top_logprobs": TOP_LOGPROBS}
    text = 'search_knowledge", "arguments": {"query": "capital of France"}}]}'
    for p_direct, calls in ((0.3, []), (0.2, ["search_knowledge"])):
        reply = {"text": text, "logprobs": _logprobs([("search", [("search", 1 - p_direct), ("answer", p_direct)])])}
        parsed = adapter.parse_output(SelectTools, reply, names=names[:2])
        assert [c.name for c in parsed["tool_calls"].tool_calls] == calls and parsed["direct_probability"] == p_direct
    # Without the answer-directly tool there is nothing to read, so nothing is asked for.
    assert NativeToolAdapter(direct=False, abstain=0.25).abstain is None


def test_the_abstain_threshold_is_the_best_on_the_measured_rows_and_none_when_nothing_beats_the_program() -> None:
    from offline.calibrate import Probe, choose

    call = [{"name": "search_knowledge", "args": {"query": "x"}}]
    probes = [Probe([], call, 0.3), Probe([], call, 0.12), Probe(call, call, 0.04), Probe(call, call, 0.2)]
    threshold, table = choose(probes)
    assert table[0]["threshold"] is None and table[0]["exact_tool_set"] == 0.5  # the program as it is
    # 0.25 and 0.3 turn the first row right (0.75); 0.15..0.2 also the second but break the last: the highest wins.
    assert threshold == 0.3 and max(r["exact_tool_set"] for r in table) == 0.75
    assert choose([Probe(call, call, 0.2), Probe([], [], None)])[0] is None


def test_optimize_abstain_measures_the_rows_that_are_not_demos_and_saves_the_threshold(
    lm: ScriptedLM, tmp_path: Path
) -> None:
    assert compile_step.main([*compile_args(tmp_path, "labeled"), "--abstain", "--no-activate", "--tag", "a"]) == 0
    slug = next(tmp_path.iterdir()).name
    meta = json.loads((tmp_path / slug / "variants" / "selector-labeled-a.meta.json").read_text())
    calibration = meta["abstain_calibration"]
    assert calibration["rows"] == 12 - 2  # train minus the two demos
    assert meta["selector_config"]["abstain"] == calibration["threshold"]
    assert sum(role == "selector" for role in lm.roles()) >= calibration["rows"]
    from dspy_programs.programs import ToolSelector, selector_kwargs

    loaded = ToolSelector(**selector_kwargs(meta))
    assert loaded.abstain == calibration["threshold"]


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
