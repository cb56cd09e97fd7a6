"""Per-node LM accounting: calls counted by a DSPy callback, tokens by DSPy's usage tracker.

Both are scoped to one `dspy.context`, so nodes running in parallel threads do not mix counts.
"""

from __future__ import annotations

from typing import Any

import dspy
from dspy.utils.callback import BaseCallback


class UsageMeter(BaseCallback):
    def __init__(self, node: str) -> None:
        self.node = node
        self.calls = 0

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.calls += 1

    def summary(self, pred: dspy.Prediction | None) -> dict[str, Any]:
        usage = pred.get_lm_usage() if pred is not None else None
        prompt = completion = 0
        for stats in (usage or {}).values():
            prompt += int(stats.get("prompt_tokens") or 0)
            completion += int(stats.get("completion_tokens") or 0)
        return {"node": self.node, "lm_calls": self.calls, "prompt_tokens": prompt, "completion_tokens": completion}
