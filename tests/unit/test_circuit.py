"""The circuit breaker's state machine, on a fake clock, and its gauge."""

from __future__ import annotations

import pytest

from runtime.circuit import CircuitBreaker, breaker_for, reset_breakers
from runtime.metrics import REGISTRY


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gauge(tool: str) -> float | None:
    return REGISTRY.get_sample_value("agent_tool_circuit_open", {"tool": tool})


def test_opens_after_threshold_consecutive_failures() -> None:
    b = CircuitBreaker("t_open", failure_threshold=3, cooldown_s=10, clock=Clock())
    for _ in range(2):
        assert b.allow()
        b.record(failed=True)
    assert b.state == "closed" and gauge("t_open") == 0
    b.record(failed=True)
    assert b.state == "open" and not b.allow()
    assert gauge("t_open") == 1
    assert "t_open is temporarily unavailable" in b.refusal() and "3 times" in b.refusal()


def test_a_success_resets_the_count() -> None:
    b = CircuitBreaker("t_reset", failure_threshold=2, cooldown_s=10, clock=Clock())
    b.record(failed=True)
    b.record(failed=False)
    b.record(failed=True)
    assert b.state == "closed"


def test_half_open_lets_exactly_one_trial_through_then_closes_on_success() -> None:
    clock = Clock()
    b = CircuitBreaker("t_half", failure_threshold=1, cooldown_s=5, clock=clock)
    b.record(failed=True)
    clock.now += 4.9
    assert not b.allow()
    clock.now += 0.2
    assert b.allow()  # the trial
    assert b.state == "half_open" and gauge("t_half") == 1
    assert not b.allow()  # a second caller while the trial is in flight
    b.record(failed=False)
    assert b.state == "closed" and b.allow() and gauge("t_half") == 0


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    b = CircuitBreaker("t_reopen", failure_threshold=2, cooldown_s=5, clock=clock)
    b.record(failed=True)
    b.record(failed=True)
    clock.now += 5
    assert b.allow()
    b.record(failed=True)  # one failure in half-open is enough
    assert b.state == "open" and not b.allow()
    assert b.retry_in() == pytest.approx(5)


def test_threshold_zero_disables_the_breaker() -> None:
    b = CircuitBreaker("t_off", failure_threshold=0, cooldown_s=5, clock=Clock())
    for _ in range(100):
        b.record(failed=True)
    assert b.allow()


def test_registry_reads_settings_and_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.settings import get_settings

    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("CIRCUIT_COOLDOWN_S", "7.5")
    get_settings.cache_clear()
    reset_breakers()
    b = breaker_for("t_registry")
    assert (b.failure_threshold, b.cooldown_s) == (2, 7.5)
    assert breaker_for("t_registry") is b
    b.record(failed=True)
    b.record(failed=True)
    assert gauge("t_registry") == 1
    reset_breakers()
    assert gauge("t_registry") == 0
    assert breaker_for("t_registry") is not b
