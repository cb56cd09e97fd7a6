"""Compile, save, load and evaluate the DSPy programs, with a scripted LM."""

from __future__ import annotations

import json
import math
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


def test_the_first_labeled_demos_hold_each_reason_for_no_call_and_each_kind_of_call() -> None:
    """The train order takes one row of each stratum in turn: a row with calls by category and tool
    set, a row with none by why no tool is needed, so k = one per stratum covers every reason to
    decline (chat, knowledge, writing, no_match) and every kind of call."""
    examples = data.selection_examples("train")
    stratum = compile_step.selection_stratum
    strata = {stratum(ex) for ex in examples}
    first = compile_step.interleave(examples, stratum, random.Random(2026))[: len(strata)]
    assert sorted(ex.decline for ex in first if not ex.expected_calls) == ["chat", "knowledge", "no_match", "writing"]
    assert {stratum(ex) for ex in first if ex.expected_calls} == {stratum(ex) for ex in examples if ex.expected_calls}
    assert any(ex.category == "near_miss" and ex.expected_calls for ex in first)


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
