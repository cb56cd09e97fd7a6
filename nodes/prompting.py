"""How state becomes prompt text (a role's model, LM and program: nodes/roles.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.messages import AnyMessage, BaseMessage, trim_messages

from agent_types.state import ToolResult
from runtime.settings import get_settings
from runtime.tokens import count_tokens, encoding

# A tool result longer than TOOL_RESULT_MAX_TOKENS is cut, with this marker, so one tool cannot
# flood the prompt.
TRUNCATED = " …[truncated]"


def truncate(text: str, max_tokens: int | None = None) -> str:
    """`text` cut to `max_tokens` tokens (default TOOL_RESULT_MAX_TOKENS), marker included."""
    limit = max_tokens if max_tokens is not None else get_settings().tool_result_max_tokens
    if len(text) <= limit:  # a token is at least one character: short text is never counted
        return text
    tokens = encoding().encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    keep = max(0, limit - count_tokens(TRUNCATED))
    return encoding().decode(tokens[:keep]) + TRUNCATED


def format_results(results: Sequence[ToolResult]) -> str:
    lines = []
    for r in results:
        call = f"{r['name']}({json.dumps(r['args'], ensure_ascii=False, sort_keys=True)})"
        outcome = f"ERROR: {r['error']}" if r.get("error") else truncate(r.get("output") or "")
        lines.append(f"{call} -> {outcome}")
    return "\n".join(lines)


ROLES = {"human": "user", "ai": "assistant"}


def _line(m: BaseMessage) -> str | None:
    role = ROLES.get(m.type)
    return f"{role}: {m.content}" if role and isinstance(m.content, str) and m.content else None


def _message_tokens(messages: list[BaseMessage]) -> int:
    # Counted as they will be formatted (one line each, newline included), not as chat messages.
    return sum(count_tokens(line) + 1 for m in messages if (line := _line(m)) is not None)


def trim_conversation(messages: Sequence[AnyMessage], max_tokens: int) -> list[BaseMessage]:
    """The most recent messages that fit in `max_tokens`, starting on a user turn."""
    kept: list[BaseMessage] = [m for m in messages if _line(m) is not None]
    if not kept:
        return []
    return trim_messages(kept, max_tokens=max(0, max_tokens), token_counter=_message_tokens, strategy="last",
                         start_on="human", allow_partial=False)  # fmt: skip


def earlier_turns(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The turns before the latest question, as the question first saw them.

    A question asked again in the same thread gets the conversation it was first asked in (its
    own earlier exchange and what followed are not context for it), so its prompts are the same
    as the first time and the LM cache answers them: a repeated question costs no model call.
    """
    # The question is the latest user message (intake reads the same one); what follows it is this
    # turn's own tool-call messages, not conversation.
    at = max((i for i, m in enumerate(messages) if m.type == "human"), default=len(messages))
    history = list(messages[:at])
    content = messages[at].content if at < len(messages) else None
    if not isinstance(content, str):
        return history
    latest = " ".join(content.split()).lower()
    for i, m in enumerate(history):
        if m.type == "human" and isinstance(m.content, str) and " ".join(m.content.split()).lower() == latest:
            return history[:i]
    return history


def conversation_turns(messages: Sequence[AnyMessage], max_tokens: int | None = None) -> list[dict[str, str]]:
    """Earlier turns as `{"role": "user" | "assistant", "content": ...}` messages, each whole, oldest
    dropped first to fit `max_tokens` (default CONVERSATION_TOKEN_BUDGET)."""
    budget = max_tokens if max_tokens is not None else get_settings().conversation_token_budget
    return [{"role": ROLES[m.type], "content": str(m.content)} for m in trim_conversation(messages, budget)]


def turns_text(turns: Sequence[dict[str, str]]) -> str:
    """Turns as `user: ...`/`assistant: ...` lines, for the programs that read the conversation as text."""
    return "\n".join(f"{t['role']}: {t['content']}" for t in turns)


def format_conversation(messages: Sequence[AnyMessage], max_tokens: int | None = None) -> str:
    """Earlier turns as `user: ...`/`assistant: ...` lines, oldest dropped first to fit `max_tokens`."""
    return turns_text(conversation_turns(messages, max_tokens))

