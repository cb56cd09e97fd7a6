"""Per-run settings a caller can pass as the run's `context`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(kw_only=True)
class Context:
    # Model per role; None uses the configured default (see runtime/settings.py).
    selector_model: str | None = None
    synthesizer_model: str | None = None
    critic_model: str | None = None
    refiner_model: str | None = None
    # Bounds: every loop in the graph stops at these, whatever the model says.
    max_tool_rounds: int = 2
    max_refinements: int = 1
    max_calls_per_round: int = 6
    critique: bool = True
    # Tools the selector may offer; None means all shipped tools. Auth narrows this per user.
    allowed_tools: list[str] | None = None
