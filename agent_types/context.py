"""Per-run settings a caller can pass as the run's `context`.

Everything here comes from the client, so it is validated on construction: a wrong type or an
out-of-range bound fails the run at once with a message naming the field, instead of a crash
deep inside a node (or a model name that becomes a 1 MB file path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Annotated

from pydantic import Field

MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@+-]{1,200}")
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOUNDS = {
    "max_tool_rounds": (0, 10),
    "max_refinements": (0, 5),
    "max_calls_per_round": (1, 16),
    "loop_seconds": (0, 600),
}
MAX_ALLOWED_TOOLS = 100


class ContextError(ValueError):
    pass


def _model(role: str) -> str:
    return (f"Model of the {role} for this run; empty uses the configured one (runtime/settings.py). "
            f"Must be that model or in ALLOWED_MODELS.")  # fmt: skip


CRITIQUE = ("Check the draft (deterministic checks, then the critic model where checks cannot judge); "
            "false ends the run after synthesize.")
ALLOWED_TOOLS = "Tools the selector may offer; empty means all shipped tools. The user's permissions narrow it further."


@dataclass(kw_only=True)
class Context:
    # Each field's description is shown by Studio and in the graph's context schema.
    selector_model: Annotated[str | None, Field(description=_model("tool selector"))] = None
    synthesizer_model: Annotated[str | None, Field(description=_model("answer synthesizer"))] = None
    critic_model: Annotated[str | None, Field(description=_model("critic"))] = None
    refiner_model: Annotated[str | None, Field(description=_model("refiner"))] = None
    # Bounds: every loop in the graph stops at these, whatever the model says.
    max_tool_rounds: Annotated[int, Field(description="Most rounds of tool calls in one turn, the first included: "
                                          "the loop sends the run back to select only while fewer have run "
                                          "(0-10).")] = 3  # fmt: skip
    max_refinements: Annotated[int, Field(description="How many refined drafts the run may write (0-5).")] = 1
    max_calls_per_round: Annotated[int, Field(description="Most tool calls one select step may make (1-16).")] = 6
    loop_seconds: Annotated[int, Field(description="Seconds into the turn after which the critique loop starts no "
                                       "critic or refiner call and waits for no critic call still running: "
                                       "the checked draft stands. Tool rounds are "
                                       "bounded by max_tool_rounds only. 0: no limit (0-600).")] = 10  # fmt: skip
    critique: Annotated[bool, Field(description=CRITIQUE)] = True
    allowed_tools: Annotated[list[str] | None, Field(description=ALLOWED_TOOLS)] = None

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.endswith("_model"):
                value = getattr(self, f.name)
                if value is not None and not (isinstance(value, str) and MODEL_NAME.fullmatch(value)):
                    raise ContextError(f"context.{f.name} must be a model name (letters, digits, ._:/@+-; "
                                       f"at most 200 characters)")  # fmt: skip
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ContextError(f"context.{name} must be an integer from {low} to {high}, got {value!r:.40}")
        if not isinstance(self.critique, bool):
            raise ContextError(f"context.critique must be true or false, got {self.critique!r:.40}")
        tools = self.allowed_tools
        if tools is not None and (
            not isinstance(tools, list)
            or len(tools) > MAX_ALLOWED_TOOLS
            or not all(isinstance(t, str) and TOOL_NAME.fullmatch(t) for t in tools)
        ):
            raise ContextError(f"context.allowed_tools must be a list of at most {MAX_ALLOWED_TOOLS} tool names")
