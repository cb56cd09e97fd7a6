"""The tool-selector node: the compiled DSPy selector proposes validated tool calls."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent_types.context import Context
from agent_types.state import AgentState, ToolCall
from dspy_programs.tool_specs import to_specs
from nodes.prompting import conversation_turns, earlier_turns, format_results, turns_text
from nodes.roles import bind
from nodes.streaming import tool_call_message
from runtime.grants import Caller, current_caller, grant
from runtime.identity import permitted_tools
from runtime.usage import UsageMeter


def offered_tools(tools: Sequence[BaseTool], context: Context | None) -> list[BaseTool]:
    """The tools the selector may see: a tool the user may not use is never offered."""
    allowed = context.allowed_tools if context else None
    return [t for t in tools if allowed is None or t.name in allowed]


def with_user_permissions(context: Context) -> Context:
    """Narrow the run's tools to what the verified user may call (the token's `tools` claim).

    The client's `context.allowed_tools` can only narrow further: it is intersected, never trusted.
    """
    permitted = permitted_tools()
    if permitted is None:
        return context
    allowed = permitted if context.allowed_tools is None else permitted.intersection(context.allowed_tools)
    return dataclasses.replace(context, allowed_tools=sorted(allowed))


def granted(caller: Caller | str, name: str, args: dict[str, Any]) -> ToolCall:
    """A call offered to `caller` in this thread and run, signed so that its executor accepts it
    (runtime/grants.py); a bare user name stands for that user outside any thread or run."""
    who = Caller(user=caller) if isinstance(caller, str) else caller
    return ToolCall(**grant(who, uuid.uuid4().hex[:12], name, args))  # type: ignore[typeddict-item]


class SelectNode(Protocol):
    def __call__(self, state: AgentState, runtime: Runtime[Context]) -> Awaitable[dict[str, Any]]: ...


def make_select(tools: Sequence[BaseTool]) -> SelectNode:
    """The select node over a given tool list (the graph's tools; tests pass their own)."""

    async def select(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        return await select_calls(tools, state, with_user_permissions(runtime.context or Context()))

    return select


async def select_calls(tools: Sequence[BaseTool], state: AgentState, ctx: Context) -> dict[str, Any]:
    specs = to_specs(offered_tools(tools, ctx))
    selector = await bind("selector", ctx)
    # Tokenizing the conversation is CPU work: in a worker thread, so the server's event loop keeps serving.
    turns = await asyncio.to_thread(conversation_turns, earlier_turns(state.get("messages", [])),
                                    selector.conversation_budget)  # fmt: skip
    gathered = await asyncio.to_thread(format_results, state.get("tool_results", []))
    if state.get("hint"):  # what the loop tells the selector it sent back (nodes/hints.py)
        gathered += f"\nnote: {state['hint']}"
    meter = UsageMeter("select")
    pred = await selector.run(
        meter,
        question=state["question"],
        tools=specs,
        conversation=turns,
        tool_results=gathered,
    )
    already = {(r["name"], repr(sorted(r["args"].items()))) for r in state.get("tool_results", [])}
    offered = {t.name for t in offered_tools(tools, ctx)}
    caller = current_caller()
    calls: list[ToolCall] = [
        granted(caller, c.name, c.args)
        for c in pred.calls
        if c.name in offered and (c.name, repr(sorted(c.args.items()))) not in already
    ][: ctx.max_calls_per_round]
    rejected = [{"name": r.name, "args": r.args, "reason": r.reason} for r in pred.rejected]
    get_stream_writer()({"event": "tools_selected", "calls": calls, "rejected": rejected})
    return {
        "conversation": turns_text(turns),
        "pending_calls": calls,
        "messages": tool_call_message(calls),  # what chat clients show while the tools run
        "rejected_calls": rejected,
        "hint": "",
        "rounds": state.get("rounds", 0) + 1,
        "usage": [meter.summary(pred)],
    }
