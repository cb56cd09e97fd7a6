"""Per-node LM accounting: calls counted by a DSPy callback, tokens by DSPy's usage tracker.

Both are scoped to one `dspy.context`, so nodes running in parallel threads do not mix counts.
A call DSPy's response cache answered is counted as a cache hit, not an LM call (it costs
nothing). Every summary is also added to the Prometheus metrics (runtime/metrics.py).
"""

from __future__ import annotations

from typing import Any

import dspy
from dspy.utils.callback import BaseCallback

from runtime.lm_cache import start_probe
from runtime.metrics import LM_CACHE_HITS, LM_CALLS, LM_COST, LM_TOKENS
from runtime.settings import get_settings


class UsageMeter(BaseCallback):
    def __init__(self, node: str) -> None:
        self.node = node
        self.calls = 0
        self.cache_hits = 0
        self._probes: dict[str, tuple[str, dict[str, bool]]] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._probes[call_id] = (str(getattr(instance, "model", "unknown")).split("/", 1)[-1], start_probe())

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        model, probe = self._probes.pop(call_id, ("unknown", {"hit": False}))
        if probe["hit"] and exception is None:
            self.cache_hits += 1
            LM_CACHE_HITS.labels(self.node, model).inc()
        else:
            self.calls += 1
            LM_CALLS.labels(self.node, model).inc()

    def summary(self, pred: dspy.Prediction | None) -> dict[str, Any]:
        usage = pred.get_lm_usage() if pred is not None else None
        prompt = completion = 0
        cost = 0.0
        settings = get_settings()
        for model, stats in (usage or {}).items():
            p, c = int(stats.get("prompt_tokens") or 0), int(stats.get("completion_tokens") or 0)
            prompt, completion = prompt + p, completion + c
            name = model.split("/", 1)[-1]
            price_in, price_out = settings.price(model)
            spent = (p * price_in + c * price_out) / 1_000_000
            cost += spent
            LM_TOKENS.labels(self.node, name, "prompt").inc(p)
            LM_TOKENS.labels(self.node, name, "completion").inc(c)
            if spent:
                LM_COST.labels(self.node, name).inc(spent)
        return {
            "node": self.node,
            "lm_calls": self.calls,
            "lm_cache_hits": self.cache_hits,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cost_usd": round(cost, 8),
        }
