"""DSPy programs for the agent's reasoning steps, and a plain-Python selector API."""

from dspy_programs.api import select_tools
from dspy_programs.programs import Critic, Refiner, Synthesizer, ToolSelector
from dspy_programs.tool_specs import ToolSpec

__all__ = ["Critic", "Refiner", "Synthesizer", "ToolSelector", "ToolSpec", "select_tools"]
