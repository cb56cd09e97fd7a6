"""The critic and refiner nodes of the critique/refine loop."""

from __future__ import annotations

from typing import Any

import dspy
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from graphs.context import Context
from graphs.state import AgentState
from nodes.prompting import format_results, lm_for, program_for
from nodes.streaming import streaming_program_for
from nodes.usage import UsageMeter

VERDICTS = ("accept", "refine", "need_more_info")


def critique(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context or Context()
    meter = UsageMeter("critique")
    with dspy.context(lm=lm_for("critic", ctx), callbacks=[meter], track_usage=True):
        pred = program_for("critic", ctx)(
            question=state["question"], tool_results=format_results(state.get("results", [])), draft=state["draft"]
        )
    verdict = str(pred.verdict) if str(pred.verdict) in VERDICTS else "accept"
    get_stream_writer()({"event": "critique", "verdict": verdict, "critique": str(pred.critique)})
    return {"verdict": verdict, "critique": str(pred.critique), "usage": [meter.summary(pred)]}


def refine(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context or Context()
    meter = UsageMeter("refine")
    with dspy.context(lm=lm_for("refiner", ctx), callbacks=[meter], track_usage=True):
        pred = streaming_program_for("refine", "refiner", ctx)(
            question=state["question"],
            tool_results=format_results(state.get("results", [])),
            draft=state["draft"],
            critique=state.get("critique", ""),
        )
    return {
        "draft": str(pred.answer).strip(),
        "refinements": state.get("refinements", 0) + 1,
        "usage": [meter.summary(pred)],
    }
