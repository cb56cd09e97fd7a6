"""The one exception a tool raises for input it cannot serve."""

from __future__ import annotations


class ToolInputError(ValueError):
    """Bad or unservable tool input.

    The message is short and written for the model that made the call, so the graph can hand
    it back as the tool result and let the model correct itself; it never carries a traceback.
    """
