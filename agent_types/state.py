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


def merge_results(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """`extend_or_reset` for tool results, except that a result whose `call_id` is already there
    replaces it in place: the call check marks a call it found wrong, or a failure it sent back to
    the selector, without a second copy of the call."""
    if right is None:
        return []
    merged = list(left or [])
    where = {item.get("call_id"): i for i, item in enumerate(merged) if isinstance(item, dict)}
    for item in right:
        key = item.get("call_id") if isinstance(item, dict) else None
        if key is not None and key in where:
            merged[where[key]] = item
        else:
            where[key] = len(merged)
            merged.append(item)
    return merged


class ToolCall(TypedDict):
    call_id: str
    name: str
    args: dict[str, Any]
    # Who the select node offered the call to, in which thread and run, until when (epoch seconds),
    # and its signature over all of it (runtime/grants.py): an executor runs a call, or answers it
    # from the tool cache, only for that caller there and then.
    user: NotRequired[str]
    thread_id: NotRequired[str | None]
    run_id: NotRequired[str | None]
    expires: NotRequired[int]
    grant: NotRequired[str]


class ToolResult(TypedDict):
    call_id: str
    name: str
    args: dict[str, Any]
    output: str | None
    error: str | None
    seconds: float
    cache_hit: NotRequired[bool]  # answered from the tool cache (the tool did not run)
    # The selector was shown this failure and asked for the call again (nodes/critique.py,
    # check_calls): a later result supersedes it, and the answer need not apologise for it.
    retried: NotRequired[bool]
    # The output of a call whose arguments the call check found wrong; put back if the selector
    # makes no other call of that tool (the check may have been wrong, and the output is all there is).
    set_aside: NotRequired[str | None]


class InputState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class AgentState(InputState, total=False):
    question: str
    conversation: str
    pending_calls: list[ToolCall]
    rejected_calls: Annotated[list[dict[str, Any]], extend_or_reset]
    tool_results: Annotated[list[ToolResult], merge_results]
    rounds: int
    started: float  # when this turn began (epoch seconds): the critique loop's time limit counts from it
    retry_calls: bool  # the call check sent this round's failed or mismatched calls back to select
    hint: str  # what the loop tells the selector it sends back (nodes/hints.py); select reads and clears it
    draft: str
    draft_id: str  # the id the current draft was streamed under on the `messages` stream
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
