"""The tools the agent can call, in the order the selector sees them.

Adding a tool:
1. Write `tools/<name>.py` with a pydantic args model whose field descriptions tell the model
   what to pass, and build the tool with `CheckedTool.from_function(...)` (see calculator.py).
2. Give it `metadata={"version": "1", "ttl": <seconds, 0 = never cache>}`. Bump the version
   whenever its output for the same input changes: the graph namespaces cache keys with it.
3. Raise `ToolInputError` with a short message for anything it cannot serve; return a short
   string (JSON text when structured).
4. Append it to TOOLS below and add tests under tests/unit/tools/.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

# Modules, not tool objects, are imported so `tools.calculator` stays the module (its tool
# shares its name and would otherwise shadow it, breaking `monkeypatch` and introspection).
from tools import calculator, dates, http_api, knowledge, units
from tools.dates import is_time_dependent
from tools.errors import ToolInputError

TOOLS: list[BaseTool] = [
    calculator.calculator,
    units.convert_units,
    dates.date_calculator,
    knowledge.search_knowledge,
    http_api.http_api,
]
TOOLS_BY_NAME: dict[str, BaseTool] = {tool.name: tool for tool in TOOLS}

__all__ = ["TOOLS", "TOOLS_BY_NAME", "ToolInputError", "is_time_dependent"]
