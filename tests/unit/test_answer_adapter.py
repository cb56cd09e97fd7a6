"""The synthesizer's adapter: ChatAdapter's prompt with the fixed output reminder in the system message."""

from __future__ import annotations

import dspy

from dspy_programs.answer_adapter import AnswerAdapter
from dspy_programs.programs import Synthesizer
from dspy_programs.signatures import Synthesize

REMINDER = "Respond with the corresponding output fields"
DEMO = {"question": "What is 2 + 2?", "conversation": "", "tool_results": 'calculator({"expression": "2 + 2"}) -> 4',
        "answer": "2 + 2 is 4."}  # fmt: skip
INPUTS = {"question": "What is 17% of 2,340?", "conversation": "",
          "tool_results": 'calculator({"expression": "17 * 2340 / 100"}) -> 397.8'}  # fmt: skip


def test_the_request_ends_with_its_inputs_and_the_reminder_is_said_once_in_the_system_message() -> None:
    messages = AnswerAdapter().format(Synthesize, [DEMO], INPUTS)
    assert messages[-1]["role"] == "user"
    assert messages[-1]["content"].endswith("-> 397.8")  # nothing fixed after the variable part
    assert REMINDER not in messages[-1]["content"]
    assert messages[0]["role"] == "system" and REMINDER in messages[0]["content"]
    assert sum(REMINDER in m["content"] for m in messages) == 1
    # ChatAdapter's own prompt has the same parts, the reminder in the request instead.
    chat = dspy.ChatAdapter().format(Synthesize, [DEMO], INPUTS)
    assert REMINDER in chat[-1]["content"] and REMINDER not in chat[0]["content"]
    assert [m["content"] for m in chat[1:-1]] == [m["content"] for m in messages[1:-1]]  # the demos unchanged


def test_the_synthesizer_asks_through_it_and_parses_chat_adapter_replies() -> None:
    seen: list[list[dict[str, str]]] = []

    class Recording(dspy.BaseLM):
        def __init__(self) -> None:
            super().__init__(model="recording")

        def forward(self, prompt=None, messages=None, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(messages)
            from litellm import ModelResponse

            return ModelResponse(choices=[{"message": {"role": "assistant", "content":
                                 "[[ ## answer ## ]]\n17% of 2,340 is 397.8.\n\n[[ ## completed ## ]]"}}])  # fmt: skip

    with dspy.context(lm=Recording()):
        pred = Synthesizer()(**INPUTS)
    assert pred.answer == "17% of 2,340 is 397.8."
    assert REMINDER in seen[0][0]["content"] and REMINDER not in seen[0][-1]["content"]
