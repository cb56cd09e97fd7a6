"""Last node of a turn: the accepted draft becomes the answer and joins the conversation."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from agent_types.state import AgentState


def finalize(state: AgentState) -> dict[str, Any]:
    answer = state.get("draft", "").strip() or "I could not produce an answer."
    # Under the id its chunks were streamed with, so a chat client's streamed draft becomes this message.
    return {"answer": answer, "messages": [AIMessage(content=answer, id=state.get("draft_id") or None)]}
