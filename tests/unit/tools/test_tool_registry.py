import json

import pytest
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from tools import TOOLS, TOOLS_BY_NAME, ToolInputError, is_time_dependent
from tools.checked_tool import CheckedTool


def test_tool_order_and_names() -> None:
    assert [tool.name for tool in TOOLS] == [
        "calculator",
        "convert_units",
        "date_calculator",
        "search_knowledge",
        "http_api",
    ]
    assert set(TOOLS_BY_NAME) == {tool.name for tool in TOOLS}
    assert all(isinstance(tool, BaseTool) for tool in TOOLS)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_metadata_has_version_and_ttl(tool: BaseTool) -> None:
    assert tool.metadata is not None
    assert isinstance(tool.metadata["version"], str) and tool.metadata["version"]
    assert isinstance(tool.metadata["ttl"], int) and tool.metadata["ttl"] >= 0


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_every_argument_is_described_for_the_model(tool: BaseTool) -> None:
    schema = convert_to_openai_tool(tool)["function"]
    assert schema["description"]
    for name, prop in schema["parameters"]["properties"].items():
        assert prop.get("description"), f"{tool.name}.{name} has no description"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_schema_violations_become_tool_input_errors(tool: BaseTool) -> None:
    assert isinstance(tool, CheckedTool)
    with pytest.raises(ToolInputError) as info:
        tool.invoke({})
    assert "\n" not in str(info.value)
    assert "https://" not in str(info.value)


def test_tool_input_error_is_a_value_error() -> None:
    assert issubclass(ToolInputError, ValueError)


def test_outputs_are_json_serialisable_strings() -> None:
    calls: dict[str, dict[str, object]] = {
        "calculator": {"expression": "1 + 1"},
        "convert_units": {"value": 1, "from_unit": "km", "to_unit": "m"},
        "date_calculator": {"operation": "weekday", "date": "2026-03-14"},
        "search_knowledge": {"query": "warranty"},
    }
    for name, args in calls.items():
        result = TOOLS_BY_NAME[name].invoke(args)
        assert isinstance(result, str)
        json.dumps(result)


def test_time_dependence_is_exported() -> None:
    assert is_time_dependent({"date": "today"})
