"""The call check, critic and refiner nodes: deterministic checks first, a model only where checks cannot judge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Protocol

from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent_types.context import Context
from agent_types.state import AgentState, ToolResult
from dspy_programs.signatures import VERDICTS
from nodes.checks import (
    UNSTATED,
    Verification,
    call_problem,
    grounded_figures,
    is_raw,
    missing_step,
    settled,
    verify,
)
from nodes.hints import (
    failed_call_hint,
    lookup_hint,
    made_up_hint,
    missing_computation,
    missing_conversion,
    unknown_tool_hint,
)
from nodes.prompting import format_results
from nodes.roles import bind
from nodes.select import offered_tools, with_user_permissions
from runtime.usage import UsageMeter

REJECTED = "rejected:"  # call_id prefix of a result that stands for a call the selector's validation refused


def seconds_left(state: AgentState, ctx: Context) -> float | None:
    """Seconds until the turn has run `loop_seconds` (negative once past it); None with no limit.

    After that, no critic or refiner call starts, and a critic call still running is not waited for:
    they judge and reword a draft the checks have already checked, at several seconds each on a
    small local model. The tool rounds, which correct calls and add missing steps, are bounded by
    rounds only."""
    started = state.get("started")
    if not ctx.loop_seconds or not isinstance(started, float):
        return None
    return ctx.loop_seconds - (time.time() - started)


def out_of_time(state: AgentState, ctx: Context) -> bool:
    """The turn has run `loop_seconds` or longer (seconds_left)."""
    left = seconds_left(state, ctx)
    return left is not None and left <= 0


def asked(state: AgentState) -> str:
    """Everything the user said that a call or a draft may take figures from: the earlier turns and the question."""
    return f"{state.get('conversation', '')}\n{state['question']}"


def standing_rejections(state: AgentState) -> list[dict[str, Any]]:
    """The calls the selector's validation refused that are not among the tool results.

    With the loop on, the call check turns each refused call into a failed result (REJECTED), which
    is retried, settled and judged like any other failure: a refusal that a later call replaced
    needs no word in the answer. With the loop off they stand beside the results, and the draft
    must admit them."""
    if any(r["call_id"].startswith(REJECTED) for r in state.get("tool_results", [])):
        return []
    return state.get("rejected_calls", [])


def verification(state: AgentState, draft: str) -> Verification:
    return verify(state.get("tool_results", []), draft, standing_rejections(state), asked(state))


def _refusal(rejected: dict[str, Any], tools: Sequence[BaseTool]) -> str:
    reason = str(rejected.get("reason") or "refused")
    if reason == "unknown tool":
        name, args = str(rejected.get("name")), rejected.get("args")
        hint = unknown_tool_hint(name, args if isinstance(args, dict) else {}, tools)
        return f"unknown tool {name!r}; the tools are {', '.join(t.name for t in tools)}{hint}"
    return reason


class CheckCallsNode(Protocol):
    def __call__(self, state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]: ...


def make_check_calls(tools: Sequence[BaseTool]) -> CheckCallsNode:
    """The call check over the graph's tools: after each round of calls, before any draft.

    A call that failed (the tool reported bad input, or the selector's validation refused it) or
    whose arguments do not match the question (nodes/checks.py, call_problem) goes back to the
    selector once more (within max_tool_rounds) with the call and the error in the gathered
    results, so it can correct its arguments; the error names the tool to call where a hint can
    (nodes/hints.py). A mismatched call's output is set aside, and put back if the selector makes
    no other call of that tool: the check may be wrong, and then the output is all there is. When
    every call worked but gathered only passages in another unit than the question asks, or beside
    a quantity the question states that nothing computed with, the selector goes back with that
    hint. With the critique loop off this node passes everything through.
    """

    def check_calls(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context or Context()
        if not ctx.critique:
            return {"retry_calls": False}
        results = state.get("tool_results", [])
        this_round = {c["call_id"] for c in state.get("pending_calls", [])}
        question = state["question"]
        base = asked(state)
        offered = offered_tools(tools, with_user_permissions(ctx))
        failed: list[ToolResult] = []
        converted = sum(r["call_id"].startswith(REJECTED) for r in results)
        for i, rejected in enumerate(state.get("rejected_calls", [])[converted:], start=converted):
            args = rejected.get("args")
            failed.append(ToolResult(call_id=f"{REJECTED}{i}", name=str(rejected.get("name")),
                                     args=args if isinstance(args, dict) else {}, output=None,
                                     error=f"not run: {_refusal(rejected, offered)}", seconds=0.0))  # fmt: skip
        for r in results:
            if r["call_id"] not in this_round:
                continue
            if r.get("error"):
                hint = failed_call_hint(r, question, offered)
                failed.append({**r, "error": f"{r['error']}{hint}"} if hint else r)
                continue
            others = "\n".join(o.get("output") or "" for o in results if o["call_id"] != r["call_id"])
            problem = call_problem(r, question, f"{base}\n{others}")
            if problem and UNSTATED in problem:
                problem += lookup_hint(question, offered, exclude=r["name"])
            if problem:
                failed.append({**r, "output": None, "set_aside": r.get("output"),
                               "error": f"arguments do not match the question: {problem}"})  # fmt: skip
        more_rounds = state.get("rounds", 0) < ctx.max_tool_rounds
        retry = bool(failed) and more_rounds
        hint = "" if failed or not more_rounds else (
            missing_conversion(question, results, offered) or missing_computation(question, results, offered) or ""
        )
        update: list[ToolResult] = (
            [{**f, "retried": True} for f in failed] if retry else [f for f in failed if "set_aside" not in f]
        )
        update += restored(results, this_round)
        if failed or hint:
            get_stream_writer()({"event": "calls_checked", "retry": retry or bool(hint), "hint": hint,
                                 "failed": [{"name": f["name"], "args": f["args"], "error": f["error"]}
                                            for f in failed]})  # fmt: skip
        return {"retry_calls": retry or bool(hint), "hint": hint, **({"tool_results": update} if update else {})}

    return check_calls


def restored(results: Sequence[ToolResult], this_round: set[str]) -> list[ToolResult]:
    """Set-aside outputs of earlier rounds that no later call of the same tool replaced; one that
    rests on a figure stated nowhere only while no other call worked at all."""
    out: list[ToolResult] = []
    for i, r in enumerate(results):
        if r["call_id"] in this_round or r.get("set_aside") is None:
            continue
        if UNSTATED in str(r.get("error") or ""):
            if not any(not other.get("error") for other in results if other["call_id"] != r["call_id"]):
                out.append({**r, "output": r["set_aside"], "error": None, "set_aside": None})
            continue
        if not any(later["name"] == r["name"] and not later.get("error") for later in results[i + 1 :]):
            out.append({**r, "output": r["set_aside"], "error": None, "set_aside": None})
    return out


async def critique(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Checks decide when they can (no model call); the LM critic judges only free-text results.

    A draft with no tool results (small talk, general knowledge) has nothing to check against and
    is left alone: the critic model asked to "improve" such replies and made them worse.
    """
    ctx = runtime.context or Context()
    checked = verification(state, state["draft"])
    update: dict[str, Any] = {"checks_passed": sorted(checked.passed_names), "checks_failed": len(checked.failed)}
    if checked.failed and missing_step(state.get("tool_results", []), checked):
        verdict, by = "need_more_info", "checks"
        text = f"{checked.critique()} If the question needs a computation or a conversion, a tool must make it."
        # The selector, sent back, is told which step is missing: shown only what was gathered it
        # made no further call (docs/critique-loop.md).
        update["hint"] = made_up_hint(state["draft"], state.get("tool_results", []), asked(state))
    elif checked.failed:
        verdict, text, by = "refine", checked.critique(), "checks"
    elif checked.free_text and out_of_time(state, ctx):
        verdict, by = "accept", "checks"
        text = "the checks passed; no critic call this late in the turn (context.loop_seconds)"
    elif checked.free_text:
        meter = UsageMeter("critique")
        critic = await bind("critic", ctx)
        judged = critic.run(
            meter, question=state["question"], tool_results=format_results(settled(state.get("tool_results", []))),
            draft=state["draft"],
        )  # fmt: skip
        try:
            # Cancelling the call closes its connection, and the model server stops generating.
            pred = await asyncio.wait_for(judged, timeout=seconds_left(state, ctx))
        except TimeoutError:
            verdict, by = "accept", "checks"
            text = "the checks passed; the critic did not answer within the turn's context.loop_seconds"
        else:
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
    if is_raw(new_draft, results):
        return False, "the refined draft repeats a tool's error or the critique instead of answering"
    return True, "refined draft kept"


async def refine(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    meter = UsageMeter("refine")
    refiner = await bind("refiner", runtime.context or Context())
    pred, message = await refiner.stream(
        "refine", meter,
        question=state["question"],
        tool_results=format_results(settled(state.get("tool_results", []))),
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
        update["draft_id"] = message.id
    return update
