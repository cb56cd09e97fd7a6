"""The synthesizer node: a DSPy program writes the answer from the tool results."""

from __future__ import annotations

from typing import Any

import dspy
from langgraph.runtime import Runtime

from agent_types.context import Context
from agent_types.state import AgentState
from nodes.prompting import format_results, lm_for
from nodes.streaming import streaming_program_for
from runtime.audit import audit_cache_hits
from runtime.usage import UsageMeter


def synthesize(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context or Context()
    meter = UsageMeter("synthesize")
    results = state.get("results", [])
    audit_cache_hits(state.get("pending_calls", []), results)  # the executors audited the calls they ran
    rejected = state.get("rejected_calls", [])
    tool_results = format_results(results)
    if rejected:  # the model proposed calls that failed validation: the answer should know
        tool_results += "\n" + "\n".join(f"{r['name']} not run: {r['reason']}" for r in rejected)
    with dspy.context(lm=lm_for("synthesizer", ctx), callbacks=[meter], track_usage=True):
        pred = streaming_program_for("synthesize", "synthesizer", ctx)(
            question=state["question"], tool_results=tool_results.strip(), conversation=state.get("conversation", "")
        )
    return {"draft": str(pred.answer).strip(), "usage": [meter.summary(pred)]}
