"""A circuit breaker per tool: stop calling a tool that keeps failing, try it again later.

closed ──(N consecutive failures)──► open ──(cooldown passed)──► half-open
  ▲                                    ▲                              │ one trial call
  └────────────── trial succeeds ──────┼──────────────────────────────┤
                                       └──────── trial fails ─────────┘

While open, the executor answers with an error at once, without calling the tool, so a dead
backend costs the run nothing and is not hammered. In half-open, exactly one call goes through;
others are refused until it settles. N = CIRCUIT_FAILURE_THRESHOLD (0 turns breakers off),
cooldown = CIRCUIT_COOLDOWN_S. What counts as a failure is decided by the caller (see
nodes/execute.py: timeouts, crashes and ToolUnavailableError, not bad input from the model).

The state of each breaker is exported as the gauge `agent_tool_circuit_open{tool}`
(1 while open or half-open, 0 when closed).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Literal

from runtime.settings import get_settings

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self, name: str, failure_threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._publish()

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    @property
    def enabled(self) -> bool:
        return self.failure_threshold > 0

    def allow(self) -> bool:
        """May a call go through now? In half-open, only the first caller gets the trial."""
        if not self.enabled:
            return True
        with self._lock:
            if self._state == "closed":
                return True
            if self._state == "open" and self._clock() - self._opened_at >= self.cooldown_s:
                self._state = "half_open"
                self._trial_in_flight = False
            if self._state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record(self, failed: bool) -> None:
        if not self.enabled:
            return
        with self._lock:
            if not failed:
                self._state, self._failures, self._trial_in_flight = "closed", 0, False
            else:
                self._failures += 1
                if self._state == "half_open" or self._failures >= self.failure_threshold:
                    self._state, self._opened_at, self._trial_in_flight = "open", self._clock(), False
        self._publish()

    def release(self) -> None:
        """Give back a half-open trial that ended without a verdict (rate-limited, cancelled): the
        next caller gets the trial. Without this the breaker would stay half-open, refusing
        everyone, until restart. A no-op in any other state."""
        if not self.enabled:
            return
        with self._lock:
            if self._state == "half_open":
                self._trial_in_flight = False

    def retry_in(self) -> float:
        with self._lock:
            return max(0.0, self.cooldown_s - (self._clock() - self._opened_at))

    def refusal(self) -> str:
        """The tool result the executor records instead of calling the tool."""
        wait = math.ceil(self.retry_in())
        when = f"in about {wait}s" if wait else "shortly"
        return (
            f"{self.name} is temporarily unavailable: it failed {self._failures} times in a row, "
            f"so it was not called (circuit open; it will be tried again {when})"
        )

    def _publish(self) -> None:
        from runtime.metrics import TOOL_CIRCUIT_OPEN

        TOOL_CIRCUIT_OPEN.labels(tool=self.name).set(0 if self._state == "closed" else 1)


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(tool: str) -> CircuitBreaker:
    """The process-wide breaker of `tool`, created with the current settings on first use."""
    with _registry_lock:
        breaker = _breakers.get(tool)
        if breaker is None:
            s = get_settings()
            breaker = _breakers[tool] = CircuitBreaker(tool, s.circuit_failure_threshold, s.circuit_cooldown_s)
        return breaker


def reset_breakers() -> None:
    """Forget every breaker (tests, or after changing the settings)."""
    with _registry_lock:
        for breaker in _breakers.values():
            breaker.record(failed=False)
        _breakers.clear()
