"""Plain-Python use of the tool selector, outside the graph.

from dspy_programs import select_tools
calls = select_tools("What is 17% of 2,340?", [calculator, convert_units])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dspy
from langchain_core.tools import BaseTool

from dspy_programs.programs import ToolSelector
from dspy_programs.store import PROGRAM_CACHE
from dspy_programs.tool_specs import CheckedCall, ToolSpec
from runtime.bootstrap import configure
from runtime.models import dspy_lm, endpoint


def select_tools(
    question: str,
    tools: Iterable[BaseTool | Mapping[str, Any] | ToolSpec],
    *,
    conversation: str = "",
    gathered: str = "",
    lm: dspy.LM | None = None,
    program: ToolSelector | None = None,
) -> list[CheckedCall]:
    """Return the validated tool calls the selector chooses for `question`.

    Uses the compiled selector for the configured model when one exists.
    """
    configure()  # an entry point: library defaults and the LM cache, once (runtime/bootstrap.py)
    selector = program or PROGRAM_CACHE.get("selector", endpoint("selector").slug)
    with dspy.context(lm=lm or dspy_lm("selector")):
        pred = selector(question=question, tools=list(tools), conversation=conversation, gathered=gathered)
    calls: list[CheckedCall] = pred.calls
    return calls
