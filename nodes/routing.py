"""Where the graph goes next. Every loop is bounded by the run's context."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from graphs.context import Context
from graphs.state import AgentState
from nodes.execute import executor_node_name


def after_intake(state: AgentState) -> Literal["select", "__end__"]:
    return "__end__" if state.get("error") else "select"


def after_select(state: AgentState) -> list[Send] | Literal["synthesize"]:
    calls = state.get("pending_calls", [])
    if not calls:
        return "synthesize"
    return [Send(executor_node_name(c["name"]), {"call": c}) for c in calls]


def after_synthesize(state: AgentState, runtime: Runtime[Context]) -> Literal["critique", "finalize"]:
    ctx = runtime.context or Context()
    return "critique" if ctx.critique else "finalize"


def after_refine(state: AgentState) -> Literal["critique", "finalize"]:
    """A refined draft that was not kept ends the loop: the old draft was the better one."""
    return "critique" if state.get("refine_kept") else "finalize"


def after_critique(state: AgentState, runtime: Runtime[Context]) -> Literal["select", "refine", "finalize"]:
    ctx = runtime.context or Context()
    verdict = state.get("verdict")
    if verdict == "need_more_info" and state.get("rounds", 0) < ctx.max_tool_rounds:
        return "select"
    if verdict in ("refine", "need_more_info") and state.get("refinements", 0) < ctx.max_refinements:
        return "refine"
    return "finalize"
