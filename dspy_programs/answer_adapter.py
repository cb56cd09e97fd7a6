"""The adapter of the answer-writing programs: DSPy's ChatAdapter, its reply reminder in the cached system message."""

from __future__ import annotations

from typing import Any

import dspy


class AnswerAdapter(dspy.ChatAdapter):
    """DSPy's ChatAdapter, except where the reminder of the reply's format goes.

    ChatAdapter ends every request's last user message with "Respond with the corresponding output
    fields, starting with the field `[[ ## answer ## ]]`, …". That text is the same on every call, but
    it comes after the question and the tool results, so a model server's prompt cache can never
    reuse it: on the embedded model the synthesizer and the refiner evaluated its ~35 tokens again on
    every answer. Here the same reminder ends the system message instead, which the server's prompt
    cache keeps (with the instructions and the worked examples); the user message holds only the
    inputs. The demos and the parsing are ChatAdapter's own, so compiled synthesizers load unchanged.
    """

    def format_system_message(self, signature: type[dspy.Signature]) -> str:
        reminder = super().user_message_output_requirements(signature)
        return f"{super().format_system_message(signature)}\n\n{reminder}"

    def user_message_output_requirements(self, signature: type[dspy.Signature]) -> Any:
        return None  # said once, in the system message (above)
