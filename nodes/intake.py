"""First node of every turn: refuse oversized or bad input (by length, before any tokenizing), start the turn clean."""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent_types.state import AgentState
from runtime.settings import Settings, get_settings


class QuestionError(ValueError):
    pass


def _content(message: Any) -> Any:
    """A message's content, whatever form the client sent it in (a message object, an OpenAI-style
    dict, a (role, content) pair, or bare text)."""
    if isinstance(message, dict):
        return message.get("content")
    if isinstance(message, (list, tuple)) and len(message) == 2:
        return message[1]
    return getattr(message, "content", message)


def _chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    return len(json.dumps(content, ensure_ascii=False, default=str))  # content blocks, or anything else


def input_problem(messages: Any, settings: Settings | None = None) -> str | None:
    """Why these messages are too much to take in (count, one message's size, the total), or None.

    Only lengths are measured here: nothing is tokenized. serving/auth.py applies it to a run's
    input before the server stores or runs anything; `intake` to the thread's messages.
    """
    s = settings or get_settings()
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        messages = [messages]
    if len(messages) > s.max_input_messages:
        return (f"The conversation has {len(messages):,} messages; the limit is {s.max_input_messages:,}. "
                "Start a new thread.")  # fmt: skip
    total = 0
    for i, message in enumerate(messages):
        size = _chars(_content(message))
        if size > s.max_message_chars:
            return f"Message {i + 1} is {size:,} characters long; the limit per message is {s.max_message_chars:,}."
        total += size
        if total > s.max_input_chars:
            return (f"The conversation is over {s.max_input_chars:,} characters long (the limit). "
                    "Start a new thread.")  # fmt: skip
    return None


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
    messages = state.get("messages", [])
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    turn_reset: dict[str, Any] = {
        "tool_results": None,
        "rejected_calls": None,
        "usage": None,
        "pending_calls": [],
        "rounds": 0,
        "started": time.time(),
        "hint": "",  # a hint the last turn left unread is not this question's
        "refinements": 0,
        "draft": "",
        "draft_id": "",
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
        if problem := input_problem(messages):
            raise QuestionError(problem)
        if not humans:
            raise QuestionError("No question found: send a user message.")
        question = clean_question(humans[-1].content, get_settings().max_question_chars)
    except QuestionError as exc:
        return {**turn_reset, "question": "", "error": str(exc), "answer": str(exc),
                "messages": [AIMessage(content=str(exc))]}  # fmt: skip
    return {**turn_reset, "question": question}
