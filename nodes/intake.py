"""First node of every turn: read the question, refuse bad input, start the turn clean."""

from __future__ import annotations

import unicodedata
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent_types.state import AgentState
from runtime.settings import get_settings


class QuestionError(ValueError):
    pass


def clean_question(raw: object, max_chars: int) -> str:
    if not isinstance(raw, str):
        raise QuestionError("The question must be text.")
    # Control characters (other than newlines and tabs) carry no meaning for the model and
    # can break prompt formats; odd but printable Unicode is kept.
    text = "".join(ch for ch in raw if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if not text:
        raise QuestionError("The question is empty. Please ask something.")
    if len(text) > max_chars:
        raise QuestionError(f"The question is {len(text):,} characters long; the limit is {max_chars:,}.")
    return text


def intake(state: AgentState) -> dict[str, Any]:
    humans = [m for m in state.get("messages", []) if isinstance(m, HumanMessage)]
    turn_reset: dict[str, Any] = {
        "tool_results": None,
        "rejected_calls": None,
        "usage": None,
        "pending_calls": [],
        "rounds": 0,
        "refinements": 0,
        "draft": "",
        "verdict": "",
        "critique": "",
        "critique_by": "",
        "checks_passed": [],
        "checks_failed": 0,
        "refine_kept": False,
        "answer": "",
        "error": None,
    }
    try:
        if not humans:
            raise QuestionError("No question found: send a user message.")
        question = clean_question(humans[-1].content, get_settings().max_question_chars)
    except QuestionError as exc:
        return {**turn_reset, "question": "", "error": str(exc), "answer": str(exc),
                "messages": [AIMessage(content=str(exc))]}  # fmt: skip
    return {**turn_reset, "question": question}
