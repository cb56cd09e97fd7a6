"""The critique loop's routing for failed calls, mismatched calls and missing steps, and the
finalize guard, with the shipped tools and a scripted LM (every decision deterministic)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.cache.memory import InMemoryCache

from agent_types.context import Context
from graphs.agent import build_graph
from testkit.inputs import user_input
from testkit.scripted_lm import ScriptedLM, default_script
from tools import TOOLS

Call = dict[str, Any]


def scripted(
    select: Callable[[str], list[Call]],
    synth: Callable[[str], str],
    refined: str | None = None,
) -> ScriptedLM:
    """A selector whose calls depend on the gathered results, and a synthesizer on the tool results."""

    def script(role: str, fields: dict[str, str]) -> dict[str, Any]:
        if role == "selector":
            return {"reasoning": "", "tool_calls": {"tool_calls": select(fields.get("tool_results", ""))}}
        if role == "synthesizer":
            return {"answer": synth(fields.get("tool_results", ""))}
        if role == "refiner":
            return {"answer": refined if refined is not None else fields["draft"]}
        return default_script(role, fields)

    return ScriptedLM(script)


def run(monkeypatch: pytest.MonkeyPatch, lm: ScriptedLM, question: str, **ctx: Any) -> dict[str, Any]:
    monkeypatch.setattr("nodes.roles.lm_at", lambda endpoint, settings=None, max_tokens=None: lm)
    out: dict[str, Any] = build_graph(TOOLS, cache=InMemoryCache()).invoke(user_input(question), context=Context(**ctx))
    return out


def calc(expression: str) -> Call:
    return {"name": "calculator", "args": {"expression": expression}}


def convert(value: float, source: str, target: str) -> Call:
    return {"name": "convert_units", "args": {"value": value, "from_unit": source, "to_unit": target}}


def last_line(results: str) -> str:
    """The output of the last call in the synthesizer's tool results."""
    return [line for line in results.splitlines() if " -> " in line][-1].split(" -> ", 1)[1]


# A failed call gets a second try.


def test_a_tool_error_goes_back_to_select_with_the_error_and_the_corrected_call_answers(monkeypatch) -> None:
    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [convert(72, "degree_fahrenheight", "degree_celsius")]
        assert "ERROR: unknown unit 'degree_fahrenheight'" in gathered and "'degF'" in gathered
        return [convert(72, "degF", "degC")]

    lm = scripted(select, lambda results: f"72 °F is {json.loads(last_line(results))['value']} °C.")
    out = run(monkeypatch, lm, "Convert 72 degrees Fahrenheit to Celsius.")
    assert lm.roles() == ["selector", "selector", "synthesizer"]  # no draft before the correction
    assert out["answer"] == "72 °F is 22.2222 °C."
    assert out["verdict"] == "accept" and out["tool_results"][0]["retried"] is True


def test_a_second_round_does_not_show_the_question_as_an_earlier_turn(monkeypatch) -> None:
    # After the first round the thread ends in this turn's tool-call message; the question before
    # it is the one being answered, not conversation (which the prompts would show twice).
    def select(gathered: str) -> list[Call]:
        return [convert(72, "degF", "degC")] if gathered else [convert(72, "degree_fahrenheight", "degree_celsius")]

    lm = scripted(select, lambda results: "72 °F is 22.2222 °C.")
    run(monkeypatch, lm, "Convert 72 degrees Fahrenheit to Celsius.")
    conversations = [fields["conversation"] for role, fields in lm.calls if role in ("selector", "synthesizer")]
    assert len(conversations) == 3 and not any("Fahrenheit" in c for c in conversations)


def test_a_failed_call_is_not_retried_beyond_max_tool_rounds(monkeypatch) -> None:
    lm = scripted(lambda gathered: [convert(72, "degree_fahrenheight", "degC")], lambda results: "ERROR: " + results)
    out = run(monkeypatch, lm, "Convert 72 degrees Fahrenheit to Celsius.", max_tool_rounds=1, max_refinements=0)
    # Every try failed: no draft is written from errors alone; the answer says in words what failed and why.
    assert lm.roles() == ["selector"]
    assert out["answer"].startswith("I could not convert 72 degree_fahrenheight to degC: unknown unit")
    assert "ERROR" not in out["answer"] and "did you mean" not in out["answer"]


def test_with_the_loop_off_a_failed_call_goes_straight_to_the_draft(monkeypatch) -> None:
    lm = scripted(lambda gathered: [convert(72, "degree_fahrenheight", "degC")], lambda results: "It failed.")
    out = run(monkeypatch, lm, "Convert 72 degrees Fahrenheit to Celsius.", critique=False)
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["answer"] == "It failed." and "retried" not in out["tool_results"][0]


def test_a_refused_call_goes_back_to_select_with_the_valid_tool_names(monkeypatch) -> None:
    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [{"name": "search_inventory", "args": {"sku": "NW-ARM-200"}}]
        assert "unknown tool 'search_inventory'; the tools are calculator, convert_units" in gathered
        # The nearest offered tool, and the part of its description that matched, are named.
        assert "the nearest is http_api: stock levels (/inventory/{sku})" in gathered
        return [calc("12 * 3")]

    lm = scripted(select, lambda results: f"That is {last_line(results)}.")
    out = run(monkeypatch, lm, "What is 12 * 3?")
    assert lm.roles() == ["selector", "selector", "synthesizer"]
    # The refused call was replaced by one that worked: the checks ask for no apology.
    assert out["answer"] == "That is 36." and out["verdict"] == "accept"


def test_a_refused_call_a_later_call_replaced_is_not_in_the_drafting_prompt(monkeypatch) -> None:
    # The call check turned the refusal into a failed result, which a later call replaced: the
    # synthesizer, told of it anyway, wrote "the tool search_inventory is not recognized".
    def select(gathered: str) -> list[Call]:
        return [calc("12 * 3")] if gathered else [{"name": "search_inventory", "args": {"sku": "NW-ARM-200"}}]

    lm = scripted(select, lambda results: f"That is {last_line(results)}.")
    run(monkeypatch, lm, "What is 12 * 3?")
    drafted = [fields["tool_results"] for role, fields in lm.calls if role == "synthesizer"]
    assert len(drafted) == 1 and "search_inventory" not in drafted[0] and "-> 36" in drafted[0]


def test_with_the_loop_off_a_refused_call_is_in_the_drafting_prompt(monkeypatch) -> None:
    lm = scripted(lambda gathered: [{"name": "search_inventory", "args": {"sku": "NW-ARM-200"}}],
                  lambda results: "I could not look that up.")  # fmt: skip
    run(monkeypatch, lm, "How many NW-ARM-200 arms are in stock?", critique=False)
    drafted = [fields["tool_results"] for role, fields in lm.calls if role == "synthesizer"]
    assert drafted == ["search_inventory not run: unknown tool"]


# Arguments checked against the question.


def test_a_call_that_regroups_the_questions_expression_is_corrected_before_any_draft(monkeypatch) -> None:
    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [calc("1234 + 5678 * 3")]
        assert 'call calculator again with {"expression": "(1234 + 5678) * 3"}' in gathered
        return [calc("(1234 + 5678) * 3")]

    lm = scripted(select, lambda results: f"(1234 + 5678) * 3 = {last_line(results)}.")
    out = run(monkeypatch, lm, "What is (1234 + 5678) * 3?")
    assert lm.roles() == ["selector", "selector", "synthesizer"]
    # The synthesizer reads only the call that replaced the failed one (nodes/checks.py, settled).
    assert lm.calls[2][1]["tool_results"].startswith('calculator({"expression": "(1234 + 5678) * 3"}) -> 20736')
    assert "ERROR" not in lm.calls[2][1]["tool_results"]
    assert out["answer"] == "(1234 + 5678) * 3 = 20736." and out["verdict"] == "accept"


def test_a_mismatched_call_the_selector_does_not_replace_keeps_its_output(monkeypatch) -> None:
    lm = scripted(lambda gathered: [] if gathered else [calc("1234 + 5678 * 3")],
                  lambda results: f"The result is {last_line(results)}.")  # fmt: skip
    out = run(monkeypatch, lm, "What is (1234 + 5678) * 3?")
    # The check may be wrong; with no other call, the set-aside output is put back and answered.
    assert lm.roles() == ["selector", "selector", "synthesizer"]
    assert out["tool_results"][0]["output"] == "18268" and out["tool_results"][0]["error"] is None
    assert out["answer"] == "The result is 18268."


def test_nautical_miles_converted_as_statute_miles_go_back_to_select(monkeypatch) -> None:
    def select(gathered: str) -> list[Call]:
        return [convert(10, "nautical miles", "km")] if gathered else [convert(10, "mile", "km")]

    lm = scripted(select, lambda results: f"10 nautical miles is {json.loads(last_line(results))['value']} km.")
    out = run(monkeypatch, lm, "How many km are 10 nautical miles?")
    assert "the question says nautical mile" in lm.calls[1][1]["tool_results"]
    assert out["answer"] == "10 nautical miles is 18.52 km."


def test_a_days_between_question_answered_with_add_days_is_sent_back(monkeypatch) -> None:
    wrong = {"name": "date_calculator", "args": {"operation": "add_days", "date": "2026-01-05", "days": 55}}
    right = {"name": "date_calculator",
             "args": {"operation": "difference", "date": "2026-01-05", "end_date": "2026-03-01"}}  # fmt: skip
    lm = scripted(lambda gathered: [right] if gathered else [wrong],
                  lambda results: f"There are {json.loads(last_line(results))['days']} days between them.")  # fmt: skip
    out = run(monkeypatch, lm, "How many days are there between 2026-01-05 and 2026-03-01?")
    assert "operation 'difference'" in lm.calls[1][1]["tool_results"]
    assert out["answer"] == "There are 55 days between them." and out["verdict"] == "accept"


# A missing step becomes another tool round.


def test_a_figure_computed_from_a_passage_by_the_model_becomes_a_calculator_round(monkeypatch) -> None:
    search = {"name": "search_knowledge", "args": {"query": "hotel cap per night Seattle"}}

    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [search]
        assert "$300" in gathered  # the passage is in view
        if "calculator(" in gathered:
            return []
        # Sent back, the selector is told which figure no tool gave and which tools compute.
        assert "note: the draft stated 2000, which no result above gives" in gathered and "call calculator" in gathered
        return [calc("300 * 7")]

    drafts = iter(["A week in Seattle: up to $2,000.", "A week in Seattle: up to $2,100."])
    lm = scripted(select, lambda results: next(drafts))
    out = run(monkeypatch, lm, "What is the maximum hotel reimbursement for a week in Seattle, in dollars?")
    assert lm.roles() == ["selector", "synthesizer", "selector", "synthesizer"]  # no refiner
    assert out["answer"] == "A week in Seattle: up to $2,100." and out["verdict"] == "accept"


def told_then(first: Call, note: str, then: Call) -> Callable[[str], list[Call]]:
    """A selector that makes `first`; sent back with `note` in view, `then`; after that nothing."""

    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [first]
        if f"{then['name']}(" in gathered:
            return []
        assert f"note: {note}" in gathered, gathered
        return [then]

    return select


def test_a_quantity_the_question_states_gets_its_computation_before_any_draft(monkeypatch) -> None:
    search = {"name": "search_knowledge", "args": {"query": "hotel cap per night Seattle"}}
    select = told_then(search, "the question gives 3 and nothing above computed with it", calc("300 * 3"))
    lm = scripted(select, lambda results: f"Three nights in Seattle: up to ${last_line(results)}.")
    out = run(monkeypatch, lm, "What is the maximum hotel reimbursement for 3 nights in Seattle, in dollars?")
    assert lm.roles() == ["selector", "selector", "synthesizer"]
    assert out["answer"] == "Three nights in Seattle: up to $900." and out["verdict"] == "accept"


def test_a_passage_in_another_unit_gets_its_conversion_before_any_draft(monkeypatch) -> None:
    search = {"name": "search_knowledge", "args": {"query": "Osprey reach"}}
    note = "the question asks for the answer in inch and no result above gives a figure in inch"
    lm = scripted(told_then(search, note, convert(1300, "mm", "inch")),
                  lambda results: f"The Osprey reaches {json.loads(last_line(results))['value']} inches.")  # fmt: skip
    out = run(monkeypatch, lm, "What is the Osprey's reach in inches?")
    assert lm.roles() == ["selector", "selector", "synthesizer"]
    assert out["answer"] == "The Osprey reaches 51.1811 inches."


def test_a_passage_in_the_asked_unit_needs_no_conversion(monkeypatch) -> None:
    search = {"name": "search_knowledge", "args": {"query": "Condor reach"}}
    lm = scripted(lambda gathered: [] if gathered else [search], lambda results: "The Condor reaches 1,800 mm.")
    out = run(monkeypatch, lm, "What is the reach of the Condor arm in millimeters?")
    assert lm.roles() == ["selector", "synthesizer"]
    assert out["answer"] == "The Condor reaches 1,800 mm."


def test_a_made_up_value_is_looked_up_and_its_conversion_never_comes_back(monkeypatch) -> None:
    search = {"name": "search_knowledge", "args": {"query": "Osprey reach"}}

    def select(gathered: str) -> list[Call]:
        if not gathered:
            return [convert(100, "feet", "inch")]
        if "search_knowledge(" not in gathered:
            assert "the value 100 is not a figure of the question" in gathered
            assert "call search_knowledge or http_api to find it first" in gathered
            return [search]
        return [convert(1300, "mm", "inch")] if "1300" not in gathered else []

    lm = scripted(select, lambda results: f"It reaches {json.loads(last_line(results))['value']} inches.")
    out = run(monkeypatch, lm, "What is the Osprey's reach in inches?")
    assert lm.roles() == ["selector", "selector", "selector", "synthesizer"]
    assert out["answer"] == "It reaches 51.1811 inches."
    # The call on the made-up 100 ft stays an error: its output is not put back beside the lookup.
    assert [r["name"] for r in out["tool_results"] if not r.get("error")] == ["search_knowledge", "convert_units"]


# Never a raw tool error or a check's instruction as the answer.


def test_a_refined_draft_that_is_the_checks_instruction_is_never_kept(monkeypatch) -> None:
    lm = scripted(lambda gathered: [] if gathered else [calc("0.17 * 2340")], lambda results: "It is 379.8.",
                  refined="The draft must state the result of calculator({...}): result = 397.8.")  # fmt: skip
    out = run(monkeypatch, lm, "What is 17% of 2,340?")
    assert lm.roles() == ["selector", "synthesizer", "refiner"]
    assert out["refine_kept"] is False and "draft" not in out["answer"].lower()


def test_a_call_refused_in_every_round_is_said_once(monkeypatch) -> None:
    lm = scripted(lambda gathered: [{"name": "search_inventory", "args": {"sku": "NW-ARM-200"}}],
                  lambda results: "ERROR: not run")  # fmt: skip
    out = run(monkeypatch, lm, "How many NW-ARM-200 arms are in stock?", max_refinements=0)
    assert lm.roles() == ["selector", "selector", "selector"]  # max_tool_rounds (3) tries, no draft
    assert out["answer"].count("I could not run search_inventory: unknown tool 'search_inventory'.") == 1
