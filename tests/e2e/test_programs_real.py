"""The DSPy programs on the real local model, outside the graph (selector API, compile smoke)."""

from __future__ import annotations

import json
from pathlib import Path

import dspy
import pytest

from dspy_programs import select_tools
from dspy_programs.programs import Critic, Synthesizer
from offline import compile as compile_step
from runtime.models import dspy_lm
from tools import TOOLS

pytestmark = pytest.mark.e2e


def test_selector_api_picks_the_calculator(local_model: None) -> None:
    calls = select_tools("What is 17% of 2,340?", TOOLS)
    assert [c.name for c in calls] == ["calculator"]


def test_selector_api_runs_on_tools_it_was_not_compiled_for(local_model: None) -> None:
    weather = {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    calls = select_tools("What's the weather in Lisbon right now?", [weather])
    assert [(c.name, c.args["city"].lower()) for c in calls] == [("get_weather", "lisbon")]


def test_synthesizer_and_critic_on_a_tool_result(local_model: None) -> None:
    results = 'calculator({"expression": "0.17 * 2340"}) -> 397.8'
    with dspy.context(lm=dspy_lm("synthesizer")):
        answer = Synthesizer()(question="What is 17% of 2,340?", tool_results=results).answer
    assert "397.8" in answer
    with dspy.context(lm=dspy_lm("critic")):
        verdict = Critic()(question="What is 17% of 2,340?", tool_results=results, draft=answer).verdict
    assert verdict in ("accept", "refine", "need_more_info")


def test_smoke_compile_with_a_tiny_budget(local_model: None, tmp_path: Path) -> None:
    """BootstrapFewShot end to end on the real model: compiles, scores dev, saves JSON + metadata."""
    budget = ["--demos", "1", "--labeled", "1", "--train-limit", "4", "--dev-limit", "3", "--threads", "1"]
    code = compile_step.main(["--program", "selector", "--optimizer", "bootstrap", *budget, "--out", str(tmp_path)])
    assert code == 0
    (meta_file,) = tmp_path.glob("*/variants/selector-bootstrap.meta.json")
    meta = json.loads(meta_file.read_text())
    assert meta["dev_examples"] == 3 and meta["train_examples"] == 4
    assert isinstance(meta["dev_score_after"], float) and isinstance(meta["lm_calls"], int)
    assert meta_file.with_name("selector-bootstrap.json").exists()
