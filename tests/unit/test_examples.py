"""Each example agent under examples/ passes the data check and its compiled selector loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from dspy_programs import store
from offline import rows
from runtime.agent_config import read_config
from runtime.settings import PROJECT_ROOT

EXAMPLES = sorted((PROJECT_ROOT / "examples").glob("*/agent.toml"))


def test_there_are_example_agents() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"kitchen", "budget"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_an_example_agents_rows_pass_and_its_selector_is_compiled_on_train_only(path: Path) -> None:
    config = read_config(path)
    loaded = rows.load(config)  # raises RowsError with every bad row
    kinds = {r["kind"] for r in loaded.rows}
    assert len(loaded.rows) >= 50 and len(kinds) == 4, kinds
    program, how = store.load_program("selector", "qwen2.5-coder-1.5b", config.compiled_dir)
    assert how == "compiled (labeled)"
    train = {r["question"] for r in loaded.rows if r["split"] == "train"}
    demos = program.select.demos  # type: ignore[attr-defined]
    assert demos and {d["question"] for d in demos} <= train  # the test rows chose nothing
