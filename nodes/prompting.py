"""How state becomes prompt text, and the LM a node uses for its role."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dspy
from langchain_core.messages import AnyMessage

from dspy_programs.store import PROGRAM_CACHE
from graphs.context import Context
from graphs.state import ToolResult
from runtime.models import dspy_lm, endpoint
from runtime.settings import Role

# A tool result longer than this is cut, with a marker, so one tool cannot flood the prompt.
MAX_RESULT_CHARS = 2000
TRUNCATED = " …[truncated]"


def role_model(role: Role, context: Context | None) -> str | None:
    return getattr(context, f"{role}_model", None) if context else None


def lm_for(role: Role, context: Context | None) -> dspy.LM:
    return dspy_lm(role, model=role_model(role, context))


def program_for(name: Role, context: Context | None) -> dspy.Module:
    """The compiled program for the model this role runs on (zero-shot when none is compiled)."""
    return PROGRAM_CACHE.get(name, endpoint(name, model=role_model(name, context)).slug)


def truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def format_results(results: Sequence[ToolResult]) -> str:
    lines = []
    for r in results:
        call = f"{r['name']}({json.dumps(r['args'], ensure_ascii=False, sort_keys=True)})"
        outcome = f"ERROR: {r['error']}" if r.get("error") else truncate(r.get("output") or "")
        lines.append(f"{call} -> {outcome}")
    return "\n".join(lines)


def format_conversation(messages: Sequence[AnyMessage]) -> str:
    lines = []
    for m in messages:
        role = {"human": "user", "ai": "assistant"}.get(m.type)
        if role and isinstance(m.content, str) and m.content:
            lines.append(f"{role}: {m.content}")
    return "\n".join(lines)
