"""Stop an offline run when the model endpoint keeps failing, with one line that names the cause.

DSPy's evaluators and optimizers count a failed LM call as a failed example and go on (GEPA went on
for minutes against a dead endpoint, writing a traceback per call). `Breaker` is a DSPy callback on
the LM: after `limit` consecutive failed calls it raises `EndpointDown`, a BaseException, so the
optimizers' `except Exception` around each example does not swallow it, and every later call on a
guarded LM fails at once.
"""

from __future__ import annotations

import threading
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback

FAILURE_LIMIT = 5  # consecutive failed model calls before a run stops


class EndpointDown(BaseException):  # a stop signal, like KeyboardInterrupt
    """The model endpoint failed `limit` calls in a row."""


class Breaker(BaseCallback):
    def __init__(self, limit: int = FAILURE_LIMIT) -> None:
        self.limit = limit
        self.failures = 0
        self.cause = ""
        self._lock = threading.Lock()

    def guard(self, lm: dspy.LM) -> dspy.LM:
        """A copy of `lm` whose calls this breaker counts (the shared LM is left as it is)."""
        guarded = lm.copy()
        guarded.callbacks.append(self)
        return guarded

    def _stop(self) -> EndpointDown:
        return EndpointDown(f"stopped after {self.failures} consecutive failed model calls: {self.cause}")

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        if self.failures >= self.limit:
            raise self._stop()

    def on_lm_end(self, call_id: str, outputs: Any | None, exception: Exception | None = None) -> None:
        with self._lock:
            if exception is None:
                self.failures = 0
                return
            self.failures += 1
            # The first line of the provider's message names the cause (connection refused, 401, ...).
            self.cause = f"{type(exception).__name__}: {str(exception).strip().splitlines()[0][:300]}" \
                if str(exception).strip() else type(exception).__name__  # fmt: skip
            if self.failures >= self.limit:
                raise self._stop()
