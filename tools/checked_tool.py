"""A StructuredTool whose argument-validation failures surface as ToolInputError."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import ValidationError

from tools.errors import ToolInputError


def describe_validation_error(exc: ValidationError) -> str:
    """One short line per problem; pydantic's own text carries URLs and input echoes."""
    parts: list[str] = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "input"
        parts.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid arguments"


class CheckedTool(StructuredTool):
    """Converts schema violations (a top_k of 50, a missing field) into ToolInputError.

    Without this, pydantic's ValidationError escapes with a multi-line message, and callers
    would need two error paths for what is, to the model, the same mistake.
    """

    def _parse_input(self, tool_input: str | dict[str, Any], tool_call_id: str | None) -> str | dict[str, Any]:
        try:
            return super()._parse_input(tool_input, tool_call_id)
        except ValidationError as exc:
            raise ToolInputError(describe_validation_error(exc)) from None
