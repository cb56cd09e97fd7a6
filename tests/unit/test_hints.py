"""The hints the loop gives the selector it sends back (nodes/hints.py): drawn from the offered
tools' own names and descriptions, so they hold for a user's tools as for the template's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.tools import StructuredTool

from agent_types.state import ToolResult
from nodes.hints import (
    asked_unit,
    failed_call_hint,
    figures_in,
    lookup_hint,
    missing_computation,
    missing_conversion,
    stated_quantities,
    unknown_tool_hint,
)
from tools import TOOLS

OSPREY = "Our best-selling arm. 12 kg payload, 1,300 mm reach, maximum tool speed 2.0 m/s."
PASSAGE = json.dumps([{"source": "products_arms.md#osprey", "title": "Osprey (NW-ARM-200)", "text": OSPREY}])


def result(name: str, args: dict[str, object], output: str | None = None, error: str | None = None) -> ToolResult:
    return ToolResult(call_id=name, name=name, args=args, output=output, error=error, seconds=0.0)


@pytest.mark.parametrize(
    ("name", "args", "hint"),
    [
        ("search_inventory", {"sku": "NW-GRP-3F"}, "; the nearest is http_api: stock levels (/inventory/{sku})"),
        ("get_order", {"order_id": "A1009"}, "; the nearest is http_api: order status (/orders/{order_id})"),
        ("search_contacts", {"company": "Northwind", "query": "Nagoya office"}, "; the nearest is search_knowledge: "
         "Search the Northwind Robotics knowledge base (product catalog, policies, offices, support)"),
        ("days_between", {"start": "2026-01-01", "end": "2026-02-01"},
         "; the nearest is date_calculator: the number of days between two dates"),
        ("get_weather", {"city": "Paris"}, ""),  # shares no word with any tool: no guess
    ],
)  # fmt: skip
def test_an_unknown_tool_is_pointed_at_the_offered_tool_it_meant(name: str, args: dict[str, Any], hint: str) -> None:
    assert unknown_tool_hint(name, args, TOOLS) == hint


def test_the_nearest_tool_comes_from_a_users_own_tools() -> None:
    def noop(query: str) -> str:
        return query

    described = "Find recipes by dish name or ingredient; returns steps."
    recipes = StructuredTool.from_function(noop, name="find_recipe", description=described)
    timer = StructuredTool.from_function(noop, name="set_timer", description="Start a kitchen timer for some minutes.")
    assert unknown_tool_hint("search_recipes", {"ingredient": "leek"}, [timer, recipes]).startswith(
        "; the nearest is find_recipe: Find recipes by dish name or ingredient"
    )


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("What is the Albatross's robot weight in pounds?", "pound"),
        ("What is the Tern's top speed in km/h?", "kilometer / hour"),
        ("What is 350 kelvin in degrees Celsius?", "degree_Celsius"),
        ("What is the list price of the Kestrel (NW-ARM-100) in US dollars?", None),  # pint reads "US" as µs
        ("What is the 30-day uptime of the billing service, in percent?", None),  # dimensionless
        ("How many NW-ARM-200 units are in stock?", None),
    ],
)
def test_the_unit_a_question_asks_for(question: str, unit: str | None) -> None:
    found = asked_unit(question)
    assert (str(found) if found is not None else None) == unit


def test_a_passage_in_another_unit_asks_for_a_conversion_and_one_in_the_asked_unit_does_not() -> None:
    search = result("search_knowledge", {"query": "Osprey"}, PASSAGE)
    hint = missing_conversion("What is the Osprey's reach in inches?", [search], TOOLS)
    assert hint is not None and "answer in inch" in hint and "call convert_units" in hint
    assert missing_conversion("What is the Osprey's reach in millimeters?", [search], TOOLS) is None
    converted = result("convert_units", {"value": 1300, "from_unit": "mm", "to_unit": "inch"},
                       '{"value": 51.1811, "unit": "inch"}')  # fmt: skip
    assert missing_conversion("What is the Osprey's reach in inches?", [search, converted], TOOLS) is None
    no_converter = [t for t in TOOLS if t.name != "convert_units"]
    assert missing_conversion("What is the Osprey's reach in inches?", [search], no_converter) is None


def test_the_conversion_hint_names_the_figures_in_a_unit_of_the_same_kind() -> None:
    # Told only "the figure the results state", the selector copied its refused call's made-up value.
    search = result("search_knowledge", {"query": "Condor"},
                    '[{"text": "35 kg payload, 1,800 mm reach, 2.2 m/s; shipping weight 210 kg, 36-month warranty"}]')
    hint = missing_conversion("What is the Condor's payload in pounds?", [search], TOOLS)
    assert hint is not None and hint.endswith("the figure the results state: 35 kg or 210 kg")
    inch, pound = asked_unit("How far does it reach, in inches?"), asked_unit("What is it in pounds?")
    assert inch is not None and pound is not None
    assert figures_in(inch, ["1,800 mm reach, 35 kg"]) == ["1,800 mm"]
    assert figures_in(pound, ["a 36-month warranty, 16 A supply"]) == []


def test_quantities_leave_out_ids_dates_years_and_compounds() -> None:
    assert stated_quantities("How many NW-ARM-200 arms are in order A1013?") == []
    assert stated_quantities("What is the 30-day uptime (as of January 2026) on 2026-03-12?") == []
    assert stated_quantities("What would 6 Kestrel arms cost for two sites at $64.99?") == ["6", "$64.99", "two"]


def test_a_stated_quantity_or_date_question_over_passages_asks_for_the_computation() -> None:
    search = result("search_knowledge", {"query": "Premier Support"}, PASSAGE)
    hint = missing_computation("How much would Premier Support cost for 3 customer sites?", [search], TOOLS)
    assert hint is not None and hint.startswith("the question gives 3") and "call calculator" in hint
    order = {"id": "A1024", "eta": "2026-10-06", "items": [{"sku": "NW-ARM-200", "qty": 1}]}
    record = result("http_api", {"path": "/orders/A1024"}, json.dumps(order))
    assert "call date_calculator" in str(missing_computation("What day of the week is the ETA of order A1024?",
                                                             [record], TOOLS))  # fmt: skip
    assert missing_computation("What is the Osprey's payload?", [search], TOOLS) is None
    computed = result("calculator", {"expression": "6000 * 3"}, "18000")
    assert missing_computation("How much for 3 customer sites?", [search, computed], TOOLS) is None


def test_a_made_up_figure_is_looked_up_with_the_likeliest_tool_first() -> None:
    assert lookup_hint("What is the Osprey's reach in inches?", TOOLS, "convert_units") == (
        "; call search_knowledge or http_api to find it first"
    )
    assert lookup_hint("What day of the week is the ETA of order A1024?", TOOLS, "date_calculator") == (
        "; call http_api or search_knowledge to find it first"
    )


def test_a_unit_the_question_names_as_a_thing_is_looked_up_not_converted() -> None:
    failed = result("convert_units", {"value": 2, "from_unit": "pack", "to_unit": "kWh"},
                    error="unknown unit 'pack'; did you mean 'pascal'?")  # fmt: skip
    hint = failed_call_hint(failed, "The Albatross uses two battery packs. What is their energy in kWh?", TOOLS)
    assert hint == ("; 'pack' is something the question names, not a unit: call search_knowledge or http_api "
                    "for its figures first")
    assert failed_call_hint(failed, "What is 2 psi in kWh?", TOOLS) == ""


def test_a_new_question_starts_without_the_last_turns_hint() -> None:
    from langchain_core.messages import HumanMessage

    from nodes.intake import intake

    # A turn can end with a hint unread (the critique asked for a step, no round was left).
    assert intake({"messages": [HumanMessage("What is 2 + 2?")], "hint": "call calculator"})["hint"] == ""
