"""Typed builders for what tests feed the graph: a run's input, in process and over HTTP, and
one-line fake tool bodies that record their calls."""

from __future__ import annotations

from typing import TypedDict

from langchain_core.messages import HumanMessage

from agent_types.state import InputState


def user_input(question: str) -> InputState:
    """An in-process run's input: one user turn. The `add_messages` reducer turns a
    `{"role": "user", ...}` dict into this same HumanMessage, so the run is the same either way."""
    return {"messages": [HumanMessage(question)]}


class WireMessage(TypedDict):
    role: str
    content: str


class WireInput(TypedDict):
    messages: list[WireMessage]


def wire_input(question: str) -> WireInput:
    """A served run's input as a client sends it: one user message, as JSON."""
    return {"messages": [{"role": "user", "content": question}]}


def record(log: list[str], entry: str, result: str | None = None) -> str:
    """Append `entry` to `log`, then return `result` (by default the entry itself).

    For one-line tool bodies: `lambda text: record(calls, text)` records and echoes its input."""
    log.append(entry)
    return entry if result is None else result
