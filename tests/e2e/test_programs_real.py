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
from runtime.settings import PROJECT_ROOT
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
    rows = [json.loads(line) for line in (PROJECT_ROOT / "datasets" / "tool_selection.jsonl").read_text().splitlines()]
    shipped = [r for r in rows if r.get("toolset") == "shipped"]
    small = [r for r in shipped if r["split"] == "train"][:4] + [r for r in shipped if r["split"] == "dev"][:3]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in small))
    out = tmp_path / "compiled"
    code = compile_step.main(["--program", "selector", "--optimizer", "bootstrap", "--demos", "1", "--data", str(data),
                              "--out", str(out), "--no-compare", "--no-activate", "--threads", "1"])  # fmt: skip
    assert code == 0
    (meta_file,) = out.glob("*/variants/selector-bootstrap.meta.json")
    meta = json.loads(meta_file.read_text())
    assert meta["dev_examples"] == 3 and meta["train_examples"] == 4
    assert isinstance(meta["dev_score_after"], float) and isinstance(meta["lm_calls"], int)
    assert meta_file.with_name("selector-bootstrap.json").exists()
