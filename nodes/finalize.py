"""Last node of a turn: the accepted draft becomes the answer and joins the conversation.

A tool's raw error or a check's instruction is never the answer: when the draft is one, or every
call failed and the draft does not say so, the answer says in plain words what could not be done
and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage

from agent_types.state import AgentState, ToolResult
from nodes.checks import acknowledges, is_raw, reason, superseded


def attempted(result: ToolResult) -> str:
    """What a call set out to do, in words."""
    args = result["args"]
    if result["name"] == "calculator":
        return f"calculate {args.get('expression', 'the expression')}"
    if result["name"] == "convert_units":
        return f"convert {args.get('value', 'the value')} {args.get('from_unit', '')} to {args.get('to_unit', '')}"
    if result["name"] == "date_calculator":
        return f"work out the {args.get('operation', 'date calculation')} for {args.get('date', 'the date')}"
    if result["name"] == "search_knowledge":
        return f"search the knowledge base for {args.get('query', 'the question')!r}"
    if result["name"] == "http_api":
        return f"look up {args.get('path', 'the record')}"
    return f"run {result['name']}"


def could_not(results: Sequence[ToolResult]) -> str:
    """A plain account of the calls that failed: what each tried and why it could not."""
    failed = [r for i, r in enumerate(results) if r.get("error") and not superseded(results, i)]
    if not failed:
        return "I could not produce an answer."
    # The same call refused in two rounds is one thing that could not be done.
    parts = list(dict.fromkeys(f"I could not {attempted(r)}: {reason(str(r['error']))}." for r in failed))[:3]
    return " ".join(parts) + " Please rephrase the question or give the values in another form."


def finalize(state: AgentState) -> dict[str, Any]:
    draft = state.get("draft", "").strip()
    results = state.get("tool_results", [])
    all_failed = bool(results) and all(r.get("error") for r in results)
    if not results:
        answer = draft if draft and not is_raw(draft) else "I could not produce an answer."
    elif not draft or is_raw(draft, results) or (all_failed and not acknowledges(draft)):
        answer = could_not(results)
    else:
        answer = draft
    # Under the id the draft was streamed with, so a chat client's streamed draft becomes this message
    # (replaced outright when the draft was a raw error or an instruction).
    return {"answer": answer, "messages": [AIMessage(content=answer, id=state.get("draft_id") or None)]}
