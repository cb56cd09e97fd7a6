"""The loop's measurements: the answers report (raw answers, wrong -> right examples) and the critic
evaluation's checks-first verdicts, without a model."""

from __future__ import annotations

from typing import Any

import dspy

from offline.evaluate_answers import report, summarize
from offline.evaluate_critic import critic_judge, parse_results


def outcome(i: int, correct: bool, answer: str, seconds: float = 5.0) -> dict[str, Any]:
    return {"id": f"ans-{i}", "question": f"q{i}?", "expected": "1", "correct": correct, "answer": answer,
            "raw": answer.startswith("ERROR"), "seconds": seconds, "lm_calls": 2, "node_seconds": {}, "error": None,
            "rounds": 1}  # fmt: skip


def test_the_report_counts_raw_answers_and_shows_what_the_loop_fixed() -> None:
    off = [outcome(1, False, "ERROR: unknown unit 'x'"), outcome(2, True, "1")]
    on = [outcome(1, True, "It is 1."), outcome(2, True, "1")]
    summary = [summarize("critique loop off", off), summarize("critique loop on", on)]
    assert [s["raw_answers"] for s in summary] == [1, 0]
    changes = {"fixed": ["ans-1"], "broken": [],
               "examples": [{"id": "ans-1", "question": "q1?", "expected": "1", "off": off[0]["answer"],
                             "on": "It is 1."}]}  # fmt: skip
    text = report("evaluate --program answers", "test", summary, changes, ["note"])
    assert "1 answers wrong → right (ans-1), 0 right → wrong (none)" in text
    assert "| ans-1 | q1? | 1 | ERROR: unknown unit 'x' | It is 1. |" in text


def test_parsed_results_mark_a_failure_a_later_call_replaced_as_retried() -> None:
    text = ('convert_units({"value": 72}) -> ERROR: unknown unit\n'
            'convert_units({"value": 72.0}) -> {"value": 22.2222, "unit": "degree_Celsius"}')  # fmt: skip
    first, second = parse_results(text)
    assert first.get("retried") is True and "retried" not in second


def test_checks_first_judges_mismatched_calls_and_missing_steps_as_need_more_info() -> None:
    judge = critic_judge(program=None, lm=None, checks_first=True)  # type: ignore[arg-type]  # no model is asked
    regrouped = dspy.Example(question="What is (1234 + 5678) * 3?", draft="It is 18268.",
                             tool_results='calculator({"expression": "1234 + 5678 * 3"}) -> 18268')  # fmt: skip
    assert judge(regrouped) == ("need_more_info", 0)
    passage = ('search_knowledge({"query": "hotel cap"}) -> [{"source": "travel.md", "text": "Seattle: $300 per '
               'night."}]')  # fmt: skip
    computed = dspy.Example(question="What is the hotel cap for 3 nights in Seattle?", draft="Up to $950.",
                            tool_results=passage)  # fmt: skip
    assert judge(computed) == ("need_more_info", 0)
    raw = dspy.Example(question="What is 2 + 2?", draft="ERROR: could not parse",
                       tool_results='calculator({"expression": "2 + 2"}) -> 4')  # fmt: skip
    assert judge(raw) == ("refine", 0)
