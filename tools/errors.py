"""The one exception a tool raises for input it cannot serve."""

from __future__ import annotations


class ToolInputError(ValueError):
    """Bad or unservable tool input.

    The message is short and written for the model that made the call, so the graph can hand
    it back as the tool result and let the model correct itself; it never carries a traceback.
    """


class ToolUnavailableError(ToolInputError):
    """The tool's backend could not serve the call (unreachable, timed out, 5xx).

    Reads like any ToolInputError to the model, but counts toward the tool's circuit breaker
    (runtime/circuit.py): bad input is the model's mistake, an unreachable backend is not.
    """
