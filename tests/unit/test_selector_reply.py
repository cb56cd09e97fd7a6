"""The selector's reply format: written for examples, asked for in the instructions, read back."""

from __future__ import annotations

from dspy_programs.selector_reply import (
    DIRECT_TOOL,
    PREFILL,
    REPLY_NOTE,
    calls_of,
    content_calls,
    direct_name,
    reply_calls,
    reply_json,
)

CALL = {"name": "date_calculator", "args": {"operation": "weekday", "date": "2026-03-01"}}


def test_a_reply_is_compact_json_and_no_call_is_a_call_of_answer_directly() -> None:
    assert reply_json([CALL]) == ('{"calls": [{"name": "date_calculator", "arguments": '
                                  '{"operation": "weekday", "date": "2026-03-01"}}]}')  # fmt: skip
    assert reply_json([]) == '{"calls": [{"name": "answer_directly", "arguments": {}}]}'
    assert reply_json([]) in REPLY_NOTE and REPLY_NOTE.startswith("\n\nReply with one JSON object and nothing else")
    assert reply_json([CALL]).startswith(PREFILL)  # the prefill is the start of every reply


def test_a_reply_parses_whole_or_as_the_continuation_of_the_prefill() -> None:
    rest = 'date_calculator", "arguments": {"operation": "weekday", "date": "2026-03-01"}}]}'
    assert reply_calls(rest) == [CALL]  # a server that returns only what it generated
    assert reply_calls(PREFILL + rest) == [CALL]
    assert reply_calls('{"calls": []}') == []


def test_calls_written_in_another_shape_are_still_read() -> None:
    fenced = '```json\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n```'
    assert reply_calls(fenced) == [{"name": "calculator", "args": {"expression": "2+2"}}]
    tagged = '<tool_call>\n{"name": "calculator", "arguments": "{\\"expression\\": \\"1\\"}"}\n</tool_call>'
    assert content_calls(tagged) == [{"name": "calculator", "args": {"expression": "1"}}]
    assert reply_calls("I cannot help with that.") == []


def test_the_answer_directly_tool_takes_a_name_no_user_tool_has() -> None:
    assert direct_name(["calculator"]) == DIRECT_TOOL
    assert direct_name([DIRECT_TOOL, DIRECT_TOOL + "_"]) == DIRECT_TOOL + "__"


def test_calls_are_read_from_each_form_a_tool_calls_value_takes() -> None:
    import dspy

    assert calls_of(dspy.ToolCalls.from_dict_list([CALL])) == [CALL]
    assert calls_of({"tool_calls": [CALL]}) == [CALL] and calls_of([CALL]) == [CALL] and calls_of(None) == []
