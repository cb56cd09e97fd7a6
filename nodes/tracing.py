"""DSPy programs and their LM calls in the run's LangSmith trace, under the node that ran them.

LangGraph traces the graph and its nodes through LangChain callbacks; a DSPy program is neither
a LangChain runnable nor a LangChain model, so without help a trace would show a node and no model
call under it. Two pieces put them there:
- `traced` wraps the program call in LangSmith's `traceable`: a `chain` run named
  `dspy.<role>` with the program's inputs and prediction, nested under the node through the
  context (LangSmith and LangChain share the parent run);
- `LMRuns`, a DSPy callback, records each LM call the program makes as an `llm` run under that
  chain run, with the messages the adapter built, the completion and the model.
With tracing off (LANGSMITH_TRACING unset or false) there is no current run: both only check it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dspy.utils.callback import BaseCallback
from langsmith import traceable
from langsmith.run_helpers import get_current_run_tree
from langsmith.run_trees import RunTree

T = TypeVar("T")


def traced(program: Callable[..., Awaitable[T]], name: str) -> Callable[..., Awaitable[T]]:
    """`program` as a LangSmith `chain` run `dspy.<name>` under the current node."""
    return traceable(run_type="chain", name=f"dspy.{name}")(program)


class LMRuns(BaseCallback):
    """Each LM call of the DSPy program running in this context, as a LangSmith `llm` run."""

    def __init__(self) -> None:
        self._runs: dict[str, RunTree] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        parent = get_current_run_tree()
        if parent is None:  # tracing is off
            return
        provider, _, name = str(getattr(instance, "model", "lm")).rpartition("/")
        settings = {k: v for k, v in inputs.items() if k not in ("messages", "prompt") and _plain(v)}
        metadata = {"ls_provider": provider or "openai", "ls_model_name": name, "ls_model_type": "chat", **settings}
        messages = inputs.get("messages") or [{"role": "user", "content": inputs.get("prompt")}]
        run = parent.create_child(name=name, run_type="llm", inputs={"messages": messages},
                                  extra={"metadata": metadata})  # fmt: skip
        run.post()
        self._runs[call_id] = run

    def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
        run = self._runs.pop(call_id, None)
        if run is None:
            return
        completions = outputs if isinstance(outputs, list) else [outputs]
        run.end(
            outputs={"generations": [{"text": c if isinstance(c, str) else str(c)} for c in completions or []]},
            error=f"{type(exception).__name__}: {exception}" if exception else None,
        )
        run.patch()


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
