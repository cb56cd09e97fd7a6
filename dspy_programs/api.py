"""Plain-Python use of the tool selector, outside the graph.

from dspy_programs import select_tools
calls = select_tools("What is 17% of 2,340?", [calculator, convert_units])
"""

from __future__ import annotations

from collections.abc import Iterable

import dspy

from dspy_programs.programs import Conversation, ToolSelector
from dspy_programs.store import PROGRAM_CACHE
from dspy_programs.tool_specs import AnyTool, CheckedCall
from runtime.bootstrap import configure
from runtime.models import dspy_lm, endpoint


def select_tools(
    question: str,
    tools: Iterable[AnyTool],
    *,
    conversation: Conversation = None,
    tool_results: str = "",
    lm: dspy.LM | None = None,
    program: ToolSelector | None = None,
) -> list[CheckedCall]:
    """Return the validated tool calls the selector chooses for `question`.

    `conversation`: the earlier turns, a `dspy.History` or a list of `{"role", "content"}` messages.
    Uses the compiled selector for the configured model when one exists.
    """
    configure()  # an entry point: library defaults and the LM cache, once (runtime/bootstrap.py)
    selector = program or PROGRAM_CACHE.get("selector", endpoint("selector").slug)
    with dspy.context(lm=lm or dspy_lm("selector")):
        pred = selector(question=question, tools=list(tools), conversation=conversation, tool_results=tool_results)
    calls: list[CheckedCall] = pred.calls
    return calls
