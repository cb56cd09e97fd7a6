"""The synthesizer node: a DSPy program writes the answer from the tool results."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent_types.context import Context
from agent_types.state import AgentState
from nodes.checks import settled
from nodes.critique import standing_rejections
from nodes.prompting import format_results
from nodes.roles import bind
from nodes.streaming import push_tool_messages
from runtime.usage import UsageMeter


async def synthesize(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    synthesizer = await bind("synthesizer", runtime.context or Context())
    meter = UsageMeter("synthesize")
    rejected = standing_rejections(state)
    tool_results = format_results(settled(state.get("tool_results", [])))
    if rejected:  # the model proposed calls that failed validation and no result says so: the answer should know
        tool_results += "\n" + "\n".join(f"{r['name']} not run: {r['reason']}" for r in rejected)
    # This round's tool results reach chat clients as tool messages before the answer starts.
    push_tool_messages(state.get("pending_calls", []), state.get("tool_results", []))
    pred, message = await synthesizer.stream(
        "synthesize", meter,
        question=state["question"], tool_results=tool_results.strip(), conversation=state.get("conversation", ""),
    )  # fmt: skip
    return {"draft": str(pred.answer).strip(), "draft_id": message.id, "usage": [meter.summary(pred)]}
