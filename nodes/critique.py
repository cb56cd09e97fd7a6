"""The critic and refiner nodes: deterministic checks first, a model only where checks cannot judge."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent_types.context import Context
from agent_types.state import AgentState
from dspy_programs.signatures import VERDICTS
from nodes.checks import Verification, grounded_figures, verify
from nodes.prompting import format_results
from nodes.roles import bind
from runtime.usage import UsageMeter


def verification(state: AgentState, draft: str) -> Verification:
    asked = f"{state.get('conversation', '')}\n{state['question']}"
    return verify(state.get("tool_results", []), draft, state.get("rejected_calls", []), asked)


async def critique(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Checks decide when they can (no model call); the LM critic judges only free-text results.

    A draft with no tool results (small talk, general knowledge) has nothing to check against and
    is left alone: the critic model asked to "improve" such replies and made them worse.
    """
    checked = verification(state, state["draft"])
    update: dict[str, Any] = {"checks_passed": sorted(checked.passed_names), "checks_failed": len(checked.failed)}
    if checked.failed:
        verdict, text, by = "refine", checked.critique(), "checks"
    elif checked.free_text:
        meter = UsageMeter("critique")
        critic = await bind("critic", runtime.context or Context())
        pred = await critic.run(
            meter, question=state["question"], tool_results=format_results(state.get("tool_results", [])),
            draft=state["draft"],
        )  # fmt: skip
        verdict = str(pred.verdict) if str(pred.verdict) in VERDICTS else "accept"
        text, by = str(pred.critique or "").strip(), "critic"
        update["usage"] = [meter.summary(pred)]
    else:
        passed = len(checked.checks)
        verdict, by = "accept", "checks"
        text = f"all {passed} checks passed" if passed else "no tool results to check the draft against"
    get_stream_writer()({"event": "critique", "verdict": verdict, "critique": text, "by": by})
    return {**update, "verdict": verdict, "critique": text, "critique_by": by}


def improves(state: AgentState, new_draft: str) -> tuple[bool, str]:
    """Whether a refined draft may replace the current one, and why (not).

    It must keep every check the old draft passed and every figure it took from the tool results
    (passages included, which no check covers), and change what the critique asked: fix at least
    one failed check when the checks wrote the critique, or at least change the text when the
    critic did.
    """
    old_passed = set(state.get("checks_passed", []))
    new = verification(state, new_draft)
    lost = old_passed - new.passed_names
    if lost:
        return False, f"the refined draft lost what the old one had right ({', '.join(sorted(lost))})"
    results = state.get("tool_results", [])
    dropped = grounded_figures(state["draft"], results) - grounded_figures(new_draft, results)
    if dropped:
        return False, f"the refined draft dropped figures the tools gave ({', '.join(sorted(dropped))})"
    if state.get("critique_by") == "checks" and len(new.failed) >= state.get("checks_failed", 0):
        return False, "the refined draft fixed none of the failed checks"
    if " ".join(new_draft.split()) == " ".join(state["draft"].split()):
        return False, "the refined draft is the same text"
    if not new_draft.strip():
        return False, "the refined draft is empty"
    return True, "refined draft kept"


async def refine(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    meter = UsageMeter("refine")
    refiner = await bind("refiner", runtime.context or Context())
    pred = await refiner.stream(
        "refine", meter,
        question=state["question"],
        tool_results=format_results(state.get("tool_results", [])),
        draft=state["draft"],
        critique=state.get("critique", ""),
    )  # fmt: skip
    new_draft = str(pred.answer or "").strip()
    kept, reason = improves(state, new_draft)
    get_stream_writer()({"event": "refine", "kept": kept, "reason": reason})
    update: dict[str, Any] = {
        "refinements": state.get("refinements", 0) + 1,
        "refine_kept": kept,
        "usage": [meter.summary(pred)],
    }
    if kept:
        update["draft"] = new_draft
    return update
