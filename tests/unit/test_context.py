"""The run context comes from the client: every field is validated on construction."""

from __future__ import annotations

from typing import Any

import pytest

from agent_types.context import Context, ContextError


def test_defaults_and_sane_values_pass() -> None:
    Context()
    Context(selector_model="openai/gpt-4o-mini", max_tool_rounds=0, max_calls_per_round=16, allowed_tools=[])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tool_rounds", "abc"),
        ("max_tool_rounds", 10**12),
        ("max_tool_rounds", -1),
        ("max_tool_rounds", True),
        ("max_refinements", 2.5),
        ("max_calls_per_round", 0),
        ("loop_seconds", -1),
        ("loop_seconds", 3600),
        ("loop_seconds", 2.5),
        ("critique", "yes"),
        ("selector_model", "x" * 1_000_000),
        ("synthesizer_model", "../../etc/passwd\x00"),
        ("critic_model", 5),
        ("allowed_tools", "calculator"),
        ("allowed_tools", [1, 2]),
        ("allowed_tools", ["t"] * 101),
    ],
)
def test_bad_values_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ContextError, match=f"context.{field}"):
        Context(**{field: value})


def test_every_context_field_is_described_for_studio() -> None:
    from graphs.agent import build_graph

    schema = build_graph([]).get_context_jsonschema()
    assert schema is not None
    undescribed = [name for name, prop in schema["properties"].items() if not prop.get("description")]
    assert not undescribed, undescribed
