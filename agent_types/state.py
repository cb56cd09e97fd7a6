"""What the graph carries between nodes."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


def extend_or_reset(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Append a node's items; `None` clears the list (a new question starts clean)."""
    if right is None:
        return []
    return [*(left or []), *right]


class ToolCall(TypedDict):
    call_id: str
    name: str
    args: dict[str, Any]
    # Who the select node offered the call to, and its signature over all of it (runtime/grants.py):
    # executors run, and the tool cache answers, only signed calls.
    user: NotRequired[str]
    grant: NotRequired[str]


class ToolResult(TypedDict):
    call_id: str
    name: str
    args: dict[str, Any]
    output: str | None
    error: str | None
    seconds: float


class InputState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class AgentState(InputState, total=False):
    question: str
    conversation: str
    pending_calls: list[ToolCall]
    rejected_calls: Annotated[list[dict[str, Any]], extend_or_reset]
    tool_results: Annotated[list[ToolResult], extend_or_reset]
    rounds: int
    draft: str
    verdict: str
    critique: str
    critique_by: str  # "checks" (deterministic, no model call) or "critic" (the LM judged)
    checks_passed: list[str]  # names of the checks the current draft passes (nodes/checks.py)
    checks_failed: int
    refine_kept: bool  # whether the last refined draft replaced the old one
    refinements: int
    answer: str
    error: str | None
    usage: Annotated[list[dict[str, Any]], extend_or_reset]


class ExecutorInput(TypedDict):
    """What `Send` hands one tool executor: only the call, so equal calls share a cache key."""

    call: ToolCall
