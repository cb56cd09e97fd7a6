"""The selector's worked examples: their own tool lists as signatures, and which examples are kept."""

from __future__ import annotations

from typing import Any

from dspy_programs.tool_specs import ToolSpec
from dspy_programs.worked_examples import examples_block, signature_line, transferable_examples


def spec(name: str, props: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(name=name, description=f"{name} tool. More.",
                    parameters={"type": "object", "properties": props, "required": required})  # fmt: skip


SHIPPED_DATE = spec("date_calculator", {"operation": {"type": "string", "enum": ["weekday", "add"]},
                                        "date": {"type": "string"}, "days": {"type": "integer"}},
                    ["operation", "date"])  # fmt: skip
OTHER_DATE = spec("date_calculator", {"start": {"type": "string"}, "end": {"type": "string"}}, ["start", "end"])
WEEKDAY = {"question": "What weekday is 2026-03-01?", "tools": [SHIPPED_DATE],
           "tool_calls": {"tool_calls": [{"name": "date_calculator",
                                          "args": {"operation": "weekday", "date": "2026-03-01"}}]}}  # fmt: skip
SPAN = {"question": "How long from 2026-01-01 to 2026-03-01?", "tools": [OTHER_DATE],
        "tool_calls": {"tool_calls": [{"name": "date_calculator",
                                       "args": {"start": "2026-01-01", "end": "2026-03-01"}}]}}  # fmt: skip


def test_a_tool_of_an_example_is_its_signature_alone() -> None:
    assert signature_line(SHIPPED_DATE) == "- date_calculator(operation: weekday|add, date: string, days?: integer)"


def test_each_tool_list_is_written_once_and_each_example_names_its_own() -> None:
    def field(name: str) -> Any:
        return lambda demo: str(demo.get(name, ""))

    block = examples_block([WEEKDAY, SPAN, WEEKDAY], lambda demo: [], field("question"), lambda demo: "R")
    assert block.count("\nTools ") == 2 and "Tools 2:\n- date_calculator(start: string, end: string)" in block
    assert "Example 1 (tools 1):\nUser: What weekday is 2026-03-01?\nReply: R" in block
    assert "Example 3 (tools 1):" in block and "tool. More" not in block  # no description
    assert examples_block([], lambda demo: [], field("question"), field("question")) == ""


def test_an_example_calling_a_same_named_tool_with_another_schema_is_left_out() -> None:
    assert transferable_examples([WEEKDAY, SPAN], [OTHER_DATE]) == [SPAN]  # WEEKDAY's arguments do not fit
    assert transferable_examples([WEEKDAY, SPAN], [SHIPPED_DATE]) == [WEEKDAY]
    renamed = spec("days_between", {"start": {"type": "string"}}, ["start"])
    assert transferable_examples([WEEKDAY, SPAN], [renamed]) == [WEEKDAY, SPAN]  # no clash: both teach
